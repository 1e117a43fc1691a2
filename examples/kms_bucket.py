"""A bucket encrypted with a customer managed KMS key (SSE-KMS).

Nothing to add: the role the construct creates for the bucket may also use the bucket's key
(``kms:GenerateDataKey`` and ``kms:Decrypt``). With a role of your own, grant it the same.

    npx cdk synth --app "python examples/kms_bucket.py"
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from cdk_mediapackage_harvest import HarvestJob


def build(app: cdk.App) -> cdk.Stack:
    stack = cdk.Stack(app, "KmsBucket")
    key = kms.Key(stack, "ClipsKey", enable_key_rotation=True)
    bucket = s3.Bucket(
        stack, "Clips", encryption=s3.BucketEncryption.KMS, encryption_key=key, enforce_ssl=True
    )
    job = HarvestJob(
        stack,
        "Clip",
        origin_endpoint_id="my-hls-endpoint",
        start_time="2026-11-28T10:00:00Z",
        end_time="2026-11-28T10:30:00Z",
        destination_bucket=bucket,
        manifest_key="clips/final/index.m3u8",
    )
    cdk.CfnOutput(stack, "ManifestUri", value=job.manifest_uri)
    return stack


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
