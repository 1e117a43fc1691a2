"""The custom resource protocol for real: CloudFormation-shaped events, the handler that synthesis put in
the asset (run in its own process, like Lambda), crhelper's own HTTPS PUT to a ResponseURL on loopback,
and MediaPackage served by the local AWS. Each test checks the exact body CloudFormation receives and
what exists on the endpoint afterwards."""

from __future__ import annotations

import dataclasses
import re
import secrets
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from support import (
    ACCOUNT_ID,
    STACK_ID,
    Answered,
    LocalSetup,
    Stack,
    assert_answer,
    expected_data,
    failed_create_id,
    jobs,
    recent_window,
    signature,
)

from local_aws import cloudformation, harvest_jobs
from local_aws.server import Faults, LocalAws

REPO_ROOT = Path(__file__).resolve().parents[1]


def assert_each_answers_the_job(
    stack: Stack, event: dict[str, Any], answers: list[cloudformation.Answer], job: Mapping[str, Any]
) -> None:
    """Every answer to ``event`` on its own: SUCCESS, with the job's Id and Data."""
    for answer in answers:
        assert_answer(
            Answered(event, [answer]),
            "SUCCESS",
            physical_id=stack.job_id(event),
            data=expected_data(job, "IN_PROGRESS"),
        )


def test_create_update_and_delete(stack: Stack, aws: LocalAws, setup: LocalSetup) -> None:
    aws.harvest.completion_delay = 600
    properties = stack.properties(setup)
    create = stack.event("Create", properties)
    job_id = stack.job_id(create)
    created = stack.deliver(create)
    (job,) = jobs(aws)
    assert job["Id"] == job_id
    assert re.fullmatch(rf"HarvestStack-{stack.logical_id}-[0-9a-f]{{12}}", job_id)
    assert_answer(created, "SUCCESS", physical_id=job_id, data=expected_data(job, "IN_PROGRESS"))
    assert job["OriginEndpointId"] == setup.endpoint_id
    assert job["ChannelId"] == setup.channel_id
    assert job["S3Destination"] == {
        "BucketName": setup.bucket,
        "ManifestKey": "clips/example/index.m3u8",
        "RoleArn": setup.role_arn,
    }

    new_token = {**properties, "ServiceToken": properties["ServiceToken"] + "-v2"}
    kept = stack.deliver(stack.event("Update", new_token, physical_id=job_id, old_properties=properties))
    assert_answer(kept, "SUCCESS", physical_id=job_id, data=expected_data(job, "IN_PROGRESS"))
    assert len(jobs(aws)) == 1

    start, end = recent_window(minutes=5)
    moved = {**new_token, "StartTime": start, "EndTime": end}
    replace = stack.event("Update", moved, physical_id=job_id, old_properties=new_token)
    new_id = stack.job_id(replace)
    replaced = stack.deliver(replace)
    by_id = {job["Id"]: job for job in jobs(aws)}
    assert set(by_id) == {job_id, new_id}
    assert (by_id[new_id]["StartTime"], by_id[new_id]["EndTime"]) == (start, end)
    assert_answer(replaced, "SUCCESS", physical_id=new_id, data=expected_data(by_id[new_id], "IN_PROGRESS"))

    # CloudFormation deletes the replaced resource with its old properties, later the new one.
    for old_id, old_properties in ((job_id, new_token), (new_id, moved)):
        deleted = stack.deliver(stack.event("Delete", old_properties, physical_id=old_id))
        assert_answer(deleted, "SUCCESS", physical_id=old_id)
    assert {job["Id"] for job in jobs(aws)} == {job_id, new_id}, "a harvest job cannot be deleted"


def test_update_reports_the_current_status(stack: Stack, aws: LocalAws, setup: LocalSetup) -> None:
    aws.harvest.completion_delay = 0.2
    properties = stack.properties(setup)
    job_id = stack.deliver(stack.event("Create", properties)).body["PhysicalResourceId"]
    wait_for_status(aws, job_id, "SUCCEEDED")
    (job,) = jobs(aws)
    update = stack.event(
        "Update", {**properties, "ServiceToken": "new"}, physical_id=job_id, old_properties=properties
    )
    assert_answer(stack.deliver(update), "SUCCESS", physical_id=job_id, data=expected_data(job, "SUCCEEDED"))


def test_failed_create_then_rollback_delete(stack: Stack, aws: LocalAws, setup: LocalSetup) -> None:
    start, end = recent_window(minutes=60, ended_ago=25 * 60)  # ended 25 h ago: before the startover window
    properties = stack.properties(setup, StartTime=start, EndTime=end)
    create = stack.event("Create", properties)
    failed = assert_answer(
        stack.deliver(create),
        "FAILED",
        reason=f"CreateHarvestJob {stack.job_id(create)} failed: UnprocessableEntityException: "
        "StartTime must be inside the origin endpoint's startover window",
    )
    assert re.fullmatch(failed_create_id(stack), failed["PhysicalResourceId"])
    assert jobs(aws) == []
    requests_before = aws.faults.stats["mediapackage"]

    rollback = stack.deliver(stack.event("Delete", properties, physical_id=failed["PhysicalResourceId"]))
    assert_answer(rollback, "SUCCESS", physical_id=failed["PhysicalResourceId"])
    assert aws.faults.stats["mediapackage"] == requests_before, "Delete makes no API call"
    assert jobs(aws) == []


def test_a_bad_destination_fails_with_the_services_reason(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    properties = stack.properties(setup)
    properties["S3Destination"] = {**properties["S3Destination"], "BucketName": "no-such-bucket"}
    create = stack.event("Create", properties)
    assert_answer(
        stack.deliver(create),
        "FAILED",
        reason=f"CreateHarvestJob {stack.job_id(create)} failed: UnprocessableEntityException: "
        "S3Destination.BucketName 'no-such-bucket': no such bucket",
    )
    assert jobs(aws) == []


def test_the_same_create_delivered_twice_makes_one_job(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    aws.harvest.completion_delay = 600
    event = stack.event("Create", stack.properties(setup))
    first = stack.deliver(event)
    (job,) = jobs(aws)
    twice = stack.deliver(event)
    assert len(twice.answers) == 2
    assert_each_answers_the_job(stack, event, twice.answers, job)
    assert first.answers == twice.answers[:1]
    assert jobs(aws) == [job]


def test_the_same_create_delivered_three_times_at_once_makes_one_job(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    aws.harvest.completion_delay = 600
    # The first CreateHarvestJob's answer is held after the job is stored: the other deliveries
    # reach MediaPackage while the job exists but its creator has not answered yet.
    aws.harvest.create_answer_delay = 2
    event = stack.event("Create", stack.properties(setup))
    with ThreadPoolExecutor(3) as pool:
        invocations = list(pool.map(lambda _: stack.function.invoke(event), range(3)))
    assert [invocation.returncode for invocation in invocations] == [0, 0, 0]
    (job,) = jobs(aws)
    answers = stack.responses.answers(event["RequestId"])
    assert len(answers) == 3
    assert_each_answers_the_job(stack, event, answers, job)
    assert len({answer.raw for answer in answers}) == 1, "three identical answers"
    logs = "".join(invocation.logs for invocation in invocations)
    assert (logs.count('"Created harvest job"'), logs.count('"Adopted the existing harvest job')) == (1, 2)


def test_a_lambda_retry_after_a_crash_between_create_and_answer_adopts_the_job(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    aws.harvest.completion_delay = 600
    aws.harvest.create_answer_delay = 5
    event = stack.event("Create", stack.properties(setup))
    # The sandbox dies (as when out of memory) once MediaPackage has stored the job, before the
    # handler has its answer: no answer reaches CloudFormation, and Lambda retries the event.
    crashed = stack.function.invoke(
        event,
        invocation_id=event["RequestId"],
        crash_when=lambda: bool(harvest_jobs.STORE.running_intervals()),
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.logs
    assert '"Created harvest job"' not in crashed.logs
    assert stack.responses.answers(event["RequestId"]) == []
    (job,) = jobs(aws)

    retried = stack.deliver(event)
    assert_answer(retried, "SUCCESS", physical_id=stack.job_id(event), data=expected_data(job, "IN_PROGRESS"))
    assert '"Adopted the existing harvest job with this Id"' in retried.invocation.logs
    assert jobs(aws) == [job]


@pytest.mark.parametrize(
    ("faults", "injected"),
    [
        (Faults(throttle_next=3), "mediapackage:429"),
        (Faults(error_next=3, error_status=503), "mediapackage:503"),
    ],
    ids=["throttled", "5xx-burst"],
)
def test_throttling_and_a_5xx_burst_are_retried(
    stack: Stack, aws: LocalAws, setup: LocalSetup, faults: Faults, injected: str
) -> None:
    aws.faults = faults
    create = stack.event("Create", stack.properties(setup))
    created = stack.deliver(create)
    assert aws.faults.stats[injected] == 3
    (job,) = jobs(aws)
    assert_answer(
        created, "SUCCESS", physical_id=stack.job_id(create), data=expected_data(job, "IN_PROGRESS")
    )


def test_a_share_of_throttled_requests_over_a_lifecycle(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    aws.harvest.completion_delay = 600
    aws.faults = Faults(throttle_share=0.3, seed=3)
    properties = stack.properties(setup)
    answers: list[dict[str, Any]] = []
    for _ in range(3):
        create = stack.event("Create", properties)
        answers.append(stack.deliver(create).body)
        update = stack.event(
            "Update",
            {**properties, "ServiceToken": "v2"},
            physical_id=stack.job_id(create),
            old_properties=properties,
        )
        answers.append(stack.deliver(update).body)
        answers.append(
            stack.deliver(stack.event("Delete", properties, physical_id=stack.job_id(create))).body
        )
    throttled = aws.faults.stats["mediapackage:429"]
    aws.faults.throttle_share = 0
    assert [answer["Status"] for answer in answers] == ["SUCCESS"] * 9
    assert throttled >= 2, f"only {throttled} of {aws.faults.stats['mediapackage']} requests were throttled"
    assert len(jobs(aws)) == 3


def test_a_longer_outage_fails_the_create_with_the_error(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    aws.faults.error_next = 1000
    aws.faults.error_status = 500
    create = stack.event("Create", stack.properties(setup))
    body = stack.deliver(create).body
    aws.faults.error_next = 0
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith(
        f"CreateHarvestJob {stack.job_id(create)} failed: InternalServerErrorException: Injected fault"
    )
    assert len(body["Reason"]) <= 256
    assert jobs(aws) == []


def test_logs_never_hold_the_response_url_or_credentials(
    example_assembly: Path, aws: LocalAws, setup: LocalSetup, tmp_path: Path
) -> None:
    """A whole lifecycle (create, an update that keeps the job, one that replaces it, deletes, a failed
    create and its rollback), with credentials of their own: no log holds the ResponseURL or a part of
    its signature, nor the access key id, the secret key or the session token."""
    credentials = {
        "AWS_ACCESS_KEY_ID": "ASIA" + secrets.token_hex(8).upper(),
        "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
        "AWS_SESSION_TOKEN": secrets.token_urlsafe(120),
    }
    with cloudformation.ResponseServer(tmp_path) as responses:
        environment = {**aws.environment(), "SSL_CERT_FILE": str(responses.cert_file), **credentials}
        stack = Stack(cloudformation.Assembly(example_assembly, "HarvestStack"), aws, responses, environment)
        properties = stack.properties(setup)
        created = stack.deliver(stack.event("Create", properties))
        job_id = created.body["PhysicalResourceId"]
        kept = {**properties, "ServiceToken": "v2"}
        start, end = recent_window(minutes=5)
        moved = {**kept, "StartTime": start, "EndTime": end}
        deliveries = [
            created,
            stack.deliver(stack.event("Update", kept, physical_id=job_id, old_properties=properties)),
            replaced := stack.deliver(stack.event("Update", moved, physical_id=job_id, old_properties=kept)),
            stack.deliver(stack.event("Delete", kept, physical_id=job_id)),
            stack.deliver(stack.event("Delete", moved, physical_id=replaced.body["PhysicalResourceId"])),
        ]
        start, end = recent_window(minutes=60, ended_ago=25 * 60)
        too_old = stack.properties(setup, StartTime=start, EndTime=end)
        failed = stack.deliver(stack.event("Create", too_old))
        rollback = stack.deliver(
            stack.event("Delete", too_old, physical_id=failed.body["PhysicalResourceId"])
        )
        deliveries += [failed, rollback]
    assert [delivery.body["Status"] for delivery in deliveries] == ["SUCCESS"] * 5 + ["FAILED", "SUCCESS"]
    assert len({job["Id"] for job in jobs(aws)}) == 2
    secrets_in_play = [*credentials.values(), "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Security-Token"]
    for delivery in deliveries:
        logs = delivery.invocation.logs
        url = delivery.event["ResponseURL"]
        signed = signature(url)
        assert delivery.event["RequestId"] in logs, "the logs were not captured"
        assert url.split("?")[0] not in logs
        # No 16 characters of the signature in a row, in case a log line cut or wrapped it.
        assert not any(signed[i : i + 16] in logs for i in range(len(signed) - 15))
        for secret in secrets_in_play:
            assert secret not in logs
        for credential in credentials.values():
            assert credential[:12] not in logs


def test_the_response_url_certificate_is_verified(
    example_assembly: Path, aws: LocalAws, setup: LocalSetup, tmp_path: Path
) -> None:
    """Without SSL_CERT_FILE the handler does not trust the self-signed ResponseURL: nothing arrives."""
    with cloudformation.ResponseServer(tmp_path) as responses:
        assembly = cloudformation.Assembly(example_assembly, "HarvestStack")
        untrusting = Stack(assembly, aws, responses, environment=aws.environment())
        untrusting.function = dataclasses.replace(untrusting.function, timeout_ms=1000)
        event = untrusting.event("Create", untrusting.properties(setup))
        invocation = untrusting.function.invoke(event)
        assert "CERTIFICATE_VERIFY_FAILED" in invocation.logs
        assert responses.answers(event["RequestId"]) == []


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
    assert "replaced by one as long (at most 1 h) that ended a minute ago" in out
    assert "  window 2026-11-28T10:00:00Z to 2026-11-28T10:30:00Z (from the template) replaced by " in out
    arn = re.search(r"^HarvestStack\.HarvestJobArn = (\S+)$", out, re.MULTILINE)
    assert arn is not None, out
    assert re.fullmatch(rf"arn:aws:mediapackage:us-east-1:{ACCOUNT_ID}:harvest_jobs/HarvestStack-\S+", arn[1])
    # The example app waits for completion: the output is the final status, not IN_PROGRESS.
    assert re.search(r"^HarvestStack\.HarvestJobStatus = SUCCEEDED$", out, re.MULTILINE)
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


def test_the_response_server_takes_only_the_urls_it_issued(tmp_path: Path) -> None:
    with cloudformation.ResponseServer(tmp_path) as responses:
        context = ssl.create_default_context(cafile=str(responses.cert_file))
        url = responses.issue(STACK_ID, "Job", "request-1")
        forged = url.rsplit("X-Amz-Signature=", 1)[0] + "X-Amz-Signature=" + "0" * 64
        responses.statuses = [503]
        statuses = [put(forged, b"{}", context), put(url, b'{"Status": "SUCCESS"}', context)]
        statuses.append(put(url, b'{"Status": "SUCCESS"}', context))
        assert statuses == [403, 503, 200]
        assert [answer.status for answer in responses.answers("request-1")] == [503, 200]
        assert responses.wait("request-1", timeout=1).body == {"Status": "SUCCESS"}


def put(url: str, body: bytes, context: ssl.SSLContext) -> int:
    request = urllib.request.Request(url, data=body, method="PUT")  # noqa: S310 - https, loopback
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:  # noqa: S310
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code
