"""HarvestJobV2's props at synth time: the forms they take, the errors of bad values (with the
construct's path, the prop, the value and what is expected), the values at the limits, the warnings,
and tokens passing through unchecked; and the v2 window rule of the shared rules module."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aws_cdk as cdk
import cdk_mediapackage_harvest_rules as rules
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from cdk_mediapackage_harvest import PROVIDER_ID, HarvestJobV2, HarvestRuleError
from cdk_mediapackage_harvest._props_v2 import START_IN_FUTURE

NO_BUNDLING: dict[str, list[str]] = {"aws:cdk:bundling-stacks": []}
PROPS: dict[str, Any] = {
    "channel_group_name": "live",
    "channel_name": "main",
    "origin_endpoint_name": "hls",
    "start_time": "2025-03-01T10:00:00Z",
    "end_time": "2025-03-01T10:30:00Z",
    "destination_path": "clips/one/",
    "hls_manifest_names": ["index"],
}


def new_stack(name: str = "Stack") -> tuple[cdk.Stack, s3.Bucket]:
    stack = cdk.Stack(cdk.App(context=NO_BUNDLING), name)
    return stack, s3.Bucket(stack, "Bucket")


def properties_of(stack: cdk.Stack, job: HarvestJobV2) -> dict[str, Any]:
    logical_id = stack.get_logical_id(job.node.default_child)  # type: ignore[arg-type]
    properties: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"][logical_id]["Properties"]
    return properties


def warnings_of(stack: cdk.Stack) -> list[tuple[str, str]]:
    return [
        (warning.id, str(warning.entry.data))
        for warning in Annotations.from_stack(stack).find_warning("*", Match.any_value())
    ]


def test_times_are_sent_as_utc_with_z() -> None:
    stack, bucket = new_stack()
    paris = timezone(timedelta(hours=1))
    job = HarvestJobV2(
        stack,
        "Clip",
        destination_bucket=bucket,
        **{
            **PROPS,
            "start_time": datetime(2025, 3, 1, 11, 0, tzinfo=paris),
            "end_time": "2025-03-01T11:30+01:00",
        },
    )
    properties = properties_of(stack, job)
    assert (properties["StartTime"], properties["EndTime"]) == (
        "2025-03-01T10:00:00Z",
        "2025-03-01T10:30:00Z",
    )


LONG = "a" * 257


@pytest.mark.parametrize(
    ("props", "error", "expected"),
    [
        (
            {"channel_group_name": "live group"},
            HarvestRuleError,
            "channel_group_name: 'live group' has characters",
        ),
        ({"channel_name": LONG}, HarvestRuleError, "channel_name: 'aaa"),
        ({"origin_endpoint_name": ""}, HarvestRuleError, "origin_endpoint_name: is empty"),
        ({"harvest_job_name": "clip 1"}, HarvestRuleError, "harvest_job_name: 'clip 1'"),
        (
            {"destination_path": "my clips/"},
            HarvestRuleError,
            "destination_path: 'my clips/' contains whitespace",
        ),
        ({"destination_path": ""}, HarvestRuleError, "destination_path: is empty"),
        (
            {"hls_manifest_names": []},
            HarvestRuleError,
            "hls_manifest_names, dash_manifest_names, low_latency_hls_manifest_names: all empty",
        ),
        (
            {"hls_manifest_names": ["a", "a"]},
            HarvestRuleError,
            "hls_manifest_names: ['a'] appear more than once",
        ),
        ({"dash_manifest_names": ["d ash"]}, HarvestRuleError, r"dash_manifest_names[0]: 'd ash'"),
        ({"description": "x" * 1025}, HarvestRuleError, "description: 'xxx"),
        ({"tags": {"aws:team": "v"}}, HarvestRuleError, "tags: tag key 'aws:team' starts with 'aws:'"),
        ({"tags": {f"k{i}": "v" for i in range(51)}}, HarvestRuleError, "tags: has 51 tags"),
        (
            {"end_time": "2025-03-01T09:00:00Z"},
            HarvestRuleError,
            "end_time: '2025-03-01T09:00:00Z' is not after",
        ),
        (
            {"end_time": "2025-03-02T10:00:01Z"},
            HarvestRuleError,
            "end_time: the window '2025-03-01T10:00:00Z' to",
        ),
        ({"start_time": "yesterday"}, HarvestRuleError, "start_time: 'yesterday' is not an ISO-8601"),
        ({"channel_name": 7}, TypeError, "channel_name: 7 is a int; expected a string"),
        ({"hls_manifest_names": "index"}, TypeError, "hls_manifest_names: 'index' is a str; expected a list"),
        ({"dash_manifest_names": [3]}, TypeError, "dash_manifest_names[0]: 3 is a int"),
        ({"tags": [("a", "b")]}, TypeError, "tags: [('a', 'b')] is a list; expected a mapping"),
        ({"tags": {"a": 1}}, TypeError, "tags: tag value of 'a' 1 is a int"),
        ({"description": 5}, TypeError, "description: 5 is a int"),
        ({"completion_timeout": cdk.Duration.hours(2)}, ValueError, "completion_timeout: 2 hours"),
        ({"wait_for_completion": "yes"}, TypeError, "wait_for_completion: 'yes'"),
    ],
)
def test_bad_props_raise_with_the_path_the_prop_and_the_value(
    props: dict[str, Any], error: type[Exception], expected: str
) -> None:
    stack, bucket = new_stack("HarvestV2Stack")
    with pytest.raises(error) as caught:
        HarvestJobV2(stack, "Clip", destination_bucket=bucket, **{**PROPS, **props})
    assert type(caught.value) is error
    assert str(caught.value).startswith(f"HarvestV2Stack/Clip: {expected}"), caught.value
    # Nothing was added: no handler, no bucket-policy statement.
    assert stack.node.try_find_child(PROVIDER_ID) is None
    assert bucket.policy is None


def test_a_wrong_bucket_is_a_type_error() -> None:
    stack, _ = new_stack()
    with pytest.raises(TypeError, match=r"^Stack/Clip: destination_bucket: 'clips' is a str"):
        HarvestJobV2(stack, "Clip", destination_bucket="clips", **PROPS)  # type: ignore[arg-type]


def test_values_at_the_limits_are_accepted() -> None:
    stack, bucket = new_stack()
    HarvestJobV2(
        stack,
        "Clip",
        destination_bucket=bucket,
        harvest_job_name="a" * 256,
        description="x" * 1024,
        tags={f"k{i}": "v" * 256 for i in range(50)},
        **{**PROPS, "destination_path": "p" * 1024, "end_time": "2025-03-02T10:00:00Z"},
    )
    assert warnings_of(stack) == []


def test_a_start_in_the_future_is_a_warning_an_end_in_the_future_is_not() -> None:
    now = datetime.now(UTC)
    stack, bucket = new_stack()
    HarvestJobV2(
        stack,
        "Ongoing",
        destination_bucket=bucket,
        **{**PROPS, "start_time": now - timedelta(minutes=5), "end_time": now + timedelta(minutes=20)},
    )
    assert warnings_of(stack) == []
    stack, bucket = new_stack()  # a new one: the first is synthesized, its policies frozen
    HarvestJobV2(
        stack,
        "Later",
        destination_bucket=bucket,
        **{**PROPS, "start_time": now + timedelta(days=1), "end_time": now + timedelta(days=1, minutes=5)},
    )
    ((path, text),) = warnings_of(stack)
    assert path == "/Stack/Later"
    assert START_IN_FUTURE in text
    assert "start_time" in text


def test_tokens_pass_through_unchecked() -> None:
    stack, bucket = new_stack()
    group = cdk.CfnParameter(stack, "Group").value_as_string
    names = cdk.CfnParameter(stack, "Names", type="CommaDelimitedList").value_as_list
    start = cdk.CfnParameter(stack, "Start").value_as_string
    job = HarvestJobV2(
        stack,
        "Clip",
        destination_bucket=bucket,
        **{
            **PROPS,
            "channel_group_name": group,
            "start_time": start,
            "destination_path": f"clips/{cdk.Aws.STACK_NAME}/",
            "hls_manifest_names": names,
            "harvest_job_name": cdk.Aws.STACK_NAME,
            "description": cdk.Aws.REGION,
            "tags": {"stack": cdk.Aws.STACK_NAME},
        },
    )
    properties = properties_of(stack, job)
    assert properties["ChannelGroupName"] == {"Ref": "Group"}
    assert properties["StartTime"] == {"Ref": "Start"}
    assert properties["HlsManifestNames"] == {"Ref": "Names"}
    assert properties["HarvestJobName"] == {"Ref": "AWS::StackName"}
    assert properties["Tags"] == {"stack": {"Ref": "AWS::StackName"}}
    # A token name is a deploy-time name, not a wildcard: nothing to acknowledge.
    policy = stack.node.find_child(PROVIDER_ID).node.find_child("Policy")
    assert not any("mediapackagev2" in str(entry.data) for entry in policy.node.metadata)


def test_check_started_accepts_a_started_window_and_names_a_future_start() -> None:
    now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    rules.check_started(now, now, start_name="StartTime")
    rules.check_started(now - timedelta(hours=3), now, start_name="StartTime")
    with pytest.raises(HarvestRuleError, match=r"^StartTime: '2026-11-28T10:00:01Z' is in the future"):
        rules.check_started(now + timedelta(seconds=1), now, start_name="StartTime")
