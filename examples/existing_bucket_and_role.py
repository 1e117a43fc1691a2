"""An existing bucket and an existing role: the stack creates only the harvest job (and its handler).

The role must trust ``mediapackage.amazonaws.com`` and allow ``s3:PutObject``,
``s3:GetBucketLocation`` and ``s3:ListBucket`` on the bucket (and the bucket key's
``kms:GenerateDataKey``, if it is SSE-KMS). ``mutable=False``: the construct adds nothing to a role it
did not create; its handler may pass this role to MediaPackage only.

    npx cdk synth --app "python examples/existing_bucket_and_role.py"
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_mediapackage_harvest import HarvestJob


def build(app: cdk.App) -> cdk.Stack:
    stack = cdk.Stack(app, "ExistingBucketAndRole")
    bucket = s3.Bucket.from_bucket_name(stack, "Clips", "my-existing-clips-bucket")
    role = iam.Role.from_role_arn(
        stack, "HarvestRole", "arn:aws:iam::123456789012:role/mediapackage-harvest", mutable=False
    )
    job = HarvestJob(
        stack,
        "Clip",
        origin_endpoint_id="my-hls-endpoint",
        start_time="2026-11-28T10:00:00Z",
        end_time="2026-11-28T10:30:00Z",
        destination_bucket=bucket,
        destination_role=role,
        manifest_key="clips/final/index.m3u8",
    )
    cdk.CfnOutput(stack, "ManifestUri", value=job.manifest_uri)
    return stack


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
