"""The example app (app.py): its outputs, its context keys and its errors, in process and through the CLI."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Capture, Match, Template
from support import ACCOUNT_ID

REPO_ROOT = Path(__file__).resolve().parents[1]
CDK_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"
RESOURCE_TYPE = "Custom::MediaPackageHarvestJob"
MEDIAPACKAGE = "mediapackage.amazonaws.com"
OUTPUTS = {
    "HarvestJobArn": "Arn",
    "HarvestJobStatus": "Status",
    "HarvestJobId": "Id",
}
#: Known at synth: s3://, the bucket's name and the manifest key.
MANIFEST_URI = {
    "Fn::Join": ["", ["s3://", {"Ref": Match.string_like_regexp("^Bucket")}, "/clips/example/index.m3u8"]]
}
CONTEXT = {
    "origin_endpoint_id": "example-hls-endpoint",
    "start_time": "2025-03-01T10:00:00Z",
    "end_time": "2025-03-01T10:30:00Z",
    "manifest_key": "clips/example/index.m3u8",
    "bucket_name": "",
    "role_arn": "",
    "harvest_job_id": "",
    "channel_group_name": "example-group",
    "channel_name": "example-channel",
    "origin_endpoint_name": "example-hls",
    "destination_path": "clips/example-v2/",
    "hls_manifest_names": "index",
    "dash_manifest_names": "",
    "low_latency_hls_manifest_names": "",
    "harvest_job_name": "",
    "description": "",
}
RESOURCE_TYPE_V2 = "Custom::MediaPackageV2HarvestJob"
#: HarvestV2Stack's outputs (its other tests: test_app_v2.py).
OUTPUTS_V2 = {"HarvestJobArn": "Arn", "HarvestJobStatus": "Status", "HarvestJobName": "HarvestJobName"}
EXISTING_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/existing-harvest-role"


def load_build() -> Callable[[cdk.App], cdk.Stack]:
    spec = importlib.util.spec_from_file_location("example_app", REPO_ROOT / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    build: Callable[[cdk.App], cdk.Stack] = module.build
    return build


build = load_build()


def synth(**context: object) -> tuple[cdk.Stack, Template]:
    app = cdk.App(context={"aws:cdk:bundling-stacks": [], **CONTEXT, **context})
    stack = build(app)
    return stack, Template.from_stack(stack)


@pytest.fixture(scope="module")
def default_app() -> Template:
    return synth()[1]


def custom_resource_id(template: Template) -> str:
    found = template.find_resources(RESOURCE_TYPE)
    assert len(found) == 1
    return next(iter(found))


def mediapackage_roles(template: Template) -> Mapping[str, Any]:
    return template.find_resources(
        "AWS::IAM::Role",
        {
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": Match.array_with(
                        [Match.object_like({"Principal": {"Service": MEDIAPACKAGE}})]
                    )
                }
            }
        },
    )


@pytest.mark.parametrize(("output", "attribute"), OUTPUTS.items())
def test_outputs_reference_the_custom_resource(default_app: Template, output: str, attribute: str) -> None:
    default_app.has_output(output, {"Value": {"Fn::GetAtt": [custom_resource_id(default_app), attribute]}})


def test_manifest_uri_output_is_made_at_synth(default_app: Template) -> None:
    default_app.has_output("ManifestUri", {"Value": MANIFEST_URI})


def test_context_values_become_the_harvest_properties(default_app: Template) -> None:
    default_app.has_resource_properties(
        RESOURCE_TYPE,
        {
            "OriginEndpointId": "example-hls-endpoint",
            "StartTime": "2025-03-01T10:00:00Z",
            "EndTime": "2025-03-01T10:30:00Z",
            "S3Destination": {"ManifestKey": "clips/example/index.m3u8"},
            "Id": Match.absent(),
        },
    )


def test_without_bucket_name_a_bucket_and_a_role_are_created(default_app: Template) -> None:
    default_app.resource_count_is("AWS::S3::Bucket", 2)
    (bucket_id,) = default_app.find_resources(
        "AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": Match.any_value()}}
    )
    roles = mediapackage_roles(default_app)
    assert len(roles) == 1
    default_app.has_resource_properties(
        RESOURCE_TYPE,
        {
            "S3Destination": {
                "BucketName": {"Ref": bucket_id},
                "RoleArn": {"Fn::GetAtt": [next(iter(roles)), "Arn"]},
            }
        },
    )


def test_created_buckets_are_private_tls_only_and_access_is_logged(default_app: Template) -> None:
    buckets = default_app.find_resources("AWS::S3::Bucket")
    ((bucket_id, bucket),) = (
        (logical_id, resource)
        for logical_id, resource in buckets.items()
        if "LoggingConfiguration" in resource["Properties"]
    )
    logs_id = bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    assert set(buckets) == {bucket_id, logs_id}
    for logical_id, resource in buckets.items():
        assert resource["DeletionPolicy"] == "Retain"
        assert resource["Properties"]["PublicAccessBlockConfiguration"] == dict.fromkeys(
            ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True
        )
        default_app.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": {"Ref": logical_id},
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                            )
                        ]
                    )
                },
            },
        )
    # Log delivery under a bucket policy (only from the clip bucket, only this account); no ACLs.
    assert "AccessControl" not in buckets[logs_id]["Properties"]
    default_app.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": logs_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "logging.s3.amazonaws.com"},
                                "Condition": {
                                    "ArnLike": {"aws:SourceArn": {"Fn::GetAtt": [bucket_id, "Arn"]}},
                                    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                                },
                            }
                        )
                    ]
                )
            },
        },
    )


def test_existing_bucket_and_role_are_used() -> None:
    _, template = synth(bucket_name="existing-clips", role_arn=EXISTING_ROLE_ARN, harvest_job_id="clip-1")
    template.resource_count_is("AWS::S3::Bucket", 0)
    assert mediapackage_roles(template) == {}
    template.has_resource_properties(
        RESOURCE_TYPE,
        {
            "Id": "clip-1",
            "S3Destination": {
                "BucketName": "existing-clips",
                "ManifestKey": "clips/example/index.m3u8",
                "RoleArn": EXISTING_ROLE_ARN,
            },
        },
    )
    passed = Capture()
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": "iam:PassRole", "Resource": passed})]
                )
            }
        },
    )
    assert passed.as_string() == EXISTING_ROLE_ARN


def test_context_values_are_stripped() -> None:
    _, template = synth(origin_endpoint_id="  example-hls-endpoint \n", harvest_job_id="  ")
    template.has_resource_properties(
        RESOURCE_TYPE, {"OriginEndpointId": "example-hls-endpoint", "Id": Match.absent()}
    )


@pytest.mark.parametrize("key", ["origin_endpoint_id", "start_time", "end_time", "manifest_key"])
@pytest.mark.parametrize("value", [None, "", "   "], ids=["missing", "empty", "blank"])
def test_missing_required_context_names_the_key(key: str, value: str | None) -> None:
    context: dict[str, object] = {**CONTEXT, "aws:cdk:bundling-stacks": []}
    if value is None:
        del context[key]
    else:
        context[key] = value
    with pytest.raises(ValueError, match=f"context '{key}' is missing"):
        build(cdk.App(context=context))


@pytest.mark.parametrize(
    ("context", "key", "value"),
    [
        pytest.param({"start_time": "yesterday"}, "start_time", "yesterday", id="unparsable-time"),
        pytest.param(
            {"end_time": "2025-03-01T09:00:00Z"}, "end_time", "2025-03-01T09:00:00Z", id="end-first"
        ),
        pytest.param({"end_time": "2025-03-01T10:30:00"}, "end_time", "2025-03-01T10:30:00", id="no-zone"),
        pytest.param(
            {"origin_endpoint_id": "my endpoint"}, "origin_endpoint_id", "my endpoint", id="endpoint"
        ),
        pytest.param({"manifest_key": "/clips/x.m3u8"}, "manifest_key", "/clips/x.m3u8", id="leading-slash"),
        pytest.param({"harvest_job_id": "clip 1"}, "harvest_job_id", "clip 1", id="job-id"),
        pytest.param({"start_time": 1740823200}, "start_time", "1740823200", id="not-a-string"),
        pytest.param({"role_arn": "not-an-arn"}, "role_arn", "not-an-arn", id="role-arn"),
        pytest.param({"bucket_name": "Not_A_Bucket!"}, "bucket_name", "Not_A_Bucket!", id="bucket-name"),
    ],
)
def test_bad_context_raises_value_error_naming_the_key(
    context: dict[str, object], key: str, value: str
) -> None:
    with pytest.raises(ValueError, match="context") as caught:
        synth(**context)
    message = str(caught.value)
    assert key in message
    assert value in message
    assert "\n" not in message


def offline_env(**extra: str) -> dict[str, str]:
    """The test process's offline environment, quiet and without telemetry, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if key not in ("CDK_CONTEXT_JSON", "CDK_OUTDIR")}
    env.update(
        CDK_DISABLE_CLI_TELEMETRY="true",
        CDK_DISABLE_VERSION_CHECK="true",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    )
    env.update(extra)
    return env


def test_python_app_py_with_bad_context_prints_one_line_and_exits_1(tmp_path: Path) -> None:
    context = {**CONTEXT, "end_time": "half past ten"}
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=offline_env(CDK_CONTEXT_JSON=json.dumps(context), CDK_OUTDIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "end_time" in lines[0]
    assert "'half past ten'" in lines[0]
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cdk_synth_through_the_cli(tmp_path: Path) -> None:
    """`cdk synth` as a user runs it: cdk.json's app and context, the venv's python3, offline.

    Not skipped when the CLI is missing: `make test` installs it, so its absence is a failure."""
    venv_bin = REPO_ROOT / ".venv" / "bin"
    path = os.pathsep.join([str(venv_bin), os.environ.get("PATH", "")])
    assert CDK_CLI.exists(), f"the CDK CLI is not installed ({CDK_CLI}); run `make test`, which installs it"
    assert shutil.which("node", path=path) is not None, "node is not on PATH: the CDK CLI cannot run"
    outdir = tmp_path / "cdk.out"
    result = subprocess.run(
        [str(CDK_CLI), "synth", "--no-notices", "--quiet", "-o", str(outdir)],
        cwd=REPO_ROOT,
        env=offline_env(PATH=path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # cdk.json carries the feature flags `cdk init` writes for the pinned aws-cdk-lib.
    assert "feature flags are not configured" not in result.stdout + result.stderr
    template: dict[str, Any] = json.loads((outdir / "HarvestStack.template.json").read_text())
    resources = template["Resources"]
    custom = [logical_id for logical_id, r in resources.items() if r["Type"] == RESOURCE_TYPE]
    assert len(custom) == 1
    assert {name: template["Outputs"][name]["Value"] for name in OUTPUTS} == {
        name: {"Fn::GetAtt": [custom[0], attribute]} for name, attribute in OUTPUTS.items()
    }
    assert template["Outputs"]["ManifestUri"]["Value"]["Fn::Join"][1][2] == "/clips/example/index.m3u8"
    cdk_json = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    assert resources[custom[0]]["Properties"]["OriginEndpointId"] == cdk_json["origin_endpoint_id"]
    functions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 1
    asset = outdir / f"asset.{functions[0]['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    assert (asset / "mediapackage_harvest_handler" / "entry.py").is_file()
    v2: dict[str, Any] = json.loads((outdir / "HarvestV2Stack.template.json").read_text())
    (v2_job,) = [logical_id for logical_id, r in v2["Resources"].items() if r["Type"] == RESOURCE_TYPE_V2]
    assert {name: v2["Outputs"][name]["Value"] for name in OUTPUTS_V2} == {
        name: {"Fn::GetAtt": [v2_job, attribute]} for name, attribute in OUTPUTS_V2.items()
    }
    assert v2["Resources"][v2_job]["Properties"]["OriginEndpointName"] == cdk_json["origin_endpoint_name"]
    # The same handler asset as HarvestStack's.
    (v2_function,) = [r for r in v2["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert v2_function["Properties"]["Code"]["S3Key"] == functions[0]["Properties"]["Code"]["S3Key"]
