"""A v2 resource's properties through the handler: every rule of the shared rules module, each failure
naming the property (Create and Update alike), and the request's ClientToken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules
import pytest
from botocore.stub import Stubber
from mediapackage_harvest_handler import answering, entry
from support import (
    LOGICAL_ID,
    REQUEST_ID,
    STACK_ID,
    V2_GENERATED,
    invoke,
    v2_create_params,
    v2_event,
    v2_job,
    v2_properties,
)

TOKEN = answering.request_token(
    {"StackId": STACK_ID, "LogicalResourceId": LOGICAL_ID, "RequestId": REQUEST_ID}
)
OTHER_REQUEST = "c0ffee00-0000-4000-8000-000000000002"


def create_params(name: str = V2_GENERATED, token: str = TOKEN, **changes: Any) -> dict[str, Any]:
    return v2_create_params(name, token, **changes)


def test_the_client_token_is_stable_per_request_and_fits_the_model() -> None:
    envelope = {"StackId": STACK_ID, "LogicalResourceId": LOGICAL_ID, "RequestId": REQUEST_ID}
    token = answering.request_token(envelope)
    assert token == answering.request_token(dict(envelope)) == TOKEN
    assert token != answering.request_token({**envelope, "RequestId": OTHER_REQUEST})
    assert token != answering.request_token({**envelope, "LogicalResourceId": "Other"})
    assert 1 <= len(token) <= 256
    assert not any(character.isspace() for character in token)


def _without(key: str) -> dict[str, Any]:
    props = v2_properties()
    del props[key]
    return props


def _destination(**changes: Any) -> dict[str, Any]:
    destination = {**v2_properties()["S3Destination"], **changes}
    return v2_properties(
        S3Destination={key: value for key, value in destination.items() if value is not None}
    )


BAD_PROPERTIES = [
    pytest.param(None, "ResourceProperties is missing or not an object", id="no-properties"),
    pytest.param(_without("ChannelGroupName"), "Missing property ChannelGroupName", id="no-group"),
    pytest.param(_without("ChannelName"), "Missing property ChannelName", id="no-channel"),
    pytest.param(_without("OriginEndpointName"), "Missing property OriginEndpointName", id="no-endpoint"),
    pytest.param(
        v2_properties(ChannelName="main channel"),
        "ChannelName: 'main channel' has characters",
        id="channel-chars",
    ),
    pytest.param(v2_properties(OriginEndpointName="e" * 257), "OriginEndpointName: 'eee", id="endpoint-long"),
    pytest.param(
        v2_properties(ChannelGroupName=7),
        "ChannelGroupName: 7 is a int; expected a string",
        id="group-number",
    ),
    pytest.param(_without("StartTime"), "Missing property StartTime", id="no-start"),
    pytest.param(v2_properties(StartTime="noon"), "StartTime: 'noon' is not an ISO-8601", id="start-text"),
    pytest.param(
        v2_properties(EndTime="2026-11-28T10:30:00"),
        "EndTime: '2026-11-28T10:30:00' has no time zone",
        id="naive",
    ),
    pytest.param(
        v2_properties(EndTime="2026-11-28T09:00:00Z"),
        "EndTime: '2026-11-28T09:00:00Z' is not after",
        id="reversed",
    ),
    pytest.param(v2_properties(EndTime="2026-11-29T10:00:01Z"), "EndTime: the window", id="over-24h"),
    pytest.param(_without("S3Destination"), "Missing property S3Destination", id="no-destination"),
    pytest.param(
        v2_properties(S3Destination="bucket"),
        "Property S3Destination is a str; expected an object",
        id="destination-text",
    ),
    pytest.param(_destination(BucketName=None), "Missing property S3Destination.BucketName", id="no-bucket"),
    pytest.param(
        _destination(BucketName="Bad_Bucket"), "S3Destination.BucketName: 'Bad_Bucket' is not", id="bucket"
    ),
    pytest.param(
        _destination(BucketName=["b"]), "Property S3Destination.BucketName is a list", id="bucket-list"
    ),
    pytest.param(
        _destination(DestinationPath=None), "Missing property S3Destination.DestinationPath", id="no-path"
    ),
    pytest.param(
        _destination(DestinationPath="a b/"),
        "S3Destination.DestinationPath: 'a b/' contains whitespace",
        id="path-space",
    ),
    pytest.param(
        _destination(DestinationPath="p" * 1025), "S3Destination.DestinationPath: 'ppp", id="path-long"
    ),
    pytest.param(
        _destination(ManifestKey="x.m3u8"), "Unknown property S3Destination.ManifestKey", id="v1-key"
    ),
    pytest.param(
        v2_properties(HlsManifestNames="index"),
        "HlsManifestNames: 'index' is a str; expected a list",
        id="names-text",
    ),
    pytest.param(
        v2_properties(DashManifestNames=["ok", "bad name"]),
        "DashManifestNames[1]: 'bad name'",
        id="name-chars",
    ),
    pytest.param(
        v2_properties(HlsManifestNames=["a", "a"]),
        "HlsManifestNames: ['a'] appear more than once",
        id="twice",
    ),
    pytest.param(
        v2_properties(HlsManifestNames=None, DashManifestNames=[], LowLatencyHlsManifestNames=[]),
        "HlsManifestNames, DashManifestNames, LowLatencyHlsManifestNames: all empty",
        id="no-manifest",
    ),
    pytest.param(
        v2_properties(HarvestJobName="my clip"), "HarvestJobName: 'my clip' has characters", id="job-name"
    ),
    pytest.param(v2_properties(HarvestJobName=""), "HarvestJobName: is empty", id="job-name-empty"),
    pytest.param(v2_properties(Description="d" * 1025), "Description: 'ddd", id="description-long"),
    pytest.param(v2_properties(Description=["d"]), "Description: ['d'] is a list", id="description-list"),
    pytest.param(v2_properties(Tags=["a"]), "Tags: ['a'] is a list; expected a mapping", id="tags-list"),
    pytest.param(v2_properties(Tags={"team": 1}), "Tags: tag value of 'team' 1 is a int", id="tag-value"),
    pytest.param(
        v2_properties(Tags={"aws:x": "y"}), "Tags: tag key 'aws:x' starts with 'aws:'", id="tag-aws"
    ),
    pytest.param(v2_properties(Id="x"), "Unknown property Id; expected only", id="v1-id"),
    pytest.param(v2_properties(WaitForCompletion="yes"), "Property WaitForCompletion is 'yes'", id="wait"),
]


@pytest.mark.parametrize("request_type", ["Create", "Update"])
@pytest.mark.parametrize(("props", "expected"), BAD_PROPERTIES)
def test_bad_properties_fail_with_a_reason_naming_them(
    answers: list[dict[str, Any]], v2_stub: Stubber, request_type: str, props: Any, expected: str
) -> None:
    body = v2_event(
        request_type, props, **({"physical_id": V2_GENERATED} if request_type == "Update" else {})
    )
    if props is None:
        del body["ResourceProperties"]

    answer = invoke(entry.handler, answers, body)

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(expected), answer["Reason"]
    assert len(answer["Reason"]) <= contract.MAX_REASON_LENGTH


def test_a_window_that_has_not_started_fails_before_any_job_is_created(
    answers: list[dict[str, Any]], v2_stub: Stubber
) -> None:
    answer = invoke(
        entry.handler,
        answers,
        v2_event("Create", v2_properties(StartTime="2099-01-01T00:00:00Z", EndTime="2099-01-01T01:00:00Z")),
    )

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("StartTime: '2099-01-01T00:00:00Z' is in the future (now ")


def test_a_window_still_running_is_harvested_as_v2_harvests_ongoing_streams(
    answers: list[dict[str, Any]], v2_stub: Stubber
) -> None:
    """v2's guide: the start must be in the past; the end may be in the future."""
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now - timedelta(minutes=30), now + timedelta(minutes=30)
    schedule: dict[str, Any] = {"ScheduleConfiguration": {"StartTime": start, "EndTime": end}}
    v2_stub.add_response("create_harvest_job", v2_job(**schedule), create_params(**schedule))
    props = v2_properties(StartTime=rules.format_time(start), EndTime=rules.format_time(end))

    answer = invoke(entry.handler, answers, v2_event("Create", props))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", V2_GENERATED), answer["Reason"]
    assert answer["Data"]["EndTime"] == rules.format_time(end)
