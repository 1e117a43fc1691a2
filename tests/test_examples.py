"""Every app in examples/ synthesizes (once each, without bundling, with the feature flags of a new
``cdk init`` project), with no error, and does what its docstring says."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template
from support import feature_flags

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RESOURCE_TYPE = "Custom::MediaPackageHarvestJob"
RESOURCE_TYPE_V2 = "Custom::MediaPackageV2HarvestJob"
MEDIAPACKAGE = "mediapackage.amazonaws.com"


def synthesized(name: str) -> tuple[cdk.Stack, Template]:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    build: Callable[[cdk.App], cdk.Stack] = module.build
    stack = build(cdk.App(context={"aws:cdk:bundling-stacks": [], **feature_flags()}))
    return stack, Template.from_stack(stack)


def mediapackage_roles(template: Template) -> dict[str, Mapping[str, Any]]:
    trusted = {
        "AssumeRolePolicyDocument": {
            "Statement": [Match.object_like({"Principal": {"Service": MEDIAPACKAGE}})]
        }
    }
    return dict(template.find_resources("AWS::IAM::Role", {"Properties": Match.object_like(trusted)}))


def policy_actions(template: Template) -> set[str]:
    found: set[str] = set()
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            action = statement["Action"]
            found.update(action if isinstance(action, list) else [action])
    return found


def check_existing_bucket_and_role(template: Template) -> None:
    assert mediapackage_roles(template) == {}
    template.resource_count_is("AWS::S3::Bucket", 0)
    template.has_resource_properties(
        RESOURCE_TYPE,
        {
            "S3Destination": {
                "BucketName": "my-existing-clips-bucket",
                "RoleArn": "arn:aws:iam::123456789012:role/mediapackage-harvest",
                "ManifestKey": "clips/final/index.m3u8",
            }
        },
    )


def check_no_wait(template: Template) -> None:
    template.has_resource_properties(RESOURCE_TYPE, {"WaitForCompletion": False})
    # Nothing polls: the one permission is the stack's notification rule's (the record of every
    # notification), beside the job's own rule from on_state_change.
    template.resource_count_is("AWS::Lambda::Permission", 1)
    assert "events:PutRule" not in json.dumps(template.to_json())
    (topic,) = template.find_resources("AWS::SNS::Topic")
    (rule,) = [
        rule
        for rule in template.find_resources("AWS::Events::Rule").values()
        if "detail" in rule["Properties"]["EventPattern"]
    ]
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.mediapackage"],
        "detail-type": ["MediaPackage HarvestJob Notification"],
        "detail": {
            "harvest_job": {"id": [{"prefix": "NoWait-LongClip9D82A5C3-"}], "status": ["SUCCEEDED", "FAILED"]}
        },
    }
    assert [target["Arn"] for target in rule["Properties"]["Targets"]] == [{"Ref": topic}]


def check_kms_bucket(template: Template) -> None:
    assert len(mediapackage_roles(template)) == 1
    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= policy_actions(template)


def check_many_clips(template: Template) -> None:
    jobs = template.find_resources(RESOURCE_TYPE)
    keys = [job["Properties"]["S3Destination"]["ManifestKey"] for job in jobs.values()]
    assert len(keys) == len(set(keys)) == 4
    template.resource_count_is("AWS::Lambda::Function", 1)
    assert len(mediapackage_roles(template)) == 1


def check_vod_asset(template: Template) -> None:
    (asset_id, asset), *_ = template.find_resources("AWS::MediaPackage::Asset").items()
    (job_id,) = template.find_resources(RESOURCE_TYPE)
    assert job_id in asset["DependsOn"], "the asset is created once the harvest has succeeded"
    assert asset["Properties"]["SourceArn"]["Fn::Join"][1][-1] == "/clips/final/index.m3u8"
    assert len(mediapackage_roles(template)) == 2, f"{asset_id}: a reading role besides the writing one"


def check_v2_job(template: Template) -> None:
    template.has_resource_properties(
        RESOURCE_TYPE_V2,
        {
            "ChannelGroupName": "live",
            "ChannelName": "main",
            "OriginEndpointName": "hls",
            "HlsManifestNames": ["index"],
            "S3Destination": Match.object_like({"DestinationPath": "clips/final/"}),
            "WaitForCompletion": True,
        },
    )
    assert mediapackage_roles(template) == {}, "v2 takes no role"
    (policy,) = template.find_resources("AWS::S3::BucketPolicy").values()
    principals = [
        statement.get("Principal") for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert {"Service": "mediapackagev2.amazonaws.com"} in principals


CHECKS: dict[str, Callable[[Template], None]] = {
    "existing_bucket_and_role": check_existing_bucket_and_role,
    "no_wait": check_no_wait,
    "kms_bucket": check_kms_bucket,
    "many_clips": check_many_clips,
    "vod_asset": check_vod_asset,
    "v2_job": check_v2_job,
}


def test_every_example_is_checked_and_listed() -> None:
    assert {path.stem for path in EXAMPLES.glob("*.py")} == set(CHECKS)
    listing = (EXAMPLES / "README.md").read_text()
    for name in CHECKS:
        assert f"[`{name}.py`]({name}.py)" in listing


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_example_synthesizes_and_does_what_it_says(name: str) -> None:
    stack, template = synthesized(name)
    assert template.find_resources(RESOURCE_TYPE) or template.find_resources(RESOURCE_TYPE_V2)
    Annotations.from_stack(stack).has_no_error("*", Match.any_value())
    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())
    CHECKS[name](template)
