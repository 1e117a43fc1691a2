"""A job the deployment does not wait for: the stack is done as soon as MediaPackage accepted the job.

For long harvests (a deployment waits at most 57 minutes) or when the clip is not needed by the rest
of the stack. ``harvest_job_status`` is then ``IN_PROGRESS``; the outcome is MediaPackage's
``MediaPackage HarvestJob Notification`` event in EventBridge (source ``aws.mediapackage``).

    npx cdk synth --app "python examples/no_wait.py"
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from cdk_mediapackage_harvest import HarvestJob


def build(app: cdk.App) -> cdk.Stack:
    stack = cdk.Stack(app, "NoWait")
    job = HarvestJob(
        stack,
        "LongClip",
        origin_endpoint_id="my-hls-endpoint",
        start_time="2026-11-27T10:00:00Z",
        end_time="2026-11-28T08:00:00Z",
        destination_bucket=s3.Bucket(stack, "Clips"),
        manifest_key="clips/long/index.m3u8",
        wait_for_completion=False,
    )
    cdk.CfnOutput(stack, "HarvestJobId", value=job.harvest_job_id)
    cdk.CfnOutput(stack, "HarvestJobStatus", value=job.harvest_job_status)
    return stack


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
