"""The HarvestJob construct's contract with users beyond its template: the exports, errors that name
the construct's path, and what it costs the CDK per job (counted jsii round trips, not time)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
import cdk_mediapackage_harvest
import cdk_mediapackage_harvest_contract as contract
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cdk_mediapackage_harvest import (
    DESTINATION_ROLE_ID,
    PROVIDER_ID,
    RESOURCE_TYPE,
    HarvestJob,
    HarvestRuleError,
)
from cdk_mediapackage_harvest._synth import is_unresolved
from constructs import Construct
from kernel_calls import counting

NO_BUNDLING: dict[str, list[str]] = {"aws:cdk:bundling-stacks": []}
PROPS: dict[str, Any] = {
    "origin_endpoint_id": "my-hls-endpoint",
    "start_time": "2025-03-01T10:00:00Z",
    "end_time": "2025-03-01T10:30:00Z",
}
#: Round trips to node a job may cost once its stack has a provider and its bucket a role: the
#: construct and its resource (AwsCustomResource costs about 10).
MAX_CALLS_PER_JOB = 3


def new_stack(name: str = "Stack") -> tuple[cdk.Stack, s3.Bucket]:
    stack = cdk.Stack(cdk.App(context=NO_BUNDLING), name)
    return stack, s3.Bucket(stack, "Bucket")


def test_the_public_contract_is_exported() -> None:
    assert RESOURCE_TYPE == contract.RESOURCE_TYPE == "Custom::MediaPackageHarvestJob"
    assert PROVIDER_ID == contract.PROVIDER_ID == "MediaPackageHarvestJobProvider"
    assert DESTINATION_ROLE_ID == contract.DESTINATION_ROLE_ID == "MediaPackageHarvestRole"
    assert issubclass(HarvestRuleError, ValueError)
    assert set(cdk_mediapackage_harvest.__all__) == {
        "DESTINATION_ROLE_ID",
        "PROVIDER_ID",
        "RESOURCE_TYPE",
        "RESOURCE_TYPE_V2",
        "HarvestJob",
        "HarvestJobV2",
        "HarvestRuleError",
    }
    stack, bucket = new_stack()
    job = HarvestJob(stack, "Clip", destination_bucket=bucket, manifest_key="a/index.m3u8", **PROPS)
    assert stack.node.find_child(PROVIDER_ID)
    assert bucket.node.find_child(DESTINATION_ROLE_ID) is job.destination_role
    assert isinstance(job.node.default_child, cdk.CfnResource)
    assert Template.from_stack(stack).find_resources(RESOURCE_TYPE)


def test_errors_start_with_the_constructs_path_and_keep_their_class() -> None:
    stack, bucket = new_stack("HarvestStack")
    group = Construct(stack, "Clips")
    with pytest.raises(HarvestRuleError) as caught:
        HarvestJob(
            group,
            "Clip3",
            destination_bucket=bucket,
            manifest_key="a/index.m3u8",
            **{**PROPS, "end_time": "2025-03-01T09:00:00Z"},
        )
    assert type(caught.value) is HarvestRuleError
    assert str(caught.value).startswith(
        "HarvestStack/Clips/Clip3: end_time: '2025-03-01T09:00:00Z' is not after"
    )
    with pytest.raises(TypeError, match=r"^HarvestStack/Clip4: destination_bucket: 'clips' is a str"):
        HarvestJob(stack, "Clip4", destination_bucket="clips", manifest_key="a/index.m3u8", **PROPS)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^HarvestStack/Clip5: completion_timeout: 2 hours"):
        HarvestJob(
            stack,
            "Clip5",
            destination_bucket=bucket,
            manifest_key="a/index.m3u8",
            completion_timeout=cdk.Duration.hours(2),
            **PROPS,
        )


def test_an_invalid_job_creates_no_resources() -> None:
    stack, bucket = new_stack()
    with pytest.raises(ValueError, match="Stack/Clip: manifest_key"):
        HarvestJob(stack, "Clip", destination_bucket=bucket, manifest_key="/a/index.m3u8", **PROPS)
    assert bucket.node.try_find_child(DESTINATION_ROLE_ID) is None
    assert stack.node.try_find_child(PROVIDER_ID) is None
    assert stack.node.find_child("Clip").node.children == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("clips/index.m3u8", False, id="plain"),
        pytest.param("", False, id="empty"),
        pytest.param(cdk.Aws.REGION, True, id="pseudo-parameter"),
        pytest.param(f"clips/{cdk.Aws.STACK_NAME}/index.m3u8", True, id="inside-a-string"),
        pytest.param(None, False, id="none"),
        pytest.param(12, False, id="number"),
        pytest.param(cdk.Token.as_number(cdk.Aws.NO_VALUE), True, id="number-token"),
    ],
)
def test_tokens_are_recognised_as_the_cdk_does(value: object, expected: bool) -> None:
    assert is_unresolved(value) is expected
    assert cdk.Token.is_unresolved(value) is expected


@pytest.fixture
def kernel_calls() -> Iterator[Counter[str]]:
    """Every request to the jsii kernel (node), by kind, while the test runs."""
    with counting() as counts:
        yield counts


@pytest.mark.parametrize("in_a_construct", [False, True], ids=["in-the-stack", "in-a-construct"])
def test_each_further_job_costs_at_most_a_few_kernel_calls(
    kernel_calls: Counter[str], in_a_construct: bool
) -> None:
    stack, bucket = new_stack()
    scope = Construct(stack, "Clips") if in_a_construct else stack
    HarvestJob(scope, "First", destination_bucket=bucket, manifest_key="first/index.m3u8", **PROPS)
    kernel_calls.clear()
    jobs = 20
    for index in range(jobs):
        HarvestJob(
            scope, f"Clip{index}", destination_bucket=bucket, manifest_key=f"{index}/index.m3u8", **PROPS
        )
    assert sum(kernel_calls.values()) <= MAX_CALLS_PER_JOB * jobs, kernel_calls
    Template.from_stack(stack).resource_count_is(RESOURCE_TYPE, jobs + 1)


def test_every_app_and_stack_gets_its_own_provider_and_role() -> None:
    """The per-stack and per-bucket state kept in Python never crosses into another app."""
    stacks = []
    for _ in range(2):
        app = cdk.App(context=NO_BUNDLING)
        for name in ("One", "Two"):
            stack = cdk.Stack(app, name)
            bucket = s3.Bucket(stack, "Bucket")
            HarvestJob(stack, "Clip", destination_bucket=bucket, manifest_key="a/index.m3u8", **PROPS)
            HarvestJob(stack, "Again", destination_bucket=bucket, manifest_key="b/index.m3u8", **PROPS)
            assert stack.node.find_child(PROVIDER_ID).node.scope is stack
            stacks.append(stack)
    templates = [Template.from_stack(stack).to_json() for stack in stacks]
    for template in templates:
        types = [resource["Type"] for resource in template["Resources"].values()]
        assert types.count("AWS::Lambda::Function") == 1
        assert types.count(RESOURCE_TYPE) == 2
        assert types.count("AWS::IAM::Role") == 2  # the handler's and the bucket's
    assert templates[0] == templates[2]
    assert templates[1] == templates[3]
