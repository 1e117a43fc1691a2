#!/usr/bin/env python3
"""The example app: one stack, HarvestStack, with one harvest job and its outputs.

Every setting is a context value (defaults in cdk.json), overridable with ``-c key=value``:

origin_endpoint_id, start_time, end_time, manifest_key
    The harvest job's properties (times in ISO-8601 with a time zone).
bucket_name
    An existing bucket to write to; empty: the stack creates one.
role_arn
    An existing role for MediaPackage to assume; empty: the construct creates one.
harvest_job_id
    A fixed harvest job Id; empty: one is generated per deployment.

The second stack, HarvestV2Stack, holds one MediaPackage v2 harvest job (HarvestJobV2), of the same
window (start_time, end_time), writing to a bucket of its own:

channel_group_name, channel_name, origin_endpoint_name, destination_path
    The v2 job's properties.
hls_manifest_names, dash_manifest_names, low_latency_hls_manifest_names
    The origin endpoint's manifests to harvest, comma-separated (at least one name in all).
harvest_job_name, description
    A fixed v2 harvest job name (empty: one is generated per deployment) and a description.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_mediapackage_harvest import HarvestJob, HarvestJobV2
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

REQUIRED = ("origin_endpoint_id", "start_time", "end_time", "manifest_key")
OPTIONAL = ("bucket_name", "role_arn", "harvest_job_id")
REQUIRED_V2 = ("channel_group_name", "channel_name", "origin_endpoint_name", "destination_path")
OPTIONAL_V2 = (
    "hls_manifest_names",
    "dash_manifest_names",
    "low_latency_hls_manifest_names",
    "harvest_job_name",
    "description",
)
MANIFEST_KEYS_V2 = OPTIONAL_V2[:3]
T = TypeVar("T")


class HarvestStack(cdk.Stack):
    """A harvest job, the bucket it writes to (unless an existing one is named), and outputs."""

    def __init__(self, scope: Construct, id: str, *, settings: dict[str, str], **kwargs: object) -> None:
        super().__init__(scope, id, **kwargs)  # type: ignore[arg-type]
        if settings["bucket_name"]:
            bucket = _imported(
                "bucket_name", lambda: s3.Bucket.from_bucket_name(self, "Bucket", settings["bucket_name"])
            )
        else:
            bucket = clip_bucket(self)
        role = (
            _imported(
                "role_arn",
                lambda: iam.Role.from_role_arn(self, "DestinationRole", settings["role_arn"], mutable=False),
            )
            if settings["role_arn"]
            else None
        )
        job = HarvestJob(
            self,
            "HarvestJob",
            origin_endpoint_id=settings["origin_endpoint_id"],
            start_time=settings["start_time"],
            end_time=settings["end_time"],
            destination_bucket=bucket,
            manifest_key=settings["manifest_key"],
            destination_role=role,
            harvest_job_id=settings["harvest_job_id"] or None,
        )
        cdk.CfnOutput(self, "HarvestJobArn", value=job.harvest_job_arn)
        cdk.CfnOutput(self, "HarvestJobStatus", value=job.harvest_job_status)
        cdk.CfnOutput(self, "HarvestJobId", value=job.harvest_job_id)
        cdk.CfnOutput(self, "ManifestUri", value=job.manifest_uri)


def clip_bucket(stack: cdk.Stack) -> s3.Bucket:
    """The clip bucket a stack creates, with its access-log bucket: both private, encrypted, TLS only,
    kept when the stack is deleted; access logs delivered under a bucket policy, not an ACL."""
    stack.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
    private: dict[str, Any] = {
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "encryption": s3.BucketEncryption.S3_MANAGED,
        "enforce_ssl": True,
        "removal_policy": cdk.RemovalPolicy.RETAIN,
    }
    access_logs = s3.Bucket(
        stack, "AccessLogs", object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED, **private
    )
    cdk.Validations.of(access_logs).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-S1",
            reason="The access-log bucket itself: logging it would need yet another bucket",
        )
    )
    return s3.Bucket(
        stack,
        "Bucket",
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix="clip-bucket/",
        **private,
    )


class HarvestV2Stack(cdk.Stack):
    """A MediaPackage v2 harvest job, the bucket it writes to (whose policy lets MediaPackage v2
    write there), and outputs."""

    def __init__(self, scope: Construct, id: str, *, settings: dict[str, str], **kwargs: object) -> None:
        super().__init__(scope, id, **kwargs)  # type: ignore[arg-type]
        bucket = clip_bucket(self)
        manifests = {
            key: [name.strip() for name in settings[key].split(",") if name.strip()]
            for key in MANIFEST_KEYS_V2
        }
        job = HarvestJobV2(
            self,
            "HarvestJob",
            channel_group_name=settings["channel_group_name"],
            channel_name=settings["channel_name"],
            origin_endpoint_name=settings["origin_endpoint_name"],
            start_time=settings["start_time"],
            end_time=settings["end_time"],
            destination_bucket=bucket,
            destination_path=settings["destination_path"],
            hls_manifest_names=manifests["hls_manifest_names"],
            dash_manifest_names=manifests["dash_manifest_names"],
            low_latency_hls_manifest_names=manifests["low_latency_hls_manifest_names"],
            harvest_job_name=settings["harvest_job_name"] or None,
            description=settings["description"] or None,
        )
        cdk.CfnOutput(self, "HarvestJobArn", value=job.harvest_job_arn)
        cdk.CfnOutput(self, "HarvestJobStatus", value=job.harvest_job_status)
        cdk.CfnOutput(self, "HarvestJobName", value=job.harvest_job_name)
        cdk.CfnOutput(self, "DestinationUri", value=job.destination_uri)


def _imported(key: str, make: Callable[[], T]) -> T:
    """Import an existing resource; the CDK's own check of the value becomes a ValueError naming ``key``."""
    try:
        return make()
    except RuntimeError as error:  # jsii reports the CDK's validation errors as RuntimeError
        lines = str(error).strip().splitlines()
        raise ValueError(f"{key}: {lines[0] if lines else type(error).__name__}") from None


def read_settings(
    app: cdk.App, required: tuple[str, ...] = REQUIRED, optional: tuple[str, ...] = OPTIONAL
) -> dict[str, str]:
    """The context values, as strings; a missing required key is an error naming it."""
    settings: dict[str, str] = {}
    for key in required + optional:
        value = app.node.try_get_context(key)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise ValueError(f"context {key!r}: {value!r} is a {type(value).__name__}; expected a string")
        if key in required and not value.strip():
            raise ValueError(f"context {key!r} is missing; set it in cdk.json or with -c {key}=...")
        settings[key] = value.strip()
    return settings


def build(app: cdk.App) -> HarvestStack:
    """The example stacks, from the app's context: HarvestStack (returned) and HarvestV2Stack;
    ValueError names the bad context key.

    cdk-nag's AWS Solutions checks run on every synthesis of the app: a finding that is not
    acknowledged, with its reason, where it arises fails the synthesis.
    """
    settings = read_settings(app)
    settings_v2 = read_settings(app, (*REQUIRED_V2, "start_time", "end_time"), OPTIONAL_V2)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        stack = HarvestStack(
            app,
            "HarvestStack",
            settings=settings,
            description="cdk-mediapackage-harvest example: a MediaPackage harvest job (live-to-VOD clip)",
        )
        HarvestV2Stack(
            app,
            "HarvestV2Stack",
            settings=settings_v2,
            description="cdk-mediapackage-harvest example: a MediaPackage v2 harvest job (live-to-VOD clip)",
        )
    except ValueError as error:
        # The construct names its path and the prop; the app's context keys are named like the props.
        raise ValueError(f"{error} (set by the context key of the prop's name)") from None
    return stack


def main() -> None:
    app = cdk.App()
    try:
        build(app)
    except ValueError as error:
        sys.exit(f"error: {error}")
    app.synth()


if __name__ == "__main__":
    main()
