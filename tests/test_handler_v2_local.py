"""The v2 handler in this process against the local MediaPackage v2 (``local_aws``): the real service
model both ways, so timestamps, ETags, ClientToken, the quota's error and the cancel are what botocore
parses from an HTTP answer. The synthesized asset's lifecycle end to end is tested elsewhere."""

from __future__ import annotations

from typing import Any

import boto3
import cdk_mediapackage_harvest_contract as contract
import pytest
from botocore.config import Config
from mediapackage_harvest_handler import entry, outbound
from support import LocalSetupV2, invoke, recent_window, v2_event, v2_properties

from local_aws.server import LocalAws


@pytest.fixture
def client(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The handler's MediaPackage v2 client, on the local endpoint; polls every 0.05 s."""
    local = boto3.client(
        "mediapackagev2",
        region_name=aws.region,
        endpoint_url=aws.endpoint_url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 2}),
    )
    monkeypatch.setattr(outbound, "mediapackagev2_client", lambda: local)
    monkeypatch.setattr(contract, "POLL_INTERVAL_SECONDS", 0.05)
    return local


def properties(setup: LocalSetupV2, **changes: Any) -> dict[str, Any]:
    start, end = recent_window()
    return v2_properties(
        ChannelGroupName=setup.channel_group_name,
        ChannelName=setup.channel_name,
        OriginEndpointName=setup.origin_endpoint_name,
        StartTime=start,
        EndTime=end,
        S3Destination={"BucketName": setup.bucket, "DestinationPath": "clips/v2/"},
        HlsManifestNames=[setup.manifest_name],
        DashManifestNames=None,
        **changes,
    )


def get(client: Any, setup: LocalSetupV2, name: str) -> dict[str, Any]:
    return dict(
        client.get_harvest_job(
            ChannelGroupName=setup.channel_group_name,
            ChannelName=setup.channel_name,
            OriginEndpointName=setup.origin_endpoint_name,
            HarvestJobName=name,
        )
    )


def test_a_waiting_create_answers_the_completed_job(
    client: Any, setup_v2: LocalSetupV2, answers: list[dict[str, Any]]
) -> None:
    event = v2_event("Create", properties(setup_v2, WaitForCompletion="true", CompletionTimeout="60"))

    answer = invoke(entry.handler, answers, event)

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    job = get(client, setup_v2, answer["PhysicalResourceId"])
    assert job["Status"] == answer["Data"]["Status"] == "COMPLETED"
    assert answer["Data"]["Arn"] == job["Arn"]
    assert answer["Data"]["CreatedAt"].endswith("Z")


def test_a_redelivered_create_makes_one_job(
    client: Any, aws: LocalAws, setup_v2: LocalSetupV2, answers: list[dict[str, Any]]
) -> None:
    aws.harvest_v2.completion_delay = 60
    event = v2_event("Create", properties(setup_v2))

    first, second = invoke(entry.handler, answers, event), invoke(entry.handler, answers, event)

    assert first["Status"] == second["Status"] == "SUCCESS"
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"]
    listed = client.list_harvest_jobs(ChannelGroupName=setup_v2.channel_group_name)["Items"]
    assert [job["HarvestJobName"] for job in listed] == [first["PhysicalResourceId"]]


def test_a_failed_job_fails_the_create_with_its_error_message(
    client: Any, aws: LocalAws, setup_v2: LocalSetupV2, answers: list[dict[str, Any]]
) -> None:
    aws.harvest_v2.failures["clip"] = "Segments missing in the window"
    props = properties(setup_v2, HarvestJobName="clip", WaitForCompletion="true", CompletionTimeout="60")

    answer = invoke(entry.handler, answers, v2_event("Create", props))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("FAILED", "clip")
    assert answer["Reason"] == "Harvest job clip failed: Segments missing in the window"


def test_delete_cancels_the_running_job_and_leaves_a_finished_one(
    client: Any, aws: LocalAws, setup_v2: LocalSetupV2, answers: list[dict[str, Any]]
) -> None:
    aws.harvest_v2.completion_delay = 60
    props = properties(setup_v2)
    name = invoke(entry.handler, answers, v2_event("Create", props))["PhysicalResourceId"]

    deleted = invoke(entry.handler, answers, v2_event("Delete", props, physical_id=name))
    again = invoke(entry.handler, answers, v2_event("Delete", props, physical_id=name))

    assert deleted["Status"] == again["Status"] == "SUCCESS"
    assert get(client, setup_v2, name)["Status"] == "CANCELLED"


@pytest.mark.parametrize("quota_error", ["ServiceQuotaExceededException", "ValidationException"])
def test_a_full_quota_is_waited_out_then_named(
    client: Any,
    aws: LocalAws,
    setup_v2: LocalSetupV2,
    answers: list[dict[str, Any]],
    waits: list[float],
    quota_error: str,
) -> None:
    aws.harvest_v2.completion_delay = 60
    aws.harvest_v2.max_active_jobs = 1
    aws.harvest_v2.quota_error = quota_error
    invoke(entry.handler, answers, v2_event("Create", properties(setup_v2), request_id="first"))
    one_more_wait = int((contract.ANSWER_MARGIN_SECONDS + 2 * contract.CALL_SECONDS + 2.5) * 1000)

    answer = invoke(
        entry.handler, answers, v2_event("Create", properties(setup_v2)), remaining_ms=one_more_wait
    )

    assert [wait for wait in waits if wait] == [2], "one more wait fitted the budget"
    assert answer["Status"] == "FAILED"
    assert "until time ran out (quota of active harvest jobs per channel group" in answer["Reason"]
    assert quota_error in answer["Reason"]
