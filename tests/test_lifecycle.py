"""The custom resource protocol for real: CloudFormation-shaped events, the handler that synthesis put in
the asset (run in its own process, like Lambda), crhelper's own HTTPS PUT to a ResponseURL on loopback,
and MediaPackage served by the local AWS. Each test checks the exact body CloudFormation receives and
what exists on the endpoint afterwards."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import LocalSetup, recent_window

from local_aws import cloudformation
from local_aws.lambda_runtime import Function, Invocation
from local_aws.server import ACCOUNT_ID, LocalAws

REPO_ROOT = Path(__file__).resolve().parents[1]
RESOURCE_TYPE = "Custom::MediaPackageHarvestJob"
ATTRIBUTES = {"Arn", "Id", "Status", "ChannelId", "CreatedAt", "StartTime", "EndTime", "ManifestUri"}


@dataclass
class Delivery:
    event: dict[str, Any]
    invocation: Invocation
    answers: list[cloudformation.Answer]

    @property
    def body(self) -> dict[str, Any]:
        (answer,) = self.answers
        return answer.body


class Stack:
    """One custom resource of the example stack, driven through its lifecycle on the local AWS."""

    def __init__(
        self, assembly: cloudformation.Assembly, aws: LocalAws, responses: cloudformation.ResponseServer
    ):
        ((self.logical_id, resource),) = assembly.resources(RESOURCE_TYPE).items()
        function_id = resource["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
        settings = assembly.template["Resources"][function_id]["Properties"]
        self.function = Function(
            asset=assembly.handler_asset,
            handler=settings["Handler"],
            environment={**aws.environment(), "SSL_CERT_FILE": str(responses.cert_file)},
            timeout_ms=settings["Timeout"] * 1000,
        )
        self.template_properties: dict[str, Any] = resource["Properties"]
        self.responses = responses
        self.stack_id = cloudformation.stack_id("HarvestStack")

    def properties(self, setup: LocalSetup, **changes: Any) -> dict[str, Any]:
        """The synthesized properties, references resolved to the local bucket, role and function."""
        start, end = recent_window()
        refs = {self.template_properties["S3Destination"]["BucketName"]["Ref"]: setup.bucket}
        role_id = self.template_properties["S3Destination"]["RoleArn"]["Fn::GetAtt"][0]
        function_id = self.template_properties["ServiceToken"]["Fn::GetAtt"][0]
        attributes = {(role_id, "Arn"): setup.role_arn, (function_id, "Arn"): self.function.arn}
        resolved: dict[str, Any] = cloudformation.resolve(self.template_properties, refs, attributes)
        resolved.update(OriginEndpointId=setup.endpoint_id, StartTime=start, EndTime=end)
        resolved.update(changes)
        return resolved

    def event(self, request_type: str, properties: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
        return cloudformation.event(
            request_type,
            responses=self.responses,
            stack=self.stack_id,
            logical_id=self.logical_id,
            properties=properties,
            resource_type=RESOURCE_TYPE,
            **extra,
        )

    def deliver(self, event: dict[str, Any]) -> Delivery:
        """One invocation; its answers as CloudFormation's URL received them."""
        invocation = self.function.invoke(event, invocation_id=event["RequestId"])
        assert invocation.returncode == 0, invocation.logs
        self.responses.wait(event["RequestId"], timeout=10)
        return Delivery(event, invocation, self.responses.answers(event["RequestId"]))


@pytest.fixture
def stack(example_assembly: Path, aws: LocalAws, tmp_path: Path) -> Iterator[Stack]:
    with cloudformation.ResponseServer(tmp_path) as responses:
        yield Stack(cloudformation.Assembly(example_assembly, "HarvestStack"), aws, responses)


def assert_answer(delivery: Delivery, status: str) -> dict[str, Any]:
    """What every answer must be: one PUT, within 4096 bytes, echoing the request's identifiers."""
    (answer,) = delivery.answers
    assert answer.status == 200
    assert len(answer.raw) <= cloudformation.MAX_BODY_BYTES
    body = answer.body
    assert body["Status"] == status, body["Reason"]
    assert body["PhysicalResourceId"]
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        assert body[key] == delivery.event[key]
    assert body["NoEcho"] is False
    return body


def jobs(aws: LocalAws) -> list[Mapping[str, Any]]:
    pages = aws.mediapackage().get_paginator("list_harvest_jobs").paginate()
    return [dict(job) for page in pages for job in page["HarvestJobs"]]


def expected_data(job: Mapping[str, Any], status: str) -> dict[str, str]:
    destination = job["S3Destination"]
    return {
        "Arn": f"arn:aws:mediapackage:us-east-1:{ACCOUNT_ID}:harvest_jobs/{job['Id']}",
        "Id": job["Id"],
        "Status": status,
        "ChannelId": job["ChannelId"],
        "CreatedAt": job["CreatedAt"],
        "StartTime": job["StartTime"],
        "EndTime": job["EndTime"],
        "ManifestUri": f"s3://{destination['BucketName']}/{destination['ManifestKey']}",
    }


def test_create_update_and_delete(stack: Stack, aws: LocalAws, setup: LocalSetup) -> None:
    aws.harvest.completion_delay = 60
    properties = stack.properties(setup)
    created = assert_answer(stack.deliver(stack.event("Create", properties)), "SUCCESS")
    (job,) = jobs(aws)
    assert created["PhysicalResourceId"] == job["Id"]
    assert re.fullmatch(rf"HarvestStack-{stack.logical_id}-[0-9a-f]{{12}}", job["Id"])
    assert created["Reason"] == ""
    assert created["Data"] == expected_data(job, "IN_PROGRESS")
    assert job["OriginEndpointId"] == setup.endpoint_id
    assert job["ChannelId"] == setup.channel_id
    assert job["S3Destination"] == {
        "BucketName": setup.bucket,
        "ManifestKey": "clips/example/index.m3u8",
        "RoleArn": setup.role_arn,
    }
    physical_id = created["PhysicalResourceId"]

    new_token = {**properties, "ServiceToken": properties["ServiceToken"] + "-v2"}
    kept = stack.deliver(stack.event("Update", new_token, physical_id=physical_id, old_properties=properties))
    assert assert_answer(kept, "SUCCESS")["PhysicalResourceId"] == physical_id
    assert kept.body["Data"] == created["Data"]
    assert len(jobs(aws)) == 1

    start, end = recent_window(minutes=5)
    moved = {**new_token, "StartTime": start, "EndTime": end}
    replaced = stack.deliver(stack.event("Update", moved, physical_id=physical_id, old_properties=new_token))
    new_id = assert_answer(replaced, "SUCCESS")["PhysicalResourceId"]
    assert new_id != physical_id
    by_id = {job["Id"]: job for job in jobs(aws)}
    assert set(by_id) == {physical_id, new_id}
    assert (by_id[new_id]["StartTime"], by_id[new_id]["EndTime"]) == (start, end)
    assert replaced.body["Data"] == expected_data(by_id[new_id], "IN_PROGRESS")

    for old in (physical_id, new_id):
        deleted = stack.deliver(stack.event("Delete", moved, physical_id=old))
        body = assert_answer(deleted, "SUCCESS")
        assert body["PhysicalResourceId"] == old
        assert body["Data"] == {}
    assert {job["Id"] for job in jobs(aws)} == {physical_id, new_id}, "a harvest job cannot be deleted"


def test_update_reports_the_current_status(stack: Stack, aws: LocalAws, setup: LocalSetup) -> None:
    aws.harvest.completion_delay = 0.2
    properties = stack.properties(setup)
    physical_id = assert_answer(stack.deliver(stack.event("Create", properties)), "SUCCESS")[
        "PhysicalResourceId"
    ]
    wait_for_status(aws, physical_id, "SUCCEEDED")
    update = stack.event(
        "Update", {**properties, "ServiceToken": "new"}, physical_id=physical_id, old_properties=properties
    )
    assert assert_answer(stack.deliver(update), "SUCCESS")["Data"]["Status"] == "SUCCEEDED"


def test_failed_create_then_rollback_delete(stack: Stack, aws: LocalAws, setup: LocalSetup) -> None:
    start, end = recent_window(minutes=60, ended_ago=25 * 60)  # ended 25 h ago: before the startover window
    properties = stack.properties(setup, StartTime=start, EndTime=end)
    failed = assert_answer(stack.deliver(stack.event("Create", properties)), "FAILED")
    assert "UnprocessableEntityException" in failed["Reason"]
    assert "startover window" in failed["Reason"]
    assert failed["Data"] == {}
    assert jobs(aws) == []
    requests_before = aws.faults.stats["mediapackage"]

    rollback = stack.deliver(stack.event("Delete", properties, physical_id=failed["PhysicalResourceId"]))
    assert assert_answer(rollback, "SUCCESS")["PhysicalResourceId"] == failed["PhysicalResourceId"]
    assert aws.faults.stats["mediapackage"] == requests_before, "Delete makes no API call"
    assert jobs(aws) == []


def test_a_bad_destination_fails_with_the_services_reason(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    properties = stack.properties(setup)
    properties["S3Destination"] = {**properties["S3Destination"], "BucketName": "no-such-bucket"}
    failed = assert_answer(stack.deliver(stack.event("Create", properties)), "FAILED")
    assert "no-such-bucket" in failed["Reason"]
    assert jobs(aws) == []


def test_the_same_create_delivered_twice_makes_one_job(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    aws.harvest.completion_delay = 60
    event = stack.event("Create", stack.properties(setup))
    stack.deliver(event)
    twice = stack.deliver(event)
    first, second = (answer.body for answer in twice.answers)
    assert first["Status"] == second["Status"] == "SUCCESS"
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"]
    assert first["Data"] == second["Data"]
    (job,) = jobs(aws)
    assert job["Id"] == first["PhysicalResourceId"]


def test_throttled_requests_all_succeed(stack: Stack, aws: LocalAws, setup: LocalSetup) -> None:
    aws.faults.throttle_next = 3
    created = assert_answer(stack.deliver(stack.event("Create", stack.properties(setup))), "SUCCESS")
    assert aws.faults.stats["mediapackage:429"] == 3
    (job,) = jobs(aws)
    assert job["Id"] == created["PhysicalResourceId"]


def test_a_share_of_throttled_requests_over_a_lifecycle(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    aws.faults.throttle_share = 0.3
    properties = stack.properties(setup)
    ids = set()
    for _ in range(4):
        ids.add(
            assert_answer(stack.deliver(stack.event("Create", properties)), "SUCCESS")["PhysicalResourceId"]
        )
    assert aws.faults.stats["mediapackage:429"] > 0
    assert {job["Id"] for job in jobs(aws)} == ids
    assert len(ids) == 4, "each Create request (a new RequestId) is a new job"


def test_a_5xx_burst_is_retried(stack: Stack, aws: LocalAws, setup: LocalSetup) -> None:
    aws.faults.error_next = 3
    aws.faults.error_status = 503
    created = assert_answer(stack.deliver(stack.event("Create", stack.properties(setup))), "SUCCESS")
    assert aws.faults.stats["mediapackage:503"] == 3
    assert [job["Id"] for job in jobs(aws)] == [created["PhysicalResourceId"]]


def test_a_longer_outage_fails_the_create_with_the_error(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    aws.faults.error_next = 1000
    aws.faults.error_status = 500
    failed = assert_answer(stack.deliver(stack.event("Create", stack.properties(setup))), "FAILED")
    assert "InternalServerErrorException" in failed["Reason"]
    aws.faults.error_next = 0
    assert jobs(aws) == []


def test_logs_never_hold_the_response_url(stack: Stack, aws: LocalAws, setup: LocalSetup) -> None:
    properties = stack.properties(setup)
    created = stack.deliver(stack.event("Create", properties))
    physical_id = created.body["PhysicalResourceId"]
    deleted = stack.deliver(stack.event("Delete", properties, physical_id=physical_id))
    for delivery in (created, deleted):
        signature = delivery.event["ResponseURL"].rsplit("X-Amz-Signature=", 1)[1]
        assert signature not in delivery.invocation.logs
        assert "X-Amz-Credential" not in delivery.invocation.logs
        assert "testing" not in delivery.invocation.logs  # the fake credentials
        assert delivery.body["RequestId"] in delivery.invocation.logs


def wait_for_status(aws: LocalAws, job_id: str, status: str) -> None:
    deadline = time.monotonic() + 30
    while aws.mediapackage().describe_harvest_job(Id=job_id)["Status"] != status:
        assert time.monotonic() < deadline, f"{job_id} never became {status}"
        time.sleep(0.1)


def test_the_demo_prints_the_stack_outputs(example_assembly: Path) -> None:
    demo = subprocess.run(
        [
            sys.executable,
            "-m",
            "local_aws.demo",
            "--cdk-out",
            str(example_assembly),
            "--completion-delay",
            "0.5",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    out = demo.stdout
    assert "not a deployment" in out
    arn = re.search(r"^HarvestStack\.HarvestJobArn = (\S+)$", out, re.MULTILINE)
    assert arn is not None, out
    assert re.fullmatch(rf"arn:aws:mediapackage:us-east-1:{ACCOUNT_ID}:harvest_jobs/HarvestStack-\S+", arn[1])
    assert re.search(r"^HarvestStack\.HarvestJobStatus = IN_PROGRESS$", out, re.MULTILINE)
    assert re.search(r"^HarvestStack\.ManifestUri = s3://\S+/clips/example/index\.m3u8$", out, re.MULTILINE)
    assert re.search(r"^  s3://\S+/clips/example/index\.m3u8  \d+ bytes$", out, re.MULTILINE)


def test_the_demo_without_a_synthesized_app_says_what_to_do(tmp_path: Path) -> None:
    demo = subprocess.run(
        [sys.executable, "-m", "local_aws.demo", "--cdk-out", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert demo.returncode == 1
    assert "make synth" in demo.stdout
