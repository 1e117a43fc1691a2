"""Many clips from a list, in one stack: one handler function and one role for all of them.

Each clip gets its own manifest key (two jobs writing the same key to the same bucket overwrite each
other; the construct warns). MediaPackage runs 10 harvest jobs at a time per account and region by
default: the others wait for a free slot (about 6.8 minutes at most), so a long list of long
harvests is better deployed in parts, or with a higher quota.

    npx cdk synth --app "python examples/many_clips.py"
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from cdk_mediapackage_harvest import HarvestJob

#: (name, start, end): in practice read from a file or a parameter store.
CLIPS = [
    ("Kickoff", "2026-11-28T18:00:00Z", "2026-11-28T18:05:00Z"),
    ("FirstGoal", "2026-11-28T18:21:30Z", "2026-11-28T18:23:00Z"),
    ("HalfTime", "2026-11-28T18:45:00Z", "2026-11-28T19:00:00Z"),
    ("Final", "2026-11-28T19:45:00Z", "2026-11-28T19:52:00Z"),
]


def build(app: cdk.App) -> cdk.Stack:
    stack = cdk.Stack(app, "ManyClips")
    bucket = s3.Bucket(stack, "Clips")
    for name, start, end in CLIPS:
        job = HarvestJob(
            stack,
            name,
            origin_endpoint_id="my-hls-endpoint",
            start_time=start,
            end_time=end,
            destination_bucket=bucket,
            manifest_key=f"clips/{name.lower()}/index.m3u8",
        )
        cdk.CfnOutput(stack, f"{name}Manifest", value=job.manifest_uri)
    return stack


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
