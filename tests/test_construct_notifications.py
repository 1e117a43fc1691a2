"""``HarvestJob.on_state_change``: the CDK-conventional rule for a job's MediaPackage notifications, and
the pattern it matches (an Id known at synth, or the prefix of the Id the handler generates)."""

from __future__ import annotations

import json
from typing import Any, cast

import aws_cdk as cdk
import cdk_mediapackage_harvest_rules as rules
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from cdk_mediapackage_harvest import HarvestJob

from local_aws import eventbridge
from local_aws.cloudformation import stack_id

PROPS: dict[str, Any] = {
    "origin_endpoint_id": "my-hls-endpoint",
    "start_time": "2025-03-01T10:00:00Z",
    "end_time": "2025-03-01T10:30:00Z",
    "manifest_key": "clips/index.m3u8",
    "wait_for_completion": False,
}
SOURCE = {"source": ["aws.mediapackage"], "detail-type": ["MediaPackage HarvestJob Notification"]}


def new_stack(name: str = "ClipStack") -> tuple[cdk.Stack, s3.Bucket]:
    stack = cdk.Stack(cdk.App(context={"aws:cdk:bundling-stacks": []}), name)
    return stack, s3.Bucket(stack, "Bucket")


def rule_of(stack: cdk.Stack, rule: events.Rule) -> dict[str, Any]:
    logical_id = stack.get_logical_id(cast(cdk.CfnElement, rule.node.default_child))
    resource = Template.from_stack(stack).to_json()["Resources"][logical_id]
    properties: dict[str, Any] = resource["Properties"]
    return properties


def notice(job_id: str, status: str, endpoint: str = "my-hls-endpoint") -> dict[str, Any]:
    return {
        "source": "aws.mediapackage",
        "detail-type": "MediaPackage HarvestJob Notification",
        "detail": {"harvest_job": {"id": job_id, "status": status, "origin_endpoint_id": endpoint}},
    }


def test_a_generated_id_is_matched_by_its_prefix_and_reaches_the_target() -> None:
    stack, bucket = new_stack()
    job = HarvestJob(stack, "Clip", destination_bucket=bucket, **PROPS)
    topic = sns.Topic(stack, "Outcomes")
    rule = job.on_state_change("Outcome", target=targets.SnsTopic(topic), description="Where the clip went")
    assert isinstance(rule, events.Rule)
    assert rule.node.scope is job
    properties = rule_of(stack, rule)
    logical_id = stack.get_logical_id(cast(cdk.CfnElement, job.node.default_child))
    assert properties["EventPattern"] == {
        **SOURCE,
        "detail": {"harvest_job": {"id": [{"prefix": f"ClipStack-{logical_id}-"}]}},
    }
    assert properties["Description"] == "Where the clip went"
    topic_id = stack.get_logical_id(cast(cdk.CfnElement, topic.node.default_child))
    assert [target["Arn"] for target in properties["Targets"]] == [{"Ref": topic_id}]
    # The Id the handler generates for any request of this resource matches; another resource's does not.
    pattern = properties["EventPattern"]
    generated = rules.generated_harvest_job_id(stack_id("ClipStack"), logical_id, "a-request")
    assert eventbridge.matches(pattern, notice(generated, "FAILED"))
    other = rules.generated_harvest_job_id(stack_id("ClipStack"), "Clip2ABCDEF12", "a-request")
    assert not eventbridge.matches(pattern, notice(other, "FAILED"))


def test_a_fixed_id_is_matched_exactly_and_a_given_pattern_is_merged() -> None:
    stack, bucket = new_stack()
    job = HarvestJob(stack, "Clip", destination_bucket=bucket, harvest_job_id="clip-1", **PROPS)
    rule = job.on_state_change(
        "Failed",
        rule_name="clip-1-failed",
        event_pattern=events.EventPattern(detail={"harvest_job": {"status": ["FAILED"]}}),
    )
    properties = rule_of(stack, rule)
    assert properties["Name"] == "clip-1-failed"
    assert properties["EventPattern"] == {
        **SOURCE,
        "detail": {"harvest_job": {"id": ["clip-1"], "status": ["FAILED"]}},
    }
    assert eventbridge.matches(properties["EventPattern"], notice("clip-1", "FAILED"))
    assert not eventbridge.matches(properties["EventPattern"], notice("clip-1", "SUCCEEDED"))
    assert "Targets" not in properties


def test_a_token_id_falls_back_to_the_origin_endpoint() -> None:
    stack, bucket = new_stack()
    given = cdk.CfnParameter(stack, "JobId").value_as_string
    job = HarvestJob(stack, "Clip", destination_bucket=bucket, harvest_job_id=given, **PROPS)
    assert job.notification_pattern() == {
        **SOURCE,
        "detail": {"harvest_job": {"origin_endpoint_id": ["my-hls-endpoint"]}},
    }


def test_a_job_that_does_not_wait_still_has_its_notifications_recorded() -> None:
    """The stack's rule comes with its first HarvestJob, waiting or not (the record of every
    notification); the poll rules' permissions only with a job that waits."""
    stack, bucket = new_stack()
    HarvestJob(stack, "Clip", destination_bucket=bucket, **PROPS)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Events::Rule", 1)
    template.resource_count_is("AWS::Lambda::Permission", 1)
    assert "events:PutRule" not in json.dumps(template.to_json())
