"""A MediaPackage v2 harvest job (``HarvestJobV2``) writing to a bucket of the stack.

MediaPackage v2's request names no role: it writes as ``mediapackagev2.amazonaws.com``, so the
construct adds to this bucket's policy a statement that lets it write under ``destination_path``,
for this account and this origin endpoint only. Before deploying, the origin endpoint's own policy
must let ``mediapackagev2.amazonaws.com`` ``mediapackagev2:HarvestObject`` and ``GetObject`` (the
endpoint is not the stack's to edit), and its startover window must cover the window.

    npx cdk synth --app "python examples/v2_job.py"
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from cdk_mediapackage_harvest import HarvestJobV2


def build(app: cdk.App) -> cdk.Stack:
    stack = cdk.Stack(app, "V2Job")
    bucket = s3.Bucket(stack, "Clips")
    job = HarvestJobV2(
        stack,
        "Clip",
        channel_group_name="live",
        channel_name="main",
        origin_endpoint_name="hls",
        start_time="2026-11-28T10:00:00Z",
        end_time="2026-11-28T10:30:00Z",
        destination_bucket=bucket,
        destination_path="clips/final/",
        hls_manifest_names=["index"],
    )
    cdk.CfnOutput(stack, "HarvestJobArn", value=job.harvest_job_arn)
    cdk.CfnOutput(stack, "HarvestJobStatus", value=job.harvest_job_status)
    cdk.CfnOutput(stack, "DestinationUri", value=job.destination_uri)
    return stack


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
