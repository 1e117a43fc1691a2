"""A job the deployment does not wait for, whose outcome goes to an SNS topic.

For long harvests (a deployment waits at most 57 minutes) or when the clip is not needed by the rest
of the stack. The stack is done as soon as MediaPackage accepted the job (``harvest_job_status`` is
then ``IN_PROGRESS``); ``job.on_state_change`` routes the job's ``MediaPackage HarvestJob
Notification`` events (source ``aws.mediapackage``) that say it ended, ``SUCCEEDED`` or ``FAILED``
(with MediaPackage's reason in ``detail.message``), to a topic. Subscribe to it as you like.

    npx cdk synth --app "python examples/no_wait.py"
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
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
    topic = sns.Topic(stack, "HarvestOutcome", enforce_ssl=True)
    job.on_state_change(
        "Ended",
        target=targets.SnsTopic(topic),
        event_pattern=events.EventPattern(detail={"harvest_job": {"status": ["SUCCEEDED", "FAILED"]}}),
    )
    cdk.CfnOutput(stack, "HarvestJobId", value=job.harvest_job_id)
    cdk.CfnOutput(stack, "HarvestJobStatus", value=job.harvest_job_status)
    cdk.CfnOutput(stack, "OutcomeTopicArn", value=topic.topic_arn)
    return stack


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
