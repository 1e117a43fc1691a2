"""The local MediaPackage v2 harvest-job endpoint (local_aws/) through real boto3 ``mediapackagev2`` clients
over HTTP: the REST-JSON wire format of botocore's model, the documented rules, QUEUED -> IN_PROGRESS ->
COMPLETED with the files written, FAILED when told to, CancelHarvestJob with ETags, ClientToken, unique
names, the quota, ListHarvestJobs filters and pagination, and fault injection. The bucket-policy check is
in test_local_bucket_policy_v2.py, the origin endpoints in test_local_origin_endpoints_v2.py."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from support import ACCOUNT_ID, LocalSetupV2, harvest_job_v2, v2_request, wait_until_done_v2

from local_aws import prerequisites
from local_aws.server import CREDENTIALS, LocalAws

MEMBERS = {
    "ChannelGroupName",
    "ChannelName",
    "OriginEndpointName",
    "Destination",
    "HarvestJobName",
    "HarvestedManifests",
    "ScheduleConfiguration",
    "Arn",
    "CreatedAt",
    "ModifiedAt",
    "Status",
    "ETag",
    "Tags",
}


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


def unvalidated(aws: LocalAws) -> Any:
    """A client that sends what it is given: the server's own rules answer."""
    return client_with(aws, Config(parameter_validation=False, retries={"total_max_attempts": 1}))


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


def names(client: Any, group: str = "live", **filters: Any) -> set[str]:
    items = client.list_harvest_jobs(ChannelGroupName=group, **filters)["Items"]
    return {job["HarvestJobName"] for job in items}


def s3_keys(aws: LocalAws, bucket: str) -> set[str]:
    listing = aws.client("s3").list_objects_v2(Bucket=bucket)
    return {item["Key"] for item in listing.get("Contents", [])}


def s3_text(aws: LocalAws, bucket: str, key: str) -> str:
    text: str = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return text


def test_create_answers_every_modelled_member_in_rest_json(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    client = aws.mediapackagev2()
    raw: list[AWSResponse] = []
    client.meta.events.register(
        "after-call.mediapackagev2.CreateHarvestJob", lambda http_response, **_: raw.append(http_response)
    )
    request = v2_request(setup_v2, Description="the final", Tags={"team": "sport"})
    before = datetime.now(UTC).replace(microsecond=0)
    job = client.create_harvest_job(**request)
    assert set(job) - {"ResponseMetadata"} == MEMBERS | {"Description"}
    assert job["Arn"] == f"{setup_v2.origin_endpoint_arn}/harvestJob/clip-1"
    assert job["Arn"] == (
        f"arn:aws:mediapackagev2:{aws.region}:{ACCOUNT_ID}:channelGroup/live/channel/main/originEndpoint/hls"
        "/harvestJob/clip-1"
    )
    assert job["Status"] == "QUEUED"
    assert job["HarvestedManifests"] == {"HlsManifests": [{"ManifestName": "index"}]}
    assert job["Destination"] == request["Destination"]
    assert job["ScheduleConfiguration"] == request["ScheduleConfiguration"]
    assert (job["Description"], job["Tags"]) == ("the final", {"team": "sport"})
    assert before <= job["CreatedAt"] == job["ModifiedAt"] <= datetime.now(UTC)

    (response,) = raw
    wire = json.loads(response.content)
    assert set(wire) == MEMBERS | {"Description"}
    assert isinstance(wire["CreatedAt"], int | float), "timestamps are epoch seconds"
    assert isinstance(wire["ScheduleConfiguration"]["StartTime"], int | float)
    got = harvest_job_v2(client, setup_v2, "clip-1")
    stable = MEMBERS - {"Status", "ETag", "ModifiedAt"}  # the job may have moved on since
    assert {m: got[m] for m in stable} == {m: job[m] for m in stable}


def test_job_is_queued_then_in_progress_then_completed_writing_its_files(
    aws: LocalAws, setup_v2: LocalSetupV2
) -> None:
    aws.harvest_v2.queue_delay, aws.harvest_v2.completion_delay = 0.3, 0.3
    client = aws.mediapackagev2()
    began = time.monotonic()
    created = client.create_harvest_job(**v2_request(setup_v2))
    seen = [(created["Status"], created["ETag"])]
    while seen[-1][0] != "COMPLETED":
        job = harvest_job_v2(client, setup_v2, "clip-1")
        if job["Status"] != seen[-1][0]:
            seen.append((job["Status"], job["ETag"]))
        elif job["ETag"] != seen[-1][1]:
            pytest.fail("the ETag changed without a status change")
        time.sleep(0.02)
    assert [status for status, _ in seen] == ["QUEUED", "IN_PROGRESS", "COMPLETED"]
    assert len({etag for _, etag in seen}) == 3, "every status change makes a new ETag"
    assert time.monotonic() - began >= 0.6
    assert "ErrorMessage" not in job
    assert job["ModifiedAt"] > job["CreatedAt"]

    assert s3_keys(aws, setup_v2.bucket) == {"clips/clip-1/index.m3u8", "clips/clip-1/index_1.m3u8"}
    top = s3_text(aws, setup_v2.bucket, "clips/clip-1/index.m3u8")
    assert top.startswith("#EXTM3U\n")
    assert "index_1.m3u8" in top.splitlines()
    media = s3_text(aws, setup_v2.bucket, "clips/clip-1/index_1.m3u8")
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in media
    assert media.rstrip().endswith("#EXT-X-ENDLIST")
    assert len(re.findall(r"^segment_\d+\.ts$", media, re.MULTILINE)) == 100, "10 minutes of 6 s segments"


def test_every_harvested_manifest_is_written(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    client = aws.mediapackagev2()
    cmaf = client.create_origin_endpoint(
        ChannelGroupName="live",
        ChannelName="main",
        OriginEndpointName="cmaf",
        ContainerType="CMAF",
        StartoverWindowSeconds=3600,
        HlsManifests=[{"ManifestName": "hls"}],
        LowLatencyHlsManifests=[{"ManifestName": "llhls"}],
        DashManifests=[{"ManifestName": "dash"}],
    )
    manifests = {
        "HlsManifests": [{"ManifestName": "hls"}],
        "LowLatencyHlsManifests": [{"ManifestName": "llhls"}],
        "DashManifests": [{"ManifestName": "dash"}],
    }
    prerequisites.allow_harvest_v2(aws, setup_v2.bucket, [cmaf["Arn"]])
    request = v2_request(setup_v2, OriginEndpointName="cmaf", HarvestedManifests=manifests)
    request["Destination"]["S3Destination"]["DestinationPath"] = "no-slash"
    client.create_harvest_job(**request)
    job = wait_until_done_v2(client, replace(setup_v2, origin_endpoint_name="cmaf"), "clip-1")
    assert job["Status"] == "COMPLETED", job.get("ErrorMessage")
    expected = {"hls.m3u8", "hls_1.m3u8", "llhls.m3u8", "llhls_1.m3u8", "dash.mpd"}
    assert s3_keys(aws, setup_v2.bucket) == {f"no-slash/{name}" for name in expected}
    mpd = s3_text(aws, setup_v2.bucket, "no-slash/dash.mpd")
    assert 'type="static"' in mpd
    assert "segment_$Number$.mp4" in mpd
    assert "segment_1.mp4" in s3_text(aws, setup_v2.bucket, "no-slash/hls_1.m3u8")


BROKEN: dict[str, tuple[Callable[[LocalSetupV2], dict[str, Any]], str, tuple[str, ...]]] = {
    "name-with-space": (
        lambda s: {"HarvestJobName": "bad name"},
        "MEMBER_DOES_NOT_MATCH_PATTERN",
        ("HarvestJobName",),
    ),
    "name-with-dot": (lambda s: {"HarvestJobName": "clip.1"}, "MEMBER_DOES_NOT_MATCH_PATTERN", ("clip.1",)),
    "name-too-long": (
        lambda s: {"HarvestJobName": "n" * 257},
        "MEMBER_DOES_NOT_MATCH_PATTERN",
        ("HarvestJobName",),
    ),
    "description-too-long": (lambda s: {"Description": "d" * 1025}, "MEMBER_MAX_LENGTH", ("Description",)),
    "no-manifest": (lambda s: {"HarvestedManifests": {}}, "NUM_MANIFESTS_LOW", ("HarvestedManifests",)),
    "empty-manifest-lists": (
        lambda s: {"HarvestedManifests": {"HlsManifests": [], "DashManifests": []}},
        "NUM_MANIFESTS_LOW",
        ("HarvestedManifests",),
    ),
    "unknown-manifest": (
        lambda s: {"HarvestedManifests": {"HlsManifests": [{"ManifestName": "other"}]}},
        "HARVESTED_MANIFEST_NOT_FOUND_ON_ENDPOINT",
        ("other",),
    ),
    "manifest-of-another-kind": (
        lambda s: {"HarvestedManifests": {"LowLatencyHlsManifests": [{"ManifestName": "index"}]}},
        "HARVESTED_MANIFEST_NOT_FOUND_ON_ENDPOINT",
        ("LowLatencyHlsManifests", "index"),
    ),
    "manifest-twice": (
        lambda s: {"HarvestedManifests": {"HlsManifests": [{"ManifestName": "index"}] * 2}},
        "MEMBER_INVALID",
        ("index", "twice"),
    ),
    "end-before-start": (
        lambda s: window(hours_ago=2, minutes=-10),
        "END_TIME_EARLIER_THAN_START_TIME",
        ("EndTime",),
    ),
    "end-equals-start": (
        lambda s: window(hours_ago=2, minutes=0),
        "END_TIME_EARLIER_THAN_START_TIME",
        ("EndTime",),
    ),
    "start-in-future": (
        lambda s: window(hours_ago=-0.1, minutes=5),
        "INVALID_HARVEST_JOB_DURATION",
        ("past",),
    ),
    "start-before-startover": (
        lambda s: window(hours_ago=24.2, minutes=10),
        "INVALID_HARVEST_JOB_DURATION",
        ("startover",),
    ),
    "bucket-missing": (
        lambda s: destination(s, BucketName="no-such-bucket"),
        "HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE",
        ("no-such-bucket",),
    ),
    "bucket-name-short": (
        lambda s: destination(s, BucketName="ab"),
        "HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE",
        ("BucketName",),
    ),
    "path-with-space": (
        lambda s: destination(s, DestinationPath="a b/"),
        "HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE",
        ("DestinationPath",),
    ),
    "path-empty": (
        lambda s: destination(s, DestinationPath=""),
        "HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE",
        ("DestinationPath",),
    ),
}


def window(*, hours_ago: float, minutes: float) -> dict[str, Any]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours_ago)
    return {"ScheduleConfiguration": {"StartTime": start, "EndTime": start + timedelta(minutes=minutes)}}


def destination(setup: LocalSetupV2, **changes: str) -> dict[str, Any]:
    s3 = {"BucketName": setup.bucket, "DestinationPath": "clips/"} | changes
    return {"Destination": {"S3Destination": s3}}


def test_broken_rules_are_validation_errors(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    client = unvalidated(aws)
    wrong = {}
    for case, (changes, kind, mentioned) in BROKEN.items():
        try:
            client.create_harvest_job(**v2_request(setup_v2, **changes(setup_v2)))
            wrong[case] = "accepted"
            continue
        except ClientError as error:
            response = error.response
        body = (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"])
        kind_got = response.get("ValidationExceptionType")
        if body != ("ValidationException", 400) or kind_got != kind:
            wrong[case] = f"{body} {kind_got}"
        elif not all(name in response["Error"]["Message"] for name in mentioned):
            wrong[case] = response["Error"]["Message"]
    assert wrong == {}
    assert names(client) == set()


def test_window_limits(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    client = aws.mediapackagev2()
    client.create_origin_endpoint(
        ChannelGroupName="live",
        ChannelName="main",
        OriginEndpointName="two-weeks",
        ContainerType="TS",
        StartoverWindowSeconds=14 * 86400,
        HlsManifests=[{"ManifestName": "index"}],
    )
    longest = v2_request(
        setup_v2, "full-day", OriginEndpointName="two-weeks", **window(hours_ago=25, minutes=24 * 60)
    )
    assert client.create_harvest_job(**longest)["Status"] == "QUEUED"
    too_long = v2_request(
        setup_v2, "too-long", OriginEndpointName="two-weeks", **window(hours_ago=25, minutes=24 * 60 + 1)
    )
    response = rejected(lambda: client.create_harvest_job(**too_long), "ValidationException", 400, "24 hours")
    assert response["ValidationExceptionType"] == "INVALID_HARVEST_JOB_DURATION"
    client.create_origin_endpoint(
        ChannelGroupName="live",
        ChannelName="main",
        OriginEndpointName="no-startover",
        ContainerType="TS",
        HlsManifests=[{"ManifestName": "index"}],
    )
    rejected(
        lambda: client.create_harvest_job(**v2_request(setup_v2, "none", OriginEndpointName="no-startover")),
        "ValidationException",
        400,
        "no startover window",
    )


def test_an_ongoing_stream_is_harvested_once_its_end_has_passed(
    aws: LocalAws, setup_v2: LocalSetupV2
) -> None:
    client = aws.mediapackagev2()
    end = datetime.now(UTC) + timedelta(seconds=1.5)
    request = v2_request(
        setup_v2, ScheduleConfiguration={"StartTime": end - timedelta(minutes=5), "EndTime": end}
    )
    client.create_harvest_job(**request)
    assert harvest_job_v2(client, setup_v2, "clip-1")["Status"] in ("QUEUED", "IN_PROGRESS")
    job = wait_until_done_v2(client, setup_v2, "clip-1")
    assert job["Status"] == "COMPLETED"
    assert datetime.now(UTC) >= end


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        pytest.param({"ChannelGroupName": "nope"}, "CHANNEL_GROUP", id="group"),
        pytest.param({"ChannelName": "nope"}, "CHANNEL", id="channel"),
        pytest.param({"OriginEndpointName": "nope"}, "ORIGIN_ENDPOINT", id="endpoint"),
    ],
)
def test_missing_resources_are_not_found(
    aws: LocalAws, setup_v2: LocalSetupV2, path: dict[str, str], kind: str
) -> None:
    client = aws.mediapackagev2()
    response = rejected(
        lambda: client.create_harvest_job(**v2_request(setup_v2, **path)),
        "ResourceNotFoundException",
        404,
        "nope",
    )
    assert response["ResourceTypeNotFound"] == kind
    if kind == "CHANNEL_GROUP":
        rejected(lambda: client.list_harvest_jobs(ChannelGroupName="nope"), "ResourceNotFoundException", 404)
    response = rejected(lambda: harvest_job_v2(client, setup_v2, "nope"), "ResourceNotFoundException", 404)
    assert response["ResourceTypeNotFound"] == "HARVEST_JOB"


def test_jobs_fail_when_told_to(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    client = aws.mediapackagev2()
    aws.harvest_v2.failures["doomed"] = "Source segments unavailable"
    client.create_harvest_job(**v2_request(setup_v2, "doomed"))
    client.create_harvest_job(**v2_request(setup_v2, "fine"))
    assert wait_until_done_v2(client, setup_v2, "fine")["Status"] == "COMPLETED"
    doomed = wait_until_done_v2(client, setup_v2, "doomed")
    assert (doomed["Status"], doomed["ErrorMessage"]) == ("FAILED", "Source segments unavailable")
    aws.harvest_v2.failure_message = "Everything fails"
    client.create_harvest_job(**v2_request(setup_v2, "also-doomed"))
    assert wait_until_done_v2(client, setup_v2, "also-doomed")["ErrorMessage"] == "Everything fails"
    assert {key.split("/")[1] for key in s3_keys(aws, setup_v2.bucket)} == {"fine"}
