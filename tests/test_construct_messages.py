"""What a user reads at synth time after a common mistake: the error's class, a message that gives the
fix, and the warnings (each with an id that ``Annotations.of(job).acknowledge_warning`` clears)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from cdk_mediapackage_harvest import HarvestJob, HarvestJobV2, HarvestRuleError
from cdk_mediapackage_harvest._destinations import SAME_DESTINATION_WARNING, claim_destination
from constructs import Construct

NO_BUNDLING: dict[str, list[str]] = {"aws:cdk:bundling-stacks": []}
PROPS: dict[str, Any] = {
    "origin_endpoint_id": "my-hls-endpoint",
    "start_time": "2025-03-01T10:00:00Z",
    "end_time": "2025-03-01T10:30:00Z",
    "manifest_key": "clips/final/index.m3u8",
}
ENDPOINT_ARN = "arn:aws:mediapackage:us-east-1:123456789012:origin_endpoints/my-hls-endpoint"


def new_stack() -> tuple[cdk.Stack, s3.Bucket]:
    stack = cdk.Stack(cdk.App(context=NO_BUNDLING), "Stack")
    return stack, s3.Bucket(stack, "Bucket")


def job(scope: Construct, id_: str, bucket: s3.IBucket, **props: Any) -> HarvestJob:
    return HarvestJob(scope, id_, destination_bucket=bucket, **{**PROPS, **props})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("start_time", 1_740_823_200, id="start-int"),
        pytest.param("end_time", 1_740_825_000.0, id="end-float"),
        pytest.param("end_time", date(2025, 3, 1), id="end-date"),
        pytest.param("origin_endpoint_id", 12, id="endpoint-int"),
        pytest.param("manifest_key", ["clips/index.m3u8"], id="key-list"),
        pytest.param("harvest_job_id", 7, id="id-int"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_type_error_not_a_rule_error(name: str, value: Any) -> None:
    stack, bucket = new_stack()
    with pytest.raises(TypeError) as caught:
        job(stack, "Clip", bucket, **{name: value})
    assert not isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(
        f"Stack/Clip: {name}: {value!r} is a {type(value).__name__}; expected"
    )


def test_an_origin_endpoint_arn_is_answered_with_its_id() -> None:
    stack, bucket = new_stack()
    with pytest.raises(HarvestRuleError) as caught:
        job(stack, "Clip", bucket, origin_endpoint_id=ENDPOINT_ARN)
    message = str(caught.value)
    assert message.startswith(f"Stack/Clip: origin_endpoint_id: {ENDPOINT_ARN!r}")
    assert "pass the endpoint's Id, e.g. 'my-hls-endpoint'" in message
    # The Id the message suggests is one the construct accepts.
    job(stack, "Fixed", bucket, origin_endpoint_id="my-hls-endpoint")


@pytest.mark.parametrize(
    ("value", "suggested"),
    [
        pytest.param("goal clip 1", "goal-clip-1", id="spaces"),
        pytest.param(" final/2025.03.01 ", "final-2025-03-01", id="slash-and-dots"),
        pytest.param("!!!", "clip-2026-11-28", id="nothing-valid"),
    ],
)
def test_an_invalid_harvest_job_id_is_answered_with_a_valid_one(value: str, suggested: str) -> None:
    stack, bucket = new_stack()
    with pytest.raises(HarvestRuleError) as caught:
        job(stack, "Clip", bucket, harvest_job_id=value)
    message = str(caught.value)
    assert message.startswith(f"Stack/Clip: harvest_job_id: {value!r} has characters other than")
    assert message.endswith(f"expected e.g. {suggested!r}")
    job(stack, "Fixed", bucket, harvest_job_id=suggested)


def test_two_jobs_writing_the_same_manifest_to_the_same_bucket_are_warned_about() -> None:
    stack, bucket = new_stack()
    first = job(stack, "First", bucket)
    group = Construct(stack, "Group")
    second = job(group, "Second", bucket)
    job(stack, "OtherKey", bucket, manifest_key="clips/other/index.m3u8")
    job(stack, "OtherBucket", s3.Bucket(stack, "Archive"))
    annotations = Annotations.from_stack(stack)
    warnings = annotations.find_warning("*", Match.string_like_regexp(SAME_DESTINATION_WARNING))
    assert [warning.id for warning in warnings] == [f"/{second.node.path}"]
    text = str(warnings[0].entry.data)
    assert "manifest_key: 'clips/final/index.m3u8'" in text
    assert first.node.path in text
    assert "overwrites" in text


def test_an_imported_bucket_named_twice_is_the_same_destination() -> None:
    stack, _ = new_stack()
    job(stack, "First", s3.Bucket.from_bucket_name(stack, "One", "clips-bucket"))
    second = job(stack, "Second", s3.Bucket.from_bucket_name(stack, "Two", "clips-bucket"))
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("sameDestination"))
    assert [warning.id for warning in warnings] == [f"/{second.node.path}"]


def test_the_same_destination_in_two_stacks_is_no_warning() -> None:
    app = cdk.App(context=NO_BUNDLING)
    for name in ("One", "Two"):
        stack = cdk.Stack(app, name)
        job(stack, "Clip", s3.Bucket.from_bucket_name(stack, "Bucket", "clips-bucket"))
        Annotations.from_stack(stack).has_no_warning("*", Match.any_value())


def test_the_destination_check_serves_any_construct_that_writes_to_a_bucket() -> None:
    """Another construct (a job writing a folder) claims its own destination with its own prop name."""
    stack, bucket = new_stack()
    first, second = Construct(stack, "FolderJob1"), Construct(stack, "FolderJob2")
    claim_destination(stack, first, bucket.bucket_name, "clips/final/", prop="destination_path")
    claim_destination(stack, second, bucket.bucket_name, "clips/final/", prop="destination_path")
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("destination_path"))
    assert [warning.id for warning in warnings] == ["/Stack/FolderJob2"]


def warning_ids(stack: cdk.Stack) -> list[str]:
    found = Annotations.from_stack(stack).find_warning("*", Match.any_value())
    return [re.findall(r"\[ack: ([^\]]+)\]", str(warning.entry.data))[0] for warning in found]


def test_each_warning_has_an_id_that_acknowledging_clears() -> None:
    """The README lists these ids with the call that clears each (``cdk synth --strict`` fails on any)."""
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=400)
    stack, bucket = new_stack()
    clips = [
        job(
            stack, "Future", bucket, start_time=end - timedelta(hours=1), end_time=end, manifest_key="f.m3u8"
        ),
        job(stack, "Mp4", bucket, manifest_key="clips/video.mp4"),
        job(stack, "Same", bucket, manifest_key="f.m3u8"),
    ]
    ids = warning_ids(stack)
    assert sorted(ids) == sorted(
        [
            "cdk-mediapackage-harvest:endTimeInFuture",
            "cdk-mediapackage-harvest:manifestKeyExtension",
            SAME_DESTINATION_WARNING,
        ]
    )
    for clip, warning in zip(clips, ids, strict=True):
        cdk.Annotations.of(clip).acknowledge_warning(warning, "known and intended")
    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())
    Template.from_stack(stack).resource_count_is("Custom::MediaPackageHarvestJob", 3)


def test_two_v2_jobs_writing_the_same_destination_path_to_the_same_bucket_are_warned_about() -> None:
    stack, bucket = new_stack()
    v2 = {
        "channel_group_name": "live",
        "channel_name": "main",
        "origin_endpoint_name": "hls",
        "start_time": "2026-11-28T10:00:00Z",
        "end_time": "2026-11-28T10:30:00Z",
        "destination_bucket": bucket,
        "hls_manifest_names": ["index"],
    }
    first = HarvestJobV2(stack, "First", destination_path="clips/final/", **v2)  # type: ignore[arg-type]
    second = HarvestJobV2(stack, "Second", destination_path="clips/final/", **v2)  # type: ignore[arg-type]
    HarvestJobV2(stack, "Elsewhere", destination_path="clips/other/", **v2)  # type: ignore[arg-type]
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp(SAME_DESTINATION_WARNING)
    )
    assert [warning.id for warning in warnings] == [f"/{second.node.path}"]
    text = str(warnings[0].entry.data)
    assert "destination_path: 'clips/final/'" in text
    assert first.node.path in text


def test_a_v2_name_given_as_an_arn_is_answered_with_the_name_to_pass() -> None:
    stack, bucket = new_stack()
    endpoint_arn = (
        "arn:aws:mediapackagev2:us-east-1:123456789012:channelGroup/live/channel/main/originEndpoint/hls"
    )
    with pytest.raises(HarvestRuleError) as caught:
        HarvestJobV2(
            stack,
            "Clip",
            channel_group_name="live",
            channel_name="main",
            origin_endpoint_name=endpoint_arn,
            start_time="2026-11-28T10:00:00Z",
            end_time="2026-11-28T10:30:00Z",
            destination_bucket=bucket,
            destination_path="clips/final/",
            hls_manifest_names=["index"],
        )
    message = str(caught.value)
    assert message.startswith("Stack/Clip: origin_endpoint_name: 'arn:aws:mediapackagev2:")
    assert message.endswith("an ARN is not a name: pass the origin endpoint's name, e.g. 'hls'")
