"""Fifty harvest jobs in one stack, created at once against MediaPackage's quota of 10 concurrent jobs
and throttled requests: every resource is created, exactly once, within the function's timeout; and
when the quota stays full, the Create fails in time, naming the quota.

Each Create runs the synthesized handler asset in its own process, as Lambda runs concurrent events,
and answers through crhelper's HTTPS PUT to a ResponseURL on loopback. The figures are printed
(``pytest -s``, or ``-rP``).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules
import pytest
from aws_cdk import aws_s3 as s3
from cdk_mediapackage_harvest import HarvestJob
from support import RESOURCE_TYPE, LocalSetup, Stack, assert_answer, jobs, recent_window, resolved_properties

from local_aws import cloudformation, harvest_jobs
from local_aws.lambda_runtime import Function, Invocation
from local_aws.server import Faults, LocalAws

JOBS = 50
STACK = "ClipsStack"


@pytest.fixture
def responses(tmp_path: Path) -> Iterator[cloudformation.ResponseServer]:
    with cloudformation.ResponseServer(tmp_path) as server:
        yield server


def synthesize(outdir: Path, setup: LocalSetup) -> cloudformation.Assembly:
    """A stack with one bucket and ``JOBS`` harvest jobs of the same recent window, bundled as for deploy."""
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, STACK)
    bucket = s3.Bucket(stack, "Clips")
    start, end = recent_window()
    for n in range(JOBS):
        HarvestJob(
            stack,
            f"Clip{n:02d}",
            origin_endpoint_id=setup.endpoint_id,
            start_time=start,
            end_time=end,
            destination_bucket=bucket,
            manifest_key=f"clips/{n:02d}/index.m3u8",
        )
    app.synth()
    return cloudformation.Assembly(outdir, STACK)


class Deployment:
    """The stack's custom resources, their function, and the events CloudFormation would send."""

    def __init__(
        self,
        assembly: cloudformation.Assembly,
        aws: LocalAws,
        setup: LocalSetup,
        responses: cloudformation.ResponseServer,
    ) -> None:
        self.resources = assembly.resources(RESOURCE_TYPE)
        self.stack_id = cloudformation.stack_id(STACK)
        self.responses = responses
        environment = {**aws.environment(), "SSL_CERT_FILE": str(responses.cert_file)}
        first = next(iter(self.resources))
        # The template's timeout (10 minutes): the retry budget under test is the real one.
        self.function: Function = assembly.function(first, environment, max_timeout_ms=600_000)
        self.setup = setup

    def create_event(self, logical_id: str) -> dict[str, Any]:
        return cloudformation.event(
            "Create",
            responses=self.responses,
            stack=self.stack_id,
            logical_id=logical_id,
            properties=resolved_properties(
                self.resources[logical_id]["Properties"], self.setup, self.function
            ),
        )

    def job_id(self, event: Mapping[str, Any]) -> str:
        return rules.generated_harvest_job_id(self.stack_id, event["LogicalResourceId"], event["RequestId"])


def max_running(intervals: list[tuple[float, float]]) -> int:
    """The most jobs IN_PROGRESS at one moment (the peak is at some job's start)."""
    return max(sum(start <= moment < end for start, end in intervals) for moment, _ in intervals)


def test_fifty_jobs_created_at_once_within_the_quota_and_throttling(
    aws: LocalAws, setup: LocalSetup, responses: cloudformation.ResponseServer, tmp_path: Path
) -> None:
    deployment = Deployment(synthesize(tmp_path / "cdk.out", setup), aws, setup, responses)
    assert len(deployment.resources) == JOBS
    events = [deployment.create_event(logical_id) for logical_id in deployment.resources]
    aws.harvest.completion_delay = 3.0
    aws.faults = Faults(throttle_share=0.3, seed=5)

    began = time.monotonic()
    with ThreadPoolExecutor(JOBS) as pool:
        invocations: list[Invocation] = list(
            pool.map(
                lambda event: deployment.function.invoke(event, invocation_id=event["RequestId"]), events
            )
        )
    wall = time.monotonic() - began
    stats = dict(aws.faults.stats)
    aws.faults.throttle_share = 0

    for event, invocation in zip(events, invocations, strict=True):
        assert invocation.returncode == 0, invocation.logs
        (answer,) = responses.answers(event["RequestId"])
        assert answer.status == 200
        body = answer.body
        assert (body["Status"], body["Reason"]) == ("SUCCESS", ""), body["Reason"]
        assert body["PhysicalResourceId"] == body["Data"]["Id"] == deployment.job_id(event)
    created = jobs(aws)
    assert len(created) == JOBS
    assert {job["Id"] for job in created} == {deployment.job_id(event) for event in events}

    peak = max_running(harvest_jobs.STORE.running_intervals())
    refusals = harvest_jobs.STORE.quota_refusals
    throttled = stats.get("mediapackage:429", 0)
    outer = sum(invocation.logs.count("calling again") for invocation in invocations)
    longest = max(invocation.seconds for invocation in invocations)
    print(  # noqa: T201 - the figures are this test's report
        f"\n{JOBS} concurrent Creates, {contract.MAX_ATTEMPTS} botocore attempts per call, quota "
        f"{aws.harvest.max_concurrent_jobs}, jobs of {aws.harvest.completion_delay:g} s, 30% throttled:\n"
        f"  wall time {wall:.1f} s, longest invocation {longest:.1f} s (function timeout "
        f"{deployment.function.timeout_ms / 1000:.0f} s)\n"
        f"  MediaPackage requests {stats.get('mediapackage', 0)} for {JOBS} jobs: "
        f"{throttled} throttled (429 injected), {refusals} refused by the quota (429), "
        f"{outer} calls again after botocore gave up\n"
        f"  most jobs in progress at once: {peak}"
    )
    assert longest < deployment.function.timeout_ms / 1000, "every Create ended inside the function timeout"
    assert peak == aws.harvest.max_concurrent_jobs, "the quota was reached, never exceeded"
    assert refusals > 0
    assert throttled > 0
    assert outer > 0, "the quota outlasted botocore's retries at least once"


def test_a_quota_that_stays_full_fails_the_create_in_time_naming_it(
    example_assembly: Path, aws: LocalAws, setup: LocalSetup, responses: cloudformation.ResponseServer
) -> None:
    stack = Stack(cloudformation.Assembly(example_assembly, "HarvestStack"), aws, responses)
    # Room for the answer margin, the last call and the lookup after it, and 10 s of waiting.
    timeout = contract.ANSWER_MARGIN_SECONDS + 2 * contract.CALL_SECONDS + 10
    stack.function = dataclasses.replace(stack.function, timeout_ms=int(timeout * 1000))
    aws.harvest.max_concurrent_jobs = 1
    aws.harvest.completion_delay = 600
    start, end = recent_window()
    aws.mediapackage().create_harvest_job(
        Id="running",
        OriginEndpointId=setup.endpoint_id,
        StartTime=start,
        EndTime=end,
        S3Destination={"BucketName": setup.bucket, "ManifestKey": "running.m3u8", "RoleArn": setup.role_arn},
    )

    create = stack.event("Create", stack.properties(setup))
    failed = stack.deliver(create)
    assert_answer(failed, "FAILED", reason=failed.body["Reason"])
    assert re.match(
        rf"CreateHarvestJob {stack.job_id(create)} failed: TooManyRequestsException for \d+ s until time "
        r"ran out \(quota of 10 concurrent harvest jobs by default, or request rate\): "
        r"Limit exceeded: 1 harvest jobs are in progress \(quota 1\)$",
        failed.body["Reason"],
    ), failed.body["Reason"]
    assert "calling again" in failed.invocation.logs, "waited past botocore's retries"
    assert failed.invocation.seconds < timeout - contract.ANSWER_MARGIN_SECONDS, "answered inside the budget"
    assert [job["Id"] for job in jobs(aws)] == ["running"]
