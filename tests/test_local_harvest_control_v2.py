"""The local MediaPackage v2 harvest jobs (local_aws/) under control, through real boto3 clients over HTTP:
CancelHarvestJob with and without ETags, ClientToken idempotency, names unique within the channel,
the quota of active jobs per channel group, ListHarvestJobs filters and pagination, fault injection
for ``mediapackagev2``, and the checked settings."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff
from support import LocalSetupV2, harvest_job_v2, v2_request, wait_until_done_v2

from local_aws import harvest_jobs_v2, prerequisites
from local_aws.server import CREDENTIALS, Faults, LocalAws


def client_with(aws: LocalAws, config: Config) -> Any:
    return boto3.client(
        "mediapackagev2",
        region_name=aws.region,
        endpoint_url=aws.endpoint_url,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
        config=config,
    )


def rejected(call: Callable[[], object], code: str, status: int, *names: str) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    response: dict[str, Any] = dict(caught.value.response)
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == (code, status), (
        response
    )
    for name in names:
        assert name in response["Error"]["Message"]
    return response


def cancel(client: Any, setup: LocalSetupV2, name: str, **etag: str) -> Any:
    return client.cancel_harvest_job(
        ChannelGroupName=setup.channel_group_name,
        ChannelName=setup.channel_name,
        OriginEndpointName=setup.origin_endpoint_name,
        HarvestJobName=name,
        **etag,
    )


def listed(client: Any, group: str = "live", **filters: Any) -> list[str]:
    items = client.list_harvest_jobs(ChannelGroupName=group, **filters)["Items"]
    return [job["HarvestJobName"] for job in items]


def test_cancel_without_etag_cancels_and_writes_nothing(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    aws.harvest_v2.completion_delay = 600
    client = aws.mediapackagev2()
    created = client.create_harvest_job(**v2_request(setup_v2))
    assert cancel(client, setup_v2, "clip-1")["ResponseMetadata"]["HTTPStatusCode"] == 200
    job = harvest_job_v2(client, setup_v2, "clip-1")
    assert job["Status"] == "CANCELLED"
    assert job["ETag"] != created["ETag"]
    aws.harvest_v2.completion_delay = 0
    assert harvest_job_v2(client, setup_v2, "clip-1")["Status"] == "CANCELLED"
    assert "Contents" not in aws.client("s3").list_objects_v2(Bucket=setup_v2.bucket)


def test_cancel_with_the_current_etag_of_a_running_job(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    aws.harvest_v2.completion_delay = 600
    client = aws.mediapackagev2()
    client.create_harvest_job(**v2_request(setup_v2))
    running = wait_until_in_progress(client, setup_v2, "clip-1")
    cancel(client, setup_v2, "clip-1", ETag=running["ETag"])
    assert harvest_job_v2(client, setup_v2, "clip-1")["Status"] == "CANCELLED"


def wait_until_in_progress(client: Any, setup: LocalSetupV2, name: str) -> dict[str, Any]:
    for _ in range(500):
        if (job := harvest_job_v2(client, setup, name))["Status"] == "IN_PROGRESS":
            return job
        time.sleep(0.01)
    pytest.fail(f"{name} never IN_PROGRESS")


def test_cancel_with_a_stale_etag_is_a_conflict(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    aws.harvest_v2.completion_delay = 600
    client = aws.mediapackagev2()
    created = client.create_harvest_job(**v2_request(setup_v2))
    wait_until_in_progress(client, setup_v2, "clip-1")  # a new ETag
    response = rejected(
        lambda: cancel(client, setup_v2, "clip-1", ETag=created["ETag"]), "ConflictException", 409, "ETag"
    )
    assert response["ConflictExceptionType"] == "CONFLICTING_OPERATION"
    assert harvest_job_v2(client, setup_v2, "clip-1")["Status"] == "IN_PROGRESS"


@pytest.mark.parametrize(
    ("setting", "code", "status", "kind_member", "kind"),
    [
        ("ConflictException", "ConflictException", 409, "ConflictExceptionType", "CONFLICTING_OPERATION"),
        (
            "ValidationException",
            "ValidationException",
            400,
            "ValidationExceptionType",
            "HARVEST_JOB_INELIGIBLE_FOR_CANCELLATION",
        ),
    ],
)
def test_cancelling_a_finished_job_is_refused(
    aws: LocalAws, setup_v2: LocalSetupV2, setting: str, code: str, status: int, kind_member: str, kind: str
) -> None:
    aws.harvest_v2.cancel_finished_error = setting
    client = aws.mediapackagev2()
    client.create_harvest_job(**v2_request(setup_v2))
    done = wait_until_done_v2(client, setup_v2, "clip-1")
    response = rejected(lambda: cancel(client, setup_v2, "clip-1"), code, status, "COMPLETED")
    assert response[kind_member] == kind
    rejected(lambda: cancel(client, setup_v2, "clip-1", ETag=done["ETag"]), code, status)
    assert harvest_job_v2(client, setup_v2, "clip-1")["Status"] == "COMPLETED"
    rejected(lambda: cancel(client, setup_v2, "nope"), "ResourceNotFoundException", 404)


def test_same_client_token_and_request_is_the_same_job(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    client = aws.mediapackagev2()
    request = v2_request(setup_v2, None, ClientToken="request-1")
    first = client.create_harvest_job(**request)
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,256}", first["HarvestJobName"]), "a name is generated"
    again = client.create_harvest_job(**request)
    assert again["HarvestJobName"] == first["HarvestJobName"]
    assert again["Arn"] == first["Arn"]
    assert listed(client) == [first["HarvestJobName"]]
    wait_until_done_v2(client, setup_v2, first["HarvestJobName"])
    late = client.create_harvest_job(**request)
    assert (late["HarvestJobName"], late["Status"]) == (first["HarvestJobName"], "COMPLETED")
    other = client.create_harvest_job(**v2_request(setup_v2, None, ClientToken="request-2"))
    assert other["HarvestJobName"] != first["HarvestJobName"]
    assert len(listed(client)) == 2


def test_one_client_token_sent_at_once_makes_one_job(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    request = v2_request(setup_v2, None, ClientToken="delivered-thrice")
    barrier = threading.Barrier(3)
    answers: list[str] = []

    def send() -> None:
        client = aws.mediapackagev2()
        barrier.wait()
        answers.append(client.create_harvest_job(**request)["HarvestJobName"])

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 3
    assert len(set(answers)) == 1
    assert listed(aws.mediapackagev2()) == answers[:1]


def test_same_client_token_with_another_request_is_a_conflict(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    client = aws.mediapackagev2()
    client.create_harvest_job(**v2_request(setup_v2, "clip-1", ClientToken="request-1"))
    changed = v2_request(setup_v2, "clip-1", ClientToken="request-1", Description="changed")
    response = rejected(lambda: client.create_harvest_job(**changed), "ConflictException", 409, "ClientToken")
    assert response["ConflictExceptionType"] == "IDEMPOTENT_PARAMETER_MISMATCH"
    assert listed(client) == ["clip-1"]


def test_names_are_unique_within_the_channel(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    client = aws.mediapackagev2()
    client.create_origin_endpoint(
        ChannelGroupName="live",
        ChannelName="main",
        OriginEndpointName="hls-2",
        ContainerType="TS",
        StartoverWindowSeconds=3600,
        HlsManifests=[{"ManifestName": "index"}],
    )
    client.create_harvest_job(**v2_request(setup_v2, "clip-1"))
    wait_until_done_v2(client, setup_v2, "clip-1")
    response = rejected(
        lambda: client.create_harvest_job(**v2_request(setup_v2, "clip-1", OriginEndpointName="hls-2")),
        "ConflictException",
        409,
        "clip-1",
    )
    assert response["ConflictExceptionType"] == "RESOURCE_ALREADY_EXISTS"
    backup = prerequisites.create_v2(aws, channel_name="backup", bucket="backup-clips")
    assert client.create_harvest_job(**v2_request(backup, "clip-1"))["Status"] == "QUEUED"
    rejected(
        lambda: client.get_harvest_job(
            ChannelGroupName="live", ChannelName="main", OriginEndpointName="hls-2", HarvestJobName="clip-1"
        ),
        "ResourceNotFoundException",
        404,
    )


@pytest.mark.parametrize(
    ("setting", "code", "status"),
    [
        ("ServiceQuotaExceededException", "ServiceQuotaExceededException", 402),
        ("ValidationException", "ValidationException", 400),
    ],
)
def test_quota_of_active_jobs_per_channel_group(
    aws: LocalAws, setup_v2: LocalSetupV2, setting: str, code: str, status: int
) -> None:
    aws.harvest_v2.max_active_jobs = 2
    aws.harvest_v2.quota_error = setting
    client = aws.mediapackagev2()
    client.create_harvest_job(**v2_request(setup_v2, "early"))
    wait_until_done_v2(client, setup_v2, "early")
    aws.harvest_v2.completion_delay = 600
    client.create_harvest_job(**v2_request(setup_v2, "queued"))
    wait_until_in_progress(client, setup_v2, "queued")
    aws.harvest_v2.queue_delay = 600
    client.create_harvest_job(**v2_request(setup_v2, "running"))
    rejected(lambda: client.create_harvest_job(**v2_request(setup_v2, "refused")), code, status, "quota")
    assert harvest_jobs_v2.STORE.quota_refusals == 1
    assert "mediapackagev2:429" not in aws.faults.stats
    other_group = prerequisites.create_v2(aws, channel_group_name="backup", bucket="backup-clips")
    assert client.create_harvest_job(**v2_request(other_group, "elsewhere"))["Status"] == "QUEUED"
    cancel(client, setup_v2, "running")
    assert client.create_harvest_job(**v2_request(setup_v2, "after-cancel"))["Status"] == "QUEUED"


def test_list_filters_by_channel_endpoint_and_status(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    client = aws.mediapackagev2()
    backup = prerequisites.create_v2(
        aws, channel_name="backup", origin_endpoint_name="hls-b", bucket="backup-clips"
    )
    client.create_harvest_job(**v2_request(setup_v2, "done"))
    wait_until_done_v2(client, setup_v2, "done")
    aws.harvest_v2.queue_delay = 600
    client.create_harvest_job(**v2_request(setup_v2, "queued"))
    client.create_harvest_job(**v2_request(backup, "backup-queued"))
    cancel(client, setup_v2, "queued")
    client.create_harvest_job(**v2_request(setup_v2, "queued-2"))

    assert listed(client) == ["done", "queued", "backup-queued", "queued-2"]
    assert listed(client, ChannelName="main") == ["done", "queued", "queued-2"]
    assert listed(client, ChannelName="backup", OriginEndpointName="hls-b") == ["backup-queued"]
    assert listed(client, OriginEndpointName="hls") == ["done", "queued", "queued-2"]
    assert listed(client, Status="QUEUED") == ["backup-queued", "queued-2"]
    assert listed(client, Status="CANCELLED") == ["queued"]
    assert listed(client, Status="COMPLETED", ChannelName="backup") == []
    assert listed(client, ChannelName="no-such-channel") == []


def test_list_pages_return_every_job_once(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    aws.harvest_v2.queue_delay = 600
    client = aws.mediapackagev2()
    expected = [f"clip-{n}" for n in range(7)]
    for name in expected:
        client.create_harvest_job(**v2_request(setup_v2, name))
    pages = list(
        client.get_paginator("list_harvest_jobs").paginate(
            ChannelGroupName="live", PaginationConfig={"PageSize": 3}
        )
    )
    assert [len(page["Items"]) for page in pages] == [3, 3, 1]
    assert [job["HarvestJobName"] for page in pages for job in page["Items"]] == expected
    assert ["NextToken" in page for page in pages] == [True, True, False]
    assert len(client.list_harvest_jobs(ChannelGroupName="live", MaxResults=100)["Items"]) == 7


@pytest.mark.parametrize(
    ("parameters", "kind"),
    [
        pytest.param({"NextToken": "not-a-token"}, "INVALID_PAGINATION_TOKEN", id="token-garbage"),
        pytest.param({"NextToken": "bm90IGpzb24="}, "INVALID_PAGINATION_TOKEN", id="token-not-json"),
        pytest.param({"MaxResults": 0}, "INVALID_PAGINATION_MAX_RESULTS", id="max-results-zero"),
        pytest.param({"MaxResults": 101}, "INVALID_PAGINATION_MAX_RESULTS", id="max-results-101"),
        pytest.param({"Status": "DONE"}, "MEMBER_INVALID_ENUM_VALUE", id="status-unknown"),
    ],
)
def test_list_rejects_bad_parameters(
    aws: LocalAws, setup_v2: LocalSetupV2, parameters: dict[str, Any], kind: str
) -> None:
    client = client_with(aws, Config(parameter_validation=False, retries={"total_max_attempts": 1}))
    response = rejected(
        lambda: client.list_harvest_jobs(ChannelGroupName="live", **parameters), "ValidationException", 400
    )
    assert response["ValidationExceptionType"] == kind


@pytest.mark.parametrize(
    ("faults", "code", "status"),
    [
        pytest.param({"throttle_next": 1}, "ThrottlingException", 429, id="throttle"),
        pytest.param({"error_next": 1, "error_status": 500}, "InternalServerException", 500, id="500"),
        pytest.param({"error_next": 1, "error_status": 503}, "ServiceUnavailableException", 503, id="503"),
        pytest.param({"error_next": 1, "error_status": 403}, "AccessDeniedException", 403, id="403"),
    ],
)
def test_faults_are_injected_with_the_v2_error_names(
    aws: LocalAws, setup_v2: LocalSetupV2, faults: dict[str, Any], code: str, status: int
) -> None:
    client = aws.mediapackagev2()
    aws.faults = Faults(**faults)
    rejected(lambda: client.create_harvest_job(**v2_request(setup_v2)), code, status, "Injected")
    assert listed(client) == []
    assert aws.faults.stats[f"mediapackagev2:{status}"] == 1
    assert client.create_harvest_job(**v2_request(setup_v2))["Status"] == "QUEUED"


def test_faults_can_spare_mediapackagev2(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    aws.faults = Faults(services=frozenset({"mediapackage"}), throttle_next=1)
    assert listed(aws.mediapackagev2()) == []
    assert "mediapackagev2:429" not in aws.faults.stats


def test_client_with_standard_retries_creates_one_job(
    aws: LocalAws, setup_v2: LocalSetupV2, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        ExponentialBackoff,
        "_DEFAULT_BACKOFF_CONFIG",
        {"throttling_base_scale": 0.01, "non_throttling_base_scale": 0.01},
    )
    client = client_with(aws, Config(retries={"mode": "standard", "total_max_attempts": 6}))
    aws.faults = Faults(throttle_next=2, error_next=1, error_status=500)
    job = client.create_harvest_job(**v2_request(setup_v2, None))
    assert job["ResponseMetadata"]["RetryAttempts"] == 3
    assert listed(client) == [job["HarvestJobName"]]


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("queue_delay", -1, "seconds >= 0"),
        ("completion_delay", "1", "seconds >= 0"),
        ("create_answer_delay", -0.5, "seconds >= 0"),
        ("max_active_jobs", 0, "an integer >= 1"),
        ("quota_error", "ThrottlingException", "'ServiceQuotaExceededException' or 'ValidationException'"),
        ("cancel_finished_error", "NotFound", "'ConflictException' or 'ValidationException'"),
        ("failure_message", "", "a message or None"),
    ],
)
def test_bad_settings_are_refused(aws: LocalAws, setting: str, value: Any, expected: str) -> None:
    with pytest.raises(
        ValueError,
        match=rf"HarvestV2Settings\.{setting}: {re.escape(repr(value))}; expected {re.escape(expected)}",
    ):
        setattr(aws.harvest_v2, setting, value)
