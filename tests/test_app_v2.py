"""The example app's second stack, HarvestV2Stack (app.py): its MediaPackage v2 job's outputs, the
context keys named like HarvestJobV2's props, and their errors. (The CLI synthesis of both stacks is in
test_app.py.)"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

REPO_ROOT = Path(__file__).resolve().parents[1]
RESOURCE_TYPE_V2 = "Custom::MediaPackageV2HarvestJob"
OUTPUTS_V2 = {"HarvestJobArn": "Arn", "HarvestJobStatus": "Status", "HarvestJobName": "HarvestJobName"}
#: cdk.json's context (what `cdk synth` uses), with a window that has passed.
CONTEXT = {
    **json.loads((REPO_ROOT / "cdk.json").read_text())["context"],
    "start_time": "2025-03-01T10:00:00Z",
    "end_time": "2025-03-01T10:30:00Z",
}


def load_build() -> Callable[[cdk.App], cdk.Stack]:
    spec = importlib.util.spec_from_file_location("example_app", REPO_ROOT / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    build: Callable[[cdk.App], cdk.Stack] = module.build
    return build


build = load_build()


def synth_v2(**context: object) -> Template:
    app = cdk.App(context={"aws:cdk:bundling-stacks": [], **CONTEXT, **context})
    build(app)
    stack = app.node.find_child("HarvestV2Stack")
    assert isinstance(stack, cdk.Stack)
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def default_v2() -> Template:
    return synth_v2()


@pytest.mark.parametrize(("output", "attribute"), OUTPUTS_V2.items())
def test_v2_outputs_reference_the_custom_resource(default_v2: Template, output: str, attribute: str) -> None:
    (logical_id,) = default_v2.find_resources(RESOURCE_TYPE_V2)
    default_v2.has_output(output, {"Value": {"Fn::GetAtt": [logical_id, attribute]}})
    default_v2.has_output(
        "DestinationUri",
        {
            "Value": {
                "Fn::Join": [
                    "",
                    ["s3://", {"Ref": Match.string_like_regexp("^Bucket")}, "/clips/example-v2/"],
                ]
            }
        },
    )


def test_v2_context_values_become_the_harvest_properties(default_v2: Template) -> None:
    default_v2.has_resource_properties(
        RESOURCE_TYPE_V2,
        {
            "ChannelGroupName": "example-group",
            "ChannelName": "example-channel",
            "OriginEndpointName": "example-hls",
            "StartTime": "2025-03-01T10:00:00Z",
            "EndTime": "2025-03-01T10:30:00Z",
            "S3Destination": {"DestinationPath": "clips/example-v2/"},
            "HlsManifestNames": ["index"],
            "DashManifestNames": Match.absent(),
            "HarvestJobName": Match.absent(),
            "Description": Match.absent(),
        },
    )
    # Its own created bucket, whose policy lets MediaPackage v2 write; no role, no PassRole.
    default_v2.resource_count_is("AWS::S3::Bucket", 2)
    default_v2.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "mediapackagev2.amazonaws.com"}})]
                )
            }
        },
    )
    roles = default_v2.find_resources("AWS::IAM::Role")
    assert len(roles) == 1  # the handler's: MediaPackage v2 writes with no role
    assert "iam:PassRole" not in json.dumps(default_v2.to_json())


def test_v2_manifest_names_are_comma_separated_and_the_optional_keys_are_used() -> None:
    template = synth_v2(
        hls_manifest_names=" a, b ,",
        dash_manifest_names="d",
        low_latency_hls_manifest_names="",
        harvest_job_name="clip-v2",
        description="the final cut",
    )
    template.has_resource_properties(
        RESOURCE_TYPE_V2,
        {
            "HlsManifestNames": ["a", "b"],
            "DashManifestNames": ["d"],
            "LowLatencyHlsManifestNames": Match.absent(),
            "HarvestJobName": "clip-v2",
            "Description": "the final cut",
        },
    )


@pytest.mark.parametrize(
    "key", ["channel_group_name", "channel_name", "origin_endpoint_name", "destination_path"]
)
def test_missing_required_v2_context_names_the_key(key: str) -> None:
    context: dict[str, object] = {**CONTEXT, "aws:cdk:bundling-stacks": []}
    del context[key]
    with pytest.raises(ValueError, match=f"context '{key}' is missing"):
        build(cdk.App(context=context))


@pytest.mark.parametrize(
    ("context", "key", "value"),
    [
        pytest.param({"channel_name": "main channel"}, "channel_name", "main channel", id="name"),
        pytest.param({"destination_path": "my clips/"}, "destination_path", "my clips/", id="path"),
        pytest.param({"hls_manifest_names": ""}, "hls_manifest_names", "all empty", id="no-manifest"),
        pytest.param({"harvest_job_name": "clip 1"}, "harvest_job_name", "clip 1", id="job-name"),
    ],
)
def test_bad_v2_context_raises_value_error_naming_the_key(
    context: dict[str, object], key: str, value: str
) -> None:
    with pytest.raises(ValueError, match="context") as caught:
        synth_v2(**context)
    message = str(caught.value)
    assert "HarvestV2Stack/HarvestJob" in message
    assert key in message
    assert value in message
