"""MediaPackage's harvest job notifications, for real: the local MediaPackage announces each status
change, the local EventBridge delivers it through the stack's notification rule to the handler from the
synthesized asset (asynchronously, under the template's permission), and CloudFormation's URL receives
exactly one answer per request, with MediaPackage's reason when a job failed.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import threading
from collections.abc import Mapping
from typing import Any

import cdk_mediapackage_harvest_contract as contract
import pytest
from support import (
    ACCOUNT_ID,
    REASON_GRACE_SECONDS,
    LocalSetup,
    Stack,
    assert_answer,
    expected_data,
    signature,
)

from local_aws import eventbridge, harvest_jobs
from local_aws.server import LocalAws

#: A first invocation this short has no time to wait: it creates the job and hands over at once.
SHORT_MS = 20_000
MESSAGE = "Harvest job failed: the requested window is no longer in the origin endpoint's startover window."


def prefix(stack: Stack) -> str:
    return stack.function.environment[contract.Environment.POLL_RULE_PREFIX]


def poll_rules(stack: Stack, aws: LocalAws) -> list[dict[str, Any]]:
    return eventbridge.Scheduler(aws, [stack.function]).rules(prefix(stack))


def hand_over(stack: Stack, aws: LocalAws, event: dict[str, Any]) -> dict[str, Any]:
    """A first invocation that hands the job to the poller at once; the poll rule."""
    invocation = dataclasses.replace(stack.function, timeout_ms=SHORT_MS).invoke(event, invocation_id="first")
    assert invocation.returncode == 0, invocation.logs
    assert_no_secret(event, invocation.logs)
    assert stack.responses.answers(event["RequestId"]) == []
    (rule,) = poll_rules(stack, aws)
    return rule


def assert_no_secret(event: Mapping[str, Any], logs: str) -> None:
    assert signature(event["ResponseURL"])[:16] not in logs
    assert "X-Amz-" not in logs


def records(logs: str) -> list[dict[str, Any]]:
    """The notification records among an invocation's JSON log lines."""
    found = []
    for line in logs.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("message") if isinstance(entry, dict) else None
        if isinstance(message, dict) and message.get("message") == "MediaPackage harvest job notification":
            found.append(message)
    return found


def wait_for_answer(stack: Stack, event: Mapping[str, Any], timeout: float = 30) -> dict[str, Any]:
    stack.responses.wait(event["RequestId"], timeout=timeout)
    (answer,) = stack.responses.answers(event["RequestId"])
    return answer.body


def failed_reason(job_id: str, message: str = MESSAGE) -> str:
    return f"Harvest job {job_id} failed: {message}"


def test_a_failure_seen_in_the_first_invocation_carries_mediapackages_reason(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    # The notification's invocation runs beside the waiting one: a grace that outlasts a busy
    # machine's process start (the wait ends as soon as the reason is there).
    environment = {**stack.function.environment, contract.Environment.REASON_GRACE: "30"}
    stack.function = dataclasses.replace(stack.function, environment=environment)
    stack.bus = eventbridge.Bus(aws, [stack.function])
    bus = stack.listen()
    aws.harvest.outcome = "FAILED"
    event = stack.event("Create", stack.properties(setup, wait=True))
    job_id = stack.job_id(event)
    aws.harvest.failure_messages = {job_id: MESSAGE}
    done = stack.deliver(event)
    body = assert_answer(done, "FAILED", reason=failed_reason(job_id))
    assert body["PhysicalResourceId"] == job_id
    deliveries = bus.wait()
    # IN_PROGRESS, then FAILED: each recorded once, each ignored for the answer (no wait was handed over).
    logged = [record for delivery in deliveries for record in records(delivery.invocation.logs)]
    assert sorted((r["harvestJobId"], r["status"]) for r in logged) == [
        (job_id, "FAILED"),
        (job_id, "IN_PROGRESS"),
    ]
    failed = next(r for r in logged if r["status"] == "FAILED")
    assert failed["harvestJobMessage"] == MESSAGE
    assert failed["time"]
    for delivery in deliveries:
        assert delivery.invocation.returncode == 0, delivery.invocation.logs
        assert_no_secret(event, delivery.invocation.logs)
    assert len(stack.responses.answers(event["RequestId"])) == 1


def finish(aws: LocalAws, job_id: str) -> None:
    """The job ends now (after the hand-over, whatever the machine's speed)."""
    harvest_jobs.STORE.finish(ACCOUNT_ID, aws.region, job_id)


def test_a_failure_after_hand_over_is_answered_by_its_notification_with_the_reason(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    aws.harvest.completion_delay = 300.0
    aws.harvest.outcome = "FAILED"
    event = stack.event("Create", stack.properties(setup, wait=True))
    job_id = stack.job_id(event)
    aws.harvest.failure_messages = {job_id: MESSAGE}
    stack.listen()
    hand_over(stack, aws, event)
    finish(aws, job_id)
    body = wait_for_answer(stack, event)
    assert body["Status"] == "FAILED"
    assert body["Reason"] == failed_reason(job_id)
    for delivery in stack.bus.wait():  # the invocation that answered read the ResponseURL: not logged
        assert delivery.invocation.returncode == 0, delivery.invocation.logs
        assert_no_secret(event, delivery.invocation.logs)
    assert poll_rules(stack, aws) == []
    # The scheduled polls have nothing left to fire, and CloudFormation got one answer.
    assert eventbridge.Scheduler(aws, [stack.function]).tick() == []
    assert len(stack.responses.answers(event["RequestId"])) == 1


def test_success_after_hand_over_is_answered_by_the_notification_not_by_a_poll(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    """No scheduled poll runs here: the answer can only come from the invocation the notification
    started, at once (how soon, in seconds, is a figure of ``make bench``, not of a test)."""
    aws.harvest.completion_delay = 300.0
    event = stack.event("Create", stack.properties(setup, wait=True))
    job_id = stack.job_id(event)
    stack.listen()
    hand_over(stack, aws, event)
    finish(aws, job_id)
    wait_for_answer(stack, event)
    job = dict(aws.mediapackage().describe_harvest_job(Id=job_id))
    assert_answer(stack.answered(event), "SUCCESS", physical_id=job_id, data=expected_data(job, "SUCCEEDED"))
    (answer,) = stack.responses.answers(event["RequestId"])
    assert answer.received >= harvest_jobs.STORE.finishes_at(ACCOUNT_ID, aws.region, job_id)
    # Only notifications' invocations ran (its creation's may run too, when delivered after the
    # hand-over): one of them looked at the job and gave the one answer.
    looked = [tick for tick in stack.bus.wait() if "Looking at the job now" in tick.invocation.logs]
    assert looked, "a notification's own invocation looked at the job"
    assert len(stack.responses.answers(event["RequestId"])) == 1
    assert poll_rules(stack, aws) == []


def test_a_lost_notification_leaves_the_answer_to_the_poll_which_says_no_reason_came(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    aws.harvest.completion_delay = 1.0
    aws.harvest.outcome = "FAILED"
    aws.harvest.notifications = False
    stack.listen()
    event = stack.event("Create", stack.properties(setup, wait=True))
    job_id = stack.job_id(event)
    hand_over(stack, aws, event)
    (tick,) = eventbridge.Scheduler(aws, [stack.function]).tick()
    assert tick.invocation.returncode == 0, tick.invocation.logs
    body = wait_for_answer(stack, event, timeout=10)
    assert body["Reason"] == (
        f"Harvest job {job_id} failed; MediaPackage sent no reason within {REASON_GRACE_SECONDS} s; "
        f"a late one appears in log group {stack.function.log_group}"
    )
    assert stack.bus.wait() == []
    assert harvest_jobs.STORE.notified == []
    assert poll_rules(stack, aws) == []


def notification(job: Mapping[str, Any], status: str, **changes: Any) -> dict[str, Any]:
    """A notification about ``job`` as MediaPackage words it, with ``changes`` made to it."""
    record = harvest_jobs.HarvestJobRecord(
        ACCOUNT_ID, "us-east-1", {**job, "Status": status}, started_at=0.0, finishes_at=0.0
    )
    event = harvest_jobs.notification(record, harvest_jobs.HarvestSettings())
    event.update(changes)
    return event


def test_forged_and_unrelated_events_change_nothing_and_are_logged_as_ignored(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    aws.harvest.completion_delay = 300.0
    event = stack.event("Create", stack.properties(setup, wait=True))
    job_id = stack.job_id(event)
    rule = hand_over(stack, aws, event)
    job = dict(aws.mediapackage().describe_harvest_job(Id=job_id))
    other = stack.event("Create", stack.properties(setup, wait=False))
    stack.deliver(other)
    other_job = dict(aws.mediapackage().describe_harvest_job(Id=stack.job_id(other)))
    malformed = notification(job, "SUCCEEDED")
    malformed["detail"] = {"harvest_job": {"id": job_id, "status": "DONE"}}
    forged = {
        "custom source": (notification(job, "SUCCEEDED", source="my.app"), "not a harvest job notification"),
        "malformed detail": (malformed, "malformed"),
        "no detail": (notification(job, "FAILED", detail="x"), "malformed"),
        "another job": (notification(other_job, "SUCCEEDED"), "no poll of this stack waits for"),
        # MediaPackage's own shape, but a status MediaPackage does not confirm: looked at once, not answered.
        "false status": (
            notification(
                job, "FAILED", detail={"harvest_job": {"id": job_id, "status": "FAILED"}, "message": "forged"}
            ),
            "Looking at the job now",
        ),
    }
    for name, (forgery, logged) in forged.items():
        invocation = stack.function.invoke(copy.deepcopy(forgery), invocation_id=name)
        assert invocation.returncode == 0, invocation.logs
        assert logged in invocation.logs, name
        assert_no_secret(event, invocation.logs)
        assert stack.responses.answers(event["RequestId"]) == [], name
        assert poll_rules(stack, aws) == [rule], name
    assert aws.mediapackage().describe_harvest_job(Id=job_id)["Status"] == "IN_PROGRESS"


def test_duplicate_notifications_and_a_poll_give_one_answer(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    """At-least-once delivery: the same notification twice at once, and a scheduled poll too."""
    aws.harvest.completion_delay = 300.0
    event = stack.event("Create", stack.properties(setup, wait=True))
    job_id = stack.job_id(event)
    hand_over(stack, aws, event)
    finish(aws, job_id)
    job = dict(aws.mediapackage().describe_harvest_job(Id=job_id))
    done = notification(job, "SUCCEEDED")
    ticks: list[eventbridge.Tick] = []
    scheduled = threading.Thread(
        target=lambda: ticks.extend(eventbridge.Scheduler(aws, [stack.function]).tick())
    )
    stack.bus.put(done)
    stack.bus.put(done)
    scheduled.start()
    scheduled.join(60)
    deliveries = stack.bus.wait()
    assert len(deliveries) == 2
    for invocation in [*(d.invocation for d in deliveries), *(t.invocation for t in ticks)]:
        assert invocation.returncode == 0, invocation.logs
    assert_answer(stack.answered(event), "SUCCESS", physical_id=job_id, data=expected_data(job, "SUCCEEDED"))
    assert poll_rules(stack, aws) == []


@pytest.mark.parametrize("switch", [True, False])
def test_the_local_mediapackage_announces_each_status_change_unless_switched_off(
    aws: LocalAws, setup: LocalSetup, switch: bool
) -> None:
    aws.harvest.notifications = switch
    aws.harvest.outcome = "FAILED"
    aws.harvest.completion_delay = 0.2
    heard: list[dict[str, Any]] = []
    harvest_jobs.STORE.listeners.append(heard.append)
    from local_aws.prerequisites import recent_window

    start, end = recent_window()
    aws.mediapackage().create_harvest_job(
        Id="job-1",
        OriginEndpointId=setup.endpoint_id,
        StartTime=start,
        EndTime=end,
        S3Destination={"BucketName": setup.bucket, "ManifestKey": "c/i.m3u8", "RoleArn": setup.role_arn},
    )
    threading.Event().wait(0.5)
    aws.mediapackage().describe_harvest_job(Id="job-1")
    if not switch:
        assert heard == []
        return
    assert [e["detail"]["harvest_job"]["status"] for e in heard] == ["IN_PROGRESS", "FAILED"]
    failed = heard[-1]
    assert failed["source"] == "aws.mediapackage"
    assert failed["detail-type"] == "MediaPackage HarvestJob Notification"
    assert failed["resources"] == [f"arn:aws:mediapackage:us-east-1:{ACCOUNT_ID}:harvest_jobs/job-1"]
    assert failed["detail"]["message"] == harvest_jobs.DEFAULT_FAILURE_MESSAGE
    assert "message" not in heard[0]["detail"]


def test_the_local_eventbridge_matches_the_patterns_the_stack_uses() -> None:
    event = {
        "source": "aws.mediapackage",
        "detail": {"harvest_job": {"id": "Stack-Clip-0123", "status": "FAILED"}},
    }
    assert eventbridge.matches({"source": ["aws.mediapackage"]}, event)
    assert not eventbridge.matches({"source": ["my.app"]}, event)
    assert eventbridge.matches({"detail": {"harvest_job": {"id": [{"prefix": "Stack-Clip-"}]}}}, event)
    assert not eventbridge.matches({"detail": {"harvest_job": {"id": [{"prefix": "Stack-Other-"}]}}}, event)
    assert eventbridge.matches({"detail": {"message": [{"exists": False}]}}, event)
    assert not eventbridge.matches({"detail": {"message": [{"exists": True}]}}, event)
    assert not eventbridge.matches({"detail-type": ["MediaPackage HarvestJob Notification"]}, event)
