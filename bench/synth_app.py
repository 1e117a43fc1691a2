"""One CDK app with N harvest jobs, synthesized into an output folder: ours or the peer.

Run as ``python bench/synth_app.py KIND JOBS OUTDIR [--count-calls]``; ``bench/run.py`` times it
as a fresh subprocess, so every synthesis pays the same Python and jsii start-up. It prints, as one
JSON line, the seconds it spent importing the CDK (with jsii's start-up), building the constructs and
synthesizing. With ``--count-calls`` the line also holds ``calls``: the round trips from Python to
the jsii kernel (node) while building and synthesizing, by kind (``create``, ``invoke``,
``sinvoke``, ``get``, ``sget``, ``set``, ``sset``, ``complete`` for answered callbacks, ...).
Counting adds a Python wrapper to every call, so a counted run is not timed.

Layout (the same for every kind): one stack, one S3 bucket, one destination role that lets
MediaPackage write to the bucket, and JOBS harvest jobs of the same 30-minute window, each with
its own manifest key. Kinds:

- ``ours``: ``HarvestJob`` with its defaults (the bucket's role is created by the construct;
  the handler asset is bundled locally, as in any real synth).
- ``peer``: what a user writes with ``aws_cdk.custom_resources.AwsCustomResource``: service
  ``MediaPackage``, action ``createHarvestJob`` with the same parameters, the physical id from the
  response's ``Id``, the policy from the SDK calls, and the ``iam:PassRole`` statement that
  ``createHarvestJob`` needs, added to the custom resources' shared role.
- ``peer-statements``: the same, with ``iam:PassRole`` written into each custom resource's own
  policy (``AwsCustomResourcePolicy.from_statements``), the other way a user adds it.
- ``ours-v2``: ``HarvestJobV2`` with its defaults, each job with its own destination path, all from
  one origin endpoint (no role: the construct adds each job's statement to the bucket's policy).
  No peer exists for MediaPackage v2 harvest jobs (no L1, no ``AwsCustomResource`` call to compare
  with a waiting, idempotent job).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from typing import Any

STARTED = time.perf_counter()

import aws_cdk as cdk  # noqa: E402 (the clock starts before the CDK's import and jsii start-up)
import kernel_calls  # noqa: E402
from aws_cdk import aws_iam as iam  # noqa: E402
from aws_cdk import aws_s3 as s3  # noqa: E402

KINDS = ("ours", "peer", "peer-statements", "ours-v2")
STACK_NAME = "HarvestBench"
ORIGIN_ENDPOINT_ID = "live-hls-endpoint"
START_TIME = "2025-03-01T10:00:00Z"
END_TIME = "2025-03-01T10:30:00Z"
# What `cdk synth` and `cdk deploy` set by default, so the template is the one a user deploys:
# an `aws:cdk:path` entry on every resource, asset metadata, the CDKMetadata resource, bundling.
CLI_CONTEXT = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
}


def manifest_key(index: int) -> str:
    return f"clips/clip-{index}/index.m3u8"


def add_ours(stack: cdk.Stack, bucket: s3.Bucket, jobs: int) -> None:
    from cdk_mediapackage_harvest import HarvestJob

    for index in range(jobs):
        HarvestJob(
            stack,
            f"Clip{index}",
            origin_endpoint_id=ORIGIN_ENDPOINT_ID,
            start_time=START_TIME,
            end_time=END_TIME,
            destination_bucket=bucket,
            manifest_key=manifest_key(index),
        )


def add_ours_v2(stack: cdk.Stack, bucket: s3.Bucket, jobs: int) -> None:
    from cdk_mediapackage_harvest import HarvestJobV2

    for index in range(jobs):
        HarvestJobV2(
            stack,
            f"Clip{index}",
            channel_group_name="live",
            channel_name="main",
            origin_endpoint_name="hls",
            start_time=START_TIME,
            end_time=END_TIME,
            destination_bucket=bucket,
            destination_path=f"clips/clip-{index}/",
            hls_manifest_names=["index"],
        )


def add_peer(stack: cdk.Stack, bucket: s3.Bucket, jobs: int, *, pass_role_per_job: bool) -> None:
    from aws_cdk import custom_resources as cr

    # The same role and permissions that HarvestJob creates for a bucket.
    role = iam.Role(stack, "HarvestRole", assumed_by=iam.ServicePrincipal("mediapackage.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects("*")]))
    role.add_to_policy(
        iam.PolicyStatement(actions=["s3:GetBucketLocation", "s3:ListBucket"], resources=[bucket.bucket_arn])
    )
    pass_role = iam.PolicyStatement(actions=["iam:PassRole"], resources=[role.role_arn])
    for index in range(jobs):
        call = cr.AwsSdkCall(
            service="MediaPackage",
            action="createHarvestJob",
            parameters={
                "Id": f"clip-{index}",
                "OriginEndpointId": ORIGIN_ENDPOINT_ID,
                "StartTime": START_TIME,
                "EndTime": END_TIME,
                "S3Destination": {
                    "BucketName": bucket.bucket_name,
                    "ManifestKey": manifest_key(index),
                    "RoleArn": role.role_arn,
                },
            },
            physical_resource_id=cr.PhysicalResourceId.from_response("Id"),
        )
        if pass_role_per_job:
            policy = cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(actions=["mediapackage:CreateHarvestJob"], resources=["*"]),
                    pass_role,
                ]
            )
        else:
            policy = cr.AwsCustomResourcePolicy.from_sdk_calls(
                resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
            )
        job = cr.AwsCustomResource(stack, f"Clip{index}", on_create=call, policy=policy)
        if not pass_role_per_job:
            job.grant_principal.add_to_principal_policy(pass_role)


def synthesize(kind: str, jobs: int, outdir: str, calls: Counter[str] | None = None) -> dict[str, Any]:
    """Build and synthesize the app; the seconds spent in each phase, as this process saw them,
    and the kernel calls counted in ``calls`` (when given) while building and synthesizing."""
    imported = time.perf_counter()
    if calls is not None:
        calls.clear()
    app = cdk.App(outdir=outdir, context=CLI_CONTEXT)
    stack = cdk.Stack(app, STACK_NAME)
    bucket = s3.Bucket(stack, "Clips")
    if kind == "ours":
        add_ours(stack, bucket, jobs)
    elif kind == "ours-v2":
        add_ours_v2(stack, bucket, jobs)
    else:
        add_peer(stack, bucket, jobs, pass_role_per_job=kind == "peer-statements")
    built = time.perf_counter()
    app.synth()
    done = time.perf_counter()
    result: dict[str, Any] = {"import": imported - STARTED, "build": built - imported, "synth": done - built}
    if calls is not None:
        result["calls"] = dict(sorted(calls.items()))
    return result


def main(argv: list[str]) -> None:
    count = "--count-calls" in argv
    argv = [arg for arg in argv if arg != "--count-calls"]
    if len(argv) != 3 or argv[0] not in KINDS or not argv[1].isdigit():
        raise SystemExit(f"usage: synth_app.py {{{','.join(KINDS)}}} JOBS OUTDIR [--count-calls]")
    if not count:
        print(json.dumps(synthesize(argv[0], int(argv[1]), argv[2], None)))
        return
    with kernel_calls.counting() as calls:
        print(json.dumps(synthesize(argv[0], int(argv[1]), argv[2], calls)))


if __name__ == "__main__":
    main(sys.argv[1:])
