"""The local MediaPackage harvest-job endpoint (local_aws/) through real boto3 clients over HTTP: the
REST-JSON wire format of botocore's model, the documented rules, the job lifecycle, the quota,
ListHarvestJobs pagination and filters, and fault injection."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff
from support import ACCOUNT_ID, LocalSetup, iso, recent_window

from local_aws import harvest_jobs, prerequisites
from local_aws.server import CREDENTIALS, Faults, LocalAws

if TYPE_CHECKING:
    from mypy_boto3_mediapackage import MediaPackageClient
    from mypy_boto3_mediapackage.type_defs import CreateHarvestJobResponseTypeDef, S3DestinationTypeDef

MANIFEST_KEY = "clips/final/index.m3u8"
MEDIA_PLAYLIST_KEY = "clips/final/index_1.m3u8"
MEMBERS = {
    "Arn",
    "ChannelId",
    "CreatedAt",
    "EndTime",
    "Id",
    "OriginEndpointId",
    "S3Destination",
    "StartTime",
    "Status",
}
WIRE_NAMES = {
    "arn",
    "channelId",
    "createdAt",
    "endTime",
    "id",
    "originEndpointId",
    "s3Destination",
    "startTime",
    "status",
}
Answer = tuple[str, int, str]
UNPROCESSABLE = "UnprocessableEntityException"
BROKEN_RULES: dict[str, tuple[Callable[[LocalSetup], dict[str, Any]], tuple[str, ...]]] = {
    "unknown-endpoint": (
        lambda s: {"OriginEndpointId": "no-such-endpoint"},
        ("OriginEndpointId", "no-such-endpoint"),
    ),
    "end-before-start": (
        lambda s: {"StartTime": ago(hours=2), "EndTime": ago(hours=3)},
        ("EndTime", "StartTime"),
    ),
    "end-equals-start": (
        lambda s: dict.fromkeys(("StartTime", "EndTime"), ago(hours=2)),
        ("EndTime", "StartTime"),
    ),
    "end-in-future": (
        lambda s: {"StartTime": ago(minutes=10), "EndTime": ago(minutes=-5)},
        ("EndTime", "past"),
    ),
    "start-before-startover-window": (
        lambda s: {"StartTime": ago(hours=25), "EndTime": ago(hours=24, minutes=50)},
        ("StartTime", "startover"),
    ),
    "id-with-space": (lambda s: {"Id": "bad id!"}, ("Id", "bad id!")),
    "id-with-dot": (lambda s: {"Id": "clip.1"}, ("Id", "clip.1")),
    "id-with-slash": (lambda s: {"Id": "clip/1"}, ("Id", "clip/1")),
    "id-empty": (lambda s: {"Id": ""}, ("Id",)),
    "bucket-missing": (
        lambda s: {"S3Destination": destination(s, BucketName="no-such-bucket")},
        ("S3Destination.BucketName", "no-such-bucket"),
    ),
    "role-missing": (
        lambda s: {"S3Destination": destination(s, RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/no-such-role")},
        ("S3Destination.RoleArn", "no-such-role"),
    ),
    "manifest-key-empty": (lambda s: {"S3Destination": destination(s, ManifestKey="")}, ("ManifestKey",)),
    "start-not-a-time": (lambda s: {"StartTime": "yesterday"}, ("StartTime", "yesterday")),
    "start-month-13": (
        lambda s: {"StartTime": "2026-13-01T00:00:00Z"},
        ("StartTime", "2026-13-01T00:00:00Z"),
    ),
    "end-without-time-zone": (lambda s: {"EndTime": "2026-11-28T10:00:00"}, ("EndTime", "time zone")),
    "end-empty": (lambda s: {"EndTime": ""}, ("EndTime",)),
}
UNHARVESTABLE_ENDPOINTS: dict[str, dict[str, Any]] = {
    "startover-absent": {"HlsPackage": {"SegmentDurationSeconds": 6}},
    "startover-zero": {"HlsPackage": {"SegmentDurationSeconds": 6}, "StartoverWindowSeconds": 0},
    "cmaf-only": {"CmafPackage": {"SegmentDurationSeconds": 6}, "StartoverWindowSeconds": 3600},
    "mss-only": {"MssPackage": {"SegmentDurationSeconds": 2}, "StartoverWindowSeconds": 3600},
}
UNTRUSTING_STATEMENTS: dict[str, dict[str, Any]] = {
    "other-service": {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    },
    "account-only": {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
        "Action": "sts:AssumeRole",
    },
    "deny": {
        "Effect": "Deny",
        "Principal": {"Service": "mediapackage.amazonaws.com"},
        "Action": "sts:AssumeRole",
    },
    "other-action": {
        "Effect": "Allow",
        "Principal": {"Service": "mediapackage.amazonaws.com"},
        "Action": "sts:TagSession",
    },
}


def ago(**delta: float) -> str:
    return iso(datetime.now(UTC) - timedelta(**delta))


def window(minutes: float) -> dict[str, str]:
    """StartTime and EndTime of a window of ``minutes`` that ended a minute ago."""
    start, end = recent_window(minutes=minutes)
    return {"StartTime": start, "EndTime": end}


def destination(setup: LocalSetup, **changes: str) -> S3DestinationTypeDef:
    return {
        "BucketName": changes.get("BucketName", setup.bucket),
        "ManifestKey": changes.get("ManifestKey", MANIFEST_KEY),
        "RoleArn": changes.get("RoleArn", setup.role_arn),
    }


def create(
    client: MediaPackageClient, setup: LocalSetup, job_id: str = "clip-1", **changes: Any
) -> CreateHarvestJobResponseTypeDef:
    start, end = recent_window()
    request: dict[str, Any] = {
        "Id": job_id,
        "OriginEndpointId": setup.endpoint_id,
        "StartTime": start,
        "EndTime": end,
        "S3Destination": destination(setup),
    }
    return client.create_harvest_job(**(request | changes))


def rejected(call: Callable[[], object], code: str, status: int, *names: str) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    assert response["Error"]["Code"] == code
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    message = response["Error"]["Message"]
    for name in names:
        assert name in message
    return message


def unprocessable(call: Callable[[], object], *names: str) -> str:
    return rejected(call, UNPROCESSABLE, 422, *names)


def answer(call: Callable[[], object]) -> Answer:
    try:
        call()
    except ClientError as error:
        response = error.response
        return (
            response["Error"]["Code"],
            response["ResponseMetadata"]["HTTPStatusCode"],
            response["Error"]["Message"],
        )
    return "accepted", 200, ""


def not_unprocessable(
    answers: dict[str, Answer], names: Callable[[str], tuple[str, ...]]
) -> dict[str, Answer]:
    return {
        case: got
        for case, got in answers.items()
        if got[:2] != (UNPROCESSABLE, 422) or not all(name in got[2] for name in names(case))
    }


def wait_until_done(client: MediaPackageClient, job_id: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while (status := client.describe_harvest_job(Id=job_id)["Status"]) == "IN_PROGRESS":
        assert time.monotonic() < deadline, f"{job_id} still IN_PROGRESS after {timeout} s"
        time.sleep(0.02)
    return status


def run_to_the_end(aws: LocalAws, setup: LocalSetup, outcomes: dict[str, str]) -> None:
    """Jobs of 0.1 s created together, each writing at ``<Id>/index.m3u8``, and each ending as
    ``outcomes`` expects: FAILED when told by its Id, SUCCEEDED otherwise."""
    aws.harvest.completion_delay = 0.1
    client = aws.mediapackage()
    for job_id, outcome in outcomes.items():
        if outcome == "FAILED":
            aws.harvest.outcomes[job_id] = outcome
        create(client, setup, job_id, S3Destination=destination(setup, ManifestKey=f"{job_id}/index.m3u8"))
    assert {job_id: wait_until_done(client, job_id) for job_id in outcomes} == outcomes


def job_ids(client: MediaPackageClient, **filters: Any) -> set[str]:
    return {job["Id"] for job in client.list_harvest_jobs(**filters)["HarvestJobs"]}


def s3_keys(aws: LocalAws, bucket: str) -> set[str]:
    listing = aws.client("s3").list_objects_v2(Bucket=bucket)
    return {item["Key"] for item in listing.get("Contents", [])}


def s3_text(aws: LocalAws, bucket: str, key: str) -> str:
    text: str = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return text


def client_with(aws: LocalAws, config: Config) -> MediaPackageClient:
    return boto3.client(
        "mediapackage",
        region_name=aws.region,
        endpoint_url=aws.endpoint_url,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
        config=config,
    )


def test_create_returns_every_modelled_member_in_rest_json(aws: LocalAws, setup: LocalSetup) -> None:
    client = aws.mediapackage()
    raw: list[AWSResponse] = []

    def capture(http_response: AWSResponse, **_: Any) -> None:
        raw.append(http_response)

    client.meta.events.register("after-call.mediapackage.CreateHarvestJob", capture)
    start, end = recent_window()
    before = datetime.now(UTC).replace(microsecond=0)
    job = create(client, setup, StartTime=start, EndTime=end)
    after = datetime.now(UTC)

    assert job["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert set(job) - {"ResponseMetadata"} == MEMBERS
    output = client.meta.service_model.operation_model("CreateHarvestJob").output_shape
    assert output is not None
    assert set(output.members) == MEMBERS
    assert job["Arn"] == f"arn:aws:mediapackage:{aws.region}:{ACCOUNT_ID}:harvest_jobs/clip-1"
    assert job["Id"] == "clip-1"
    assert job["ChannelId"] == setup.channel_id
    assert job["OriginEndpointId"] == setup.endpoint_id
    assert (job["StartTime"], job["EndTime"]) == (start, end)
    assert job["S3Destination"] == destination(setup)
    assert job["Status"] == "IN_PROGRESS"
    assert before <= datetime.fromisoformat(job["CreatedAt"]) <= after

    (response,) = raw
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    wire = json.loads(response.content)
    assert set(wire) == WIRE_NAMES
    assert wire["arn"] == job["Arn"]
    assert wire["status"] == "IN_PROGRESS"
    assert wire["s3Destination"] == {
        "bucketName": setup.bucket,
        "manifestKey": MANIFEST_KEY,
        "roleArn": setup.role_arn,
    }

    described, created = dict(client.describe_harvest_job(Id="clip-1")), dict(job)
    assert {name: described[name] for name in MEMBERS} == {name: created[name] for name in MEMBERS}


def test_broken_rules_are_unprocessable(aws: LocalAws, setup: LocalSetup) -> None:
    client = aws.mediapackage()

    def attempt(changes: dict[str, Any]) -> Answer:
        return answer(lambda: create(client, setup, **changes))

    answers = {case: attempt(changes(setup)) for case, (changes, _) in BROKEN_RULES.items()}
    assert not_unprocessable(answers, lambda case: BROKEN_RULES[case][1]) == {}
    assert job_ids(client) == set()


def test_endpoints_that_cannot_be_harvested(aws: LocalAws, setup: LocalSetup) -> None:
    client = aws.mediapackage()

    def attempt(endpoint_id: str) -> Answer:
        return answer(lambda: create(client, setup, OriginEndpointId=endpoint_id))

    for endpoint_id, settings in UNHARVESTABLE_ENDPOINTS.items():
        client.create_origin_endpoint(ChannelId=setup.channel_id, Id=endpoint_id, **settings)
    answers = {endpoint_id: attempt(endpoint_id) for endpoint_id in UNHARVESTABLE_ENDPOINTS}
    assert not_unprocessable(answers, lambda endpoint_id: ("OriginEndpointId", endpoint_id)) == {}
    assert job_ids(client) == set()


def test_dash_endpoints_with_timeline_can_be_harvested(aws: LocalAws, setup: LocalSetup) -> None:
    client = aws.mediapackage()
    for template in ("NUMBER_WITH_TIMELINE", "TIME_WITH_TIMELINE"):
        endpoint_id = template.lower().replace("_", "-")
        client.create_origin_endpoint(
            ChannelId=setup.channel_id,
            Id=endpoint_id,
            DashPackage={"SegmentTemplateFormat": template},
            StartoverWindowSeconds=3600,
        )
        assert create(client, setup, endpoint_id, OriginEndpointId=endpoint_id)["Status"] == "IN_PROGRESS"


def test_dash_endpoint_without_timeline_cannot_be_harvested(aws: LocalAws, setup: LocalSetup) -> None:
    client = aws.mediapackage()
    client.create_origin_endpoint(
        ChannelId=setup.channel_id,
        Id="live-dash",
        DashPackage={"SegmentTemplateFormat": "NUMBER_WITH_DURATION"},
        StartoverWindowSeconds=3600,
    )
    unprocessable(lambda: create(client, setup, OriginEndpointId="live-dash"), "OriginEndpointId")


@pytest.mark.parametrize("package", ["HlsPackage", "DashPackage"])
def test_endpoint_with_default_package_settings_can_be_harvested(
    aws: LocalAws, setup: LocalSetup, package: str
) -> None:
    client = aws.mediapackage()
    endpoint: dict[str, Any] = {package: {}}
    client.create_origin_endpoint(
        ChannelId=setup.channel_id, Id="defaults", StartoverWindowSeconds=3600, **endpoint
    )
    assert create(client, setup, OriginEndpointId="defaults")["Status"] == "IN_PROGRESS"


def test_window_is_at_most_24_hours(aws: LocalAws, setup: LocalSetup) -> None:
    client = aws.mediapackage()
    client.create_origin_endpoint(
        ChannelId=setup.channel_id,
        Id="two-weeks",
        HlsPackage={"SegmentDurationSeconds": 6},
        StartoverWindowSeconds=14 * 86400,
    )
    too_long = window(minutes=24 * 60 + 1 / 60)  # a second over
    message = unprocessable(
        lambda: create(client, setup, "too-long", OriginEndpointId="two-weeks", **too_long),
        "EndTime",
        "StartTime",
    )
    assert "24 hours" in message
    full_day = window(minutes=24 * 60)
    assert (
        create(client, setup, "full-day", OriginEndpointId="two-weeks", **full_day)["Status"] == "IN_PROGRESS"
    )


def test_start_must_be_inside_the_endpoints_startover_window(aws: LocalAws, setup: LocalSetup) -> None:
    client = aws.mediapackage()
    client.create_origin_endpoint(
        ChannelId=setup.channel_id,
        Id="one-hour",
        HlsPackage={"SegmentDurationSeconds": 6},
        StartoverWindowSeconds=3600,
    )
    too_early = {"StartTime": ago(hours=2), "EndTime": ago(hours=1, minutes=50)}
    unprocessable(
        lambda: create(client, setup, "too-early", OriginEndpointId="one-hour", **too_early), "StartTime"
    )
    inside = {"StartTime": ago(minutes=50), "EndTime": ago(minutes=40)}
    assert create(client, setup, "inside", OriginEndpointId="one-hour", **inside)["Status"] == "IN_PROGRESS"


def test_duplicate_id_is_unprocessable_even_after_the_job_finished(aws: LocalAws, setup: LocalSetup) -> None:
    aws.harvest.completion_delay = 0.1
    client = aws.mediapackage()
    original = create(client, setup, "clip-1")
    unprocessable(lambda: create(client, setup, "clip-1", StartTime=ago(hours=3), EndTime=ago(hours=2)), "Id")
    assert wait_until_done(client, "clip-1") == "SUCCEEDED"
    unprocessable(lambda: create(client, setup, "clip-1"), "Id", "clip-1")
    described = client.describe_harvest_job(Id="clip-1")
    assert (described["StartTime"], described["EndTime"]) == (original["StartTime"], original["EndTime"])
    assert job_ids(client) == {"clip-1"}


def test_bucket_in_another_region_is_unprocessable(aws: LocalAws, setup: LocalSetup) -> None:
    aws.client("s3").create_bucket(
        Bucket="clips-in-ireland", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    client = aws.mediapackage()
    unprocessable(
        lambda: create(client, setup, S3Destination=destination(setup, BucketName="clips-in-ireland")),
        "S3Destination.BucketName",
        "eu-west-1",
    )


def test_roles_not_trusting_mediapackage_are_unprocessable(aws: LocalAws, setup: LocalSetup) -> None:
    iam = aws.client("iam")
    client = aws.mediapackage()

    def attempt(role_arn: str) -> Answer:
        return answer(lambda: create(client, setup, S3Destination=destination(setup, RoleArn=role_arn)))

    answers = {}
    for name, statement in UNTRUSTING_STATEMENTS.items():
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        answers[name] = attempt(
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=document)["Role"]["Arn"]
        )
    wrong = not_unprocessable(
        answers, lambda name: ("S3Destination.RoleArn", name, "mediapackage.amazonaws.com")
    )
    assert wrong == {}
    assert job_ids(client) == set()


def test_role_trust_as_single_statement_with_lists_is_understood(aws: LocalAws, setup: LocalSetup) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "mediapackage.amazonaws.com"]},
            "Action": ["sts:TagSession", "sts:AssumeRole"],
        },
    }
    role = aws.client("iam").create_role(RoleName="shared", AssumeRolePolicyDocument=json.dumps(document))
    client = aws.mediapackage()
    job = create(client, setup, S3Destination=destination(setup, RoleArn=role["Role"]["Arn"]))
    assert job["Status"] == "IN_PROGRESS"


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}], ids=["star", "aws-star"])
def test_a_role_trusting_everyone_trusts_mediapackage(
    aws: LocalAws, setup: LocalSetup, principal: Any
) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }
    role = aws.client("iam").create_role(RoleName="anyone", AssumeRolePolicyDocument=json.dumps(document))
    client = aws.mediapackage()
    job = create(client, setup, S3Destination=destination(setup, RoleArn=role["Role"]["Arn"]))
    assert job["Status"] == "IN_PROGRESS"


def test_describe_unknown_id_is_not_found(aws: LocalAws) -> None:
    client = aws.mediapackage()
    rejected(lambda: client.describe_harvest_job(Id="no-such-job"), "NotFoundException", 404, "no-such-job")


def test_describe_id_with_a_dot_is_not_found(aws: LocalAws) -> None:
    client = aws.mediapackage()
    rejected(lambda: client.describe_harvest_job(Id="clip.1"), "NotFoundException", 404)


def test_job_succeeds_after_the_delay_and_writes_the_manifest(aws: LocalAws, setup: LocalSetup) -> None:
    aws.harvest.completion_delay = 0.1
    client = aws.mediapackage()
    began = time.monotonic()
    job = create(client, setup)
    assert job["Status"] == "IN_PROGRESS"
    assert wait_until_done(client, "clip-1") == "SUCCEEDED"
    assert time.monotonic() - began >= 0.1
    assert job_ids(client, IncludeStatus="SUCCEEDED") == {"clip-1"}

    assert s3_keys(aws, setup.bucket) == {MANIFEST_KEY, MEDIA_PLAYLIST_KEY}
    top = s3_text(aws, setup.bucket, MANIFEST_KEY)
    assert top.startswith("#EXTM3U\n")
    assert "index_1.m3u8" in top.splitlines()
    media = s3_text(aws, setup.bucket, MEDIA_PLAYLIST_KEY)
    assert media.startswith("#EXTM3U\n")
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in media
    assert "#EXTINF:" in media
    assert media.rstrip().endswith("#EXT-X-ENDLIST")


def test_job_stays_in_progress_before_the_delay(aws: LocalAws, setup: LocalSetup) -> None:
    aws.harvest.completion_delay = 600
    client = aws.mediapackage()
    create(client, setup)
    assert client.describe_harvest_job(Id="clip-1")["Status"] == "IN_PROGRESS"
    assert job_ids(client, IncludeStatus="IN_PROGRESS") == {"clip-1"}
    assert s3_keys(aws, setup.bucket) == set()


def test_job_fails_when_every_job_is_told_to(aws: LocalAws, setup: LocalSetup) -> None:
    aws.harvest.completion_delay = 0.1
    aws.harvest.outcome = "FAILED"
    client = aws.mediapackage()
    create(client, setup)
    assert wait_until_done(client, "clip-1") == "FAILED"
    assert s3_keys(aws, setup.bucket) == set()


def test_job_fails_when_it_is_told_to_by_id(aws: LocalAws, setup: LocalSetup) -> None:
    run_to_the_end(aws, setup, {"doomed": "FAILED", "fine": "SUCCEEDED"})
    assert s3_keys(aws, setup.bucket) == {"fine/index.m3u8", "fine/index_1.m3u8"}


def test_quota_of_concurrent_jobs(aws: LocalAws, setup: LocalSetup) -> None:
    aws.harvest.max_concurrent_jobs = 2
    client = aws.mediapackage()
    run_to_the_end(aws, setup, {"early-1": "SUCCEEDED", "early-2": "SUCCEEDED"})

    aws.harvest.completion_delay = 600
    create(client, setup, "late-1")
    create(client, setup, "late-2")
    message = rejected(lambda: create(client, setup, "late-3"), "TooManyRequestsException", 429)
    assert "quota" in message
    assert job_ids(client) == {"early-1", "early-2", "late-1", "late-2"}
    assert harvest_jobs.STORE.quota_refusals == 1
    assert "mediapackage:429" not in aws.faults.stats, "a refusal by the quota is not an injected fault"


def test_running_intervals_are_when_jobs_were_in_progress(aws: LocalAws, setup: LocalSetup) -> None:
    aws.harvest.completion_delay = 0.3
    client = aws.mediapackage()
    began = time.monotonic()
    create(client, setup, "clip-1")
    create(client, setup, "clip-2")
    ended = time.monotonic()
    intervals = sorted(harvest_jobs.STORE.running_intervals())
    assert len(intervals) == 2
    for started, finishes in intervals:
        assert began <= started <= ended
        assert finishes == pytest.approx(started + 0.3)
    assert intervals[0][0] <= intervals[1][0]


def test_create_answer_delay_holds_the_answer_after_the_job_is_stored(
    aws: LocalAws, setup: LocalSetup
) -> None:
    aws.harvest.create_answer_delay = 0.5
    client = aws.mediapackage()
    stored_at: list[float] = []
    watcher = threading.Thread(
        target=lambda: stored_at.append(poll_until(lambda: bool(harvest_jobs.STORE.running_intervals())))
    )
    began = time.monotonic()
    watcher.start()
    create(client, setup, "clip-1")
    answered_at = time.monotonic()
    watcher.join()
    assert stored_at[0] - began < 0.4, "the job is stored before the answer is held"
    assert answered_at - began >= 0.5
    began = time.monotonic()
    unprocessable(lambda: create(client, setup, "clip-1"), "already exists")
    assert time.monotonic() - began < 0.4, "a refusal is not held"


def poll_until(condition: Callable[[], bool], timeout: float = 10.0) -> float:
    """When ``condition`` first held (``time.monotonic()``), polled every 10 ms."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)
    return time.monotonic()


def test_pagination_returns_every_job_once(aws: LocalAws, setup: LocalSetup) -> None:
    aws.harvest.completion_delay = 600
    client = aws.mediapackage()
    expected = {f"clip-{n}" for n in range(7)}
    for job_id in sorted(expected):
        create(client, setup, job_id)
    raw: list[AWSResponse] = []

    def capture(http_response: AWSResponse, **_: Any) -> None:
        raw.append(http_response)

    client.meta.events.register("after-call.mediapackage.ListHarvestJobs", capture)
    pages = list(client.get_paginator("list_harvest_jobs").paginate(PaginationConfig={"PageSize": 3}))

    assert [len(page["HarvestJobs"]) for page in pages] == [3, 3, 1]
    seen = [job["Id"] for page in pages for job in page["HarvestJobs"]]
    assert sorted(seen) == sorted(expected)
    assert all(set(job) == MEMBERS for page in pages for job in page["HarvestJobs"])
    bodies = [json.loads(response.content) for response in raw]
    assert [set(body) for body in bodies] == [{"harvestJobs", "nextToken"}] * 2 + [{"harvestJobs"}]
    assert set(bodies[0]["harvestJobs"][0]) == WIRE_NAMES


def test_list_filters_by_status_and_channel(aws: LocalAws, setup: LocalSetup) -> None:
    client = aws.mediapackage()
    prerequisites.origin_endpoint(aws, "backup-hls", channel_id="backup-channel")
    run_to_the_end(aws, setup, {"done-ok": "SUCCEEDED", "done-failed": "FAILED"})
    aws.harvest.completion_delay = 600
    create(client, setup, "running-live")
    create(client, setup, "running-backup", OriginEndpointId="backup-hls")

    assert job_ids(client, IncludeStatus="SUCCEEDED") == {"done-ok"}
    assert job_ids(client, IncludeStatus="FAILED") == {"done-failed"}
    assert job_ids(client, IncludeStatus="IN_PROGRESS") == {"running-live", "running-backup"}
    assert job_ids(client, IncludeChannelId="backup-channel") == {"running-backup"}
    assert job_ids(client, IncludeChannelId=setup.channel_id) == {"done-ok", "done-failed", "running-live"}
    assert job_ids(client, IncludeChannelId=setup.channel_id, IncludeStatus="IN_PROGRESS") == {"running-live"}
    assert job_ids(client, IncludeChannelId="no-such-channel") == set()
    paged = client.get_paginator("list_harvest_jobs").paginate(
        IncludeChannelId=setup.channel_id, PaginationConfig={"PageSize": 1}
    )
    assert [job["Id"] for page in paged for job in page["HarvestJobs"]] == [
        "done-ok",
        "done-failed",
        "running-live",
    ]


@pytest.mark.parametrize(
    ("parameters", "name"),
    [
        pytest.param({"NextToken": "not-a-token"}, "NextToken", id="next-token-garbage"),
        pytest.param({"NextToken": "bm90IGpzb24="}, "NextToken", id="next-token-base64-not-json"),
        pytest.param({"IncludeStatus": "DONE"}, "IncludeStatus", id="status-unknown"),
        pytest.param({"MaxResults": 1001}, "MaxResults", id="max-results-over-1000"),
        pytest.param({"MaxResults": -1}, "MaxResults", id="max-results-negative"),
        pytest.param(
            {"MaxResults": 0},
            "MaxResults",
            id="max-results-zero",
        ),
    ],
)
def test_list_rejects_bad_parameters(aws: LocalAws, parameters: dict[str, Any], name: str) -> None:
    client = client_with(aws, Config(parameter_validation=False, retries={"total_max_attempts": 1}))
    unprocessable(lambda: client.list_harvest_jobs(**parameters), name)


@pytest.mark.parametrize("limit", [1, 1000])
def test_list_accepts_max_results_at_the_bounds(aws: LocalAws, setup: LocalSetup, limit: int) -> None:
    client = aws.mediapackage()
    create(client, setup, "clip-1")
    create(client, setup, "clip-2")
    page = client.list_harvest_jobs(MaxResults=limit)
    assert len(page["HarvestJobs"]) == min(limit, 2)
    assert ("NextToken" in page) is (limit < 2)


def test_throttle_next_requests(aws: LocalAws) -> None:
    client = aws.mediapackage()
    aws.faults.throttle_next = 2
    for _ in range(2):
        rejected(client.list_harvest_jobs, "TooManyRequestsException", 429)
    assert client.list_harvest_jobs()["HarvestJobs"] == []
    assert aws.faults.stats["mediapackage:429"] == 2
    assert aws.faults.throttle_next == 0


@pytest.mark.parametrize(
    ("status", "code"),
    [(503, "ServiceUnavailableException"), (500, "InternalServerErrorException")],
)
def test_error_next_requests(aws: LocalAws, setup: LocalSetup, status: int, code: str) -> None:
    client = aws.mediapackage()
    aws.faults.error_next = 1
    aws.faults.error_status = status
    rejected(lambda: create(client, setup), code, status)
    assert job_ids(client) == set()
    assert create(client, setup)["Status"] == "IN_PROGRESS"
    assert aws.faults.stats[f"mediapackage:{status}"] == 1


def test_throttle_share_is_seeded(aws: LocalAws, setup: LocalSetup) -> None:
    aws.faults = Faults(throttle_share=0.3, seed=7)
    client = aws.mediapackage()
    answers = [answer(client.list_harvest_jobs)[:2] for _ in range(200)]
    assert set(answers) <= {("accepted", 200), ("TooManyRequestsException", 429)}
    throttled = [status == 429 for _, status in answers]
    assert 0.2 <= sum(throttled) / len(throttled) <= 0.4
    assert aws.faults.stats["mediapackage"] == 200
    assert aws.faults.stats["mediapackage:429"] == sum(throttled)
    replay = Faults(throttle_share=0.3, seed=7)
    assert [replay.decide("mediapackage") == 429 for _ in range(200)] == throttled
    reseeded = Faults(throttle_share=0.3, seed=1)
    reseeded.seed = 7
    assert [reseeded.decide("mediapackage") == 429 for _ in range(200)] == throttled


def test_latency_delays_the_answer(aws: LocalAws) -> None:
    client = aws.mediapackage()
    aws.faults.latency = 0.2
    began = time.monotonic()
    client.list_harvest_jobs()
    assert time.monotonic() - began >= 0.2


def test_faults_apply_only_to_the_listed_services(aws: LocalAws, setup: LocalSetup) -> None:
    aws.faults = Faults(throttle_next=1, error_next=1)
    s3 = aws.client("s3")
    s3.put_object(Bucket=setup.bucket, Key="note.txt", Body=b"hello")
    assert s3.get_object(Bucket=setup.bucket, Key="note.txt")["Body"].read() == b"hello"
    assert aws.faults.stats["s3"] == 2
    assert "s3:429" not in aws.faults.stats
    client = aws.mediapackage()
    rejected(client.list_harvest_jobs, "TooManyRequestsException", 429)
    rejected(client.list_harvest_jobs, "ServiceUnavailableException", 503)
    assert client.list_harvest_jobs()["HarvestJobs"] == []

    aws.faults = Faults(services=frozenset({"s3"}), throttle_next=1)
    assert client.list_harvest_jobs()["HarvestJobs"] == []
    with pytest.raises(ClientError) as caught:
        s3.head_bucket(Bucket=setup.bucket)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param({"throttle_next": 3}, id="three-throttles"),
        pytest.param({"error_next": 3, "error_status": 503}, id="three-503"),
        pytest.param({"error_next": 3, "error_status": 500}, id="three-500"),
    ],
)
def test_client_with_standard_retries_gets_through(
    aws: LocalAws, setup: LocalSetup, monkeypatch: pytest.MonkeyPatch, faults: dict[str, Any]
) -> None:
    monkeypatch.setattr(
        ExponentialBackoff,
        "_DEFAULT_BACKOFF_CONFIG",
        {"throttling_base_scale": 0.01, "non_throttling_base_scale": 0.01},
    )
    client = client_with(aws, Config(retries={"mode": "standard", "total_max_attempts": 6}))
    aws.faults = Faults(**faults)
    job = create(client, setup)
    assert job["Status"] == "IN_PROGRESS"
    assert job["ResponseMetadata"]["RetryAttempts"] == 3
    assert aws.faults.stats["mediapackage"] == 4
    assert job_ids(client) == {"clip-1"}


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("outcome", "SUCCESS", "'SUCCEEDED' or 'FAILED'"),
        ("completion_delay", -1, "seconds >= 0"),
        ("max_concurrent_jobs", 0, "integer >= 1"),
        ("create_answer_delay", -0.5, "seconds >= 0"),
    ],
)
def test_bad_harvest_settings_are_refused(aws: LocalAws, setting: str, value: Any, expected: str) -> None:
    with pytest.raises(
        ValueError, match=rf"HarvestSettings\.{setting}: {value!r}; expected .*{re.escape(expected)}"
    ):
        setattr(aws.harvest, setting, value)


def test_a_bad_outcome_for_one_job_is_refused(aws: LocalAws) -> None:
    with pytest.raises(ValueError, match=r"HarvestSettings\.outcomes\['clip'\]: 'DONE'"):
        aws.harvest.outcomes["clip"] = "DONE"
    with pytest.raises(ValueError, match=r"outcomes\['clip'\]: 'DONE'"):
        aws.harvest.outcomes = {"clip": "DONE"}


@pytest.mark.parametrize(
    ("fault", "value", "expected"),
    [
        ("throttle_share", 1.5, "a share from 0 to 1"),
        ("throttle_next", -1, "a count >= 0"),
        ("error_next", 2.5, "a count >= 0"),
        ("latency", -0.1, "seconds >= 0"),
        ("error_status", 200, "one of 403, 500, 503"),
        ("error_status", 429, "one of 403, 500, 503"),
    ],
)
def test_bad_faults_are_refused(fault: str, value: Any, expected: str) -> None:
    with pytest.raises(ValueError, match=rf"Faults\.{fault}: {re.escape(repr(value))}; expected {expected}"):
        Faults(**{fault: value})


def test_a_forbidden_fault_is_the_modelled_403(aws: LocalAws) -> None:
    aws.faults = Faults(error_next=1, error_status=403)
    rejected(aws.mediapackage().list_harvest_jobs, "ForbiddenException", 403)
