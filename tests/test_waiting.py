"""Waiting for the harvest job (``wait_for_completion``), for real: the handler from the synthesized asset
in its own process, MediaPackage, EventBridge and Lambda permissions on the local AWS, and the local
scheduler firing the poller's rule the way EventBridge would on the next minute.

Latency is measured from the moment the local job finished to the moment CloudFormation's URL received
the answer, and bounded by the handler's poll interval (plus one DescribeHarvestJob and one PUT), not by
the speed of the machine.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

import cdk_mediapackage_harvest_contract as contract
import pytest
from mediapackage_harvest_handler import waiting
from support import (
    ACCOUNT_ID,
    REASON_GRACE_SECONDS,
    Answered,
    LocalSetup,
    Stack,
    assert_answer,
    expected_data,
    failed_create_id,
    recent_window,
    signature,
)

from local_aws import eventbridge, harvest_jobs
from local_aws.server import Faults, LocalAws

#: A first invocation this short has no time to wait (the handler keeps ANSWER_MARGIN_SECONDS for
#: finishing): it creates the job and hands over to the poller at once.
SHORT_MS = 20_000
#: A scheduled poll this short looks once and returns while the job still runs.
SHORT_POLL_MS = 20_000
#: One DescribeHarvestJob and one HTTPS PUT on loopback, on a busy machine.
REQUEST_SLACK = 2.0


def prefix(stack: Stack) -> str:
    return stack.function.environment[contract.Environment.POLL_RULE_PREFIX]


def scheduler(stack: Stack, aws: LocalAws, timeout_ms: int | None = None) -> eventbridge.Scheduler:
    function = (
        stack.function if timeout_ms is None else dataclasses.replace(stack.function, timeout_ms=timeout_ms)
    )
    return eventbridge.Scheduler(aws, [function])


def hand_over(stack: Stack, aws: LocalAws, event: dict[str, Any]) -> dict[str, Any]:
    """A first invocation that runs out of time while the job runs: no answer, one rule. Its rule."""
    invocation = dataclasses.replace(stack.function, timeout_ms=SHORT_MS).invoke(event, invocation_id="first")
    assert invocation.returncode == 0, invocation.logs
    assert_no_secret(event, invocation.logs)
    assert stack.responses.answers(event["RequestId"]) == []
    (rule,) = scheduler(stack, aws).rules(prefix(stack))
    return rule


def assert_no_secret(event: Mapping[str, Any], logs: str) -> None:
    """The ResponseURL travels in the poller's target input; it must never reach a log."""
    signed = signature(event["ResponseURL"])
    assert len(signed) == 64
    assert signed[:16] not in logs
    assert "X-Amz-" not in logs


def poll_until_answered(stack: Stack, aws: LocalAws, event: dict[str, Any], max_ticks: int = 3) -> int:
    """Fire the rule until CloudFormation has an answer; the number of ticks it took."""
    for tick in range(1, max_ticks + 1):
        (fired,) = scheduler(stack, aws).tick()
        assert fired.invocation.returncode == 0, fired.invocation.logs
        assert_no_secret(event, fired.invocation.logs)
        if stack.responses.answers(event["RequestId"]):
            return tick
    raise AssertionError(f"no answer after {max_ticks} scheduled polls")


def answered(stack: Stack, aws: LocalAws, event: dict[str, Any], path: str) -> Answered:
    """The event answered in its first invocation, or handed over and answered by the poller."""
    if path == "first invocation":
        return stack.deliver(event)
    hand_over(stack, aws, event)
    poll_until_answered(stack, aws, event)
    return stack.answered(event)


def assert_create_failed(stack: Stack, aws: LocalAws, done: Answered, reason: str) -> None:
    """The Create answered FAILED with ``reason``, and nothing of the poller is left."""
    body = assert_answer(done, "FAILED", reason=reason)
    # A failed Create gets crhelper's made-up physical id on both paths; Delete accepts any.
    assert re.fullmatch(failed_create_id(stack), body["PhysicalResourceId"])
    assert_cleaned_up(stack, aws)


def assert_cleaned_up(stack: Stack, aws: LocalAws) -> None:
    """No rule and no target left, and the function's resource policy is the template's alone."""
    local = scheduler(stack, aws)
    assert local.rules(prefix(stack)) == []
    assert template_statements(stack, aws)


def template_statements(stack: Stack, aws: LocalAws) -> bool:
    """The function's resource policy holds exactly the template's permissions, for the poller's
    rules (``rule/<prefix>*``) and for the stack's notification rule: the handler never adds or
    leaves one of its own."""
    statements = scheduler(stack, aws).statements(stack.function)
    sources = sorted(statement["Condition"]["ArnLike"]["AWS:SourceArn"] for statement in statements)
    (notification_rule,) = [rule["Arn"] for rule in scheduler(stack, aws).rules() if "EventPattern" in rule]
    return sources == sorted(
        [f"arn:aws:events:us-east-1:{ACCOUNT_ID}:rule/{prefix(stack)}*", notification_rule]
    )


def latency(aws: LocalAws, job_id: str, stack: Stack, event: Mapping[str, Any]) -> float:
    """Seconds from the job finishing on the local AWS to CloudFormation receiving the answer."""
    (answer,) = stack.responses.answers(event["RequestId"])
    return answer.received - harvest_jobs.STORE.finishes_at(ACCOUNT_ID, aws.region, job_id)


def describe(aws: LocalAws, job_id: str) -> dict[str, Any]:
    return dict(aws.mediapackage().describe_harvest_job(Id=job_id))


def test_a_job_finishing_during_the_first_invocation_is_answered_within_the_poll_interval(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    aws.harvest.completion_delay = 2.0
    event = stack.event("Create", stack.properties(setup, wait=True))
    before = aws.faults.stats.copy()
    done = stack.deliver(event)
    job_id = stack.job_id(event)
    assert_answer(done, "SUCCESS", physical_id=job_id, data=expected_data(describe(aws, job_id), "SUCCEEDED"))
    seconds = latency(aws, job_id, stack, event)
    assert 0 < seconds <= contract.POLL_INTERVAL_SECONDS + REQUEST_SLACK
    # No poller was set up: not one request to EventBridge or Lambda.
    assert aws.faults.stats["events"] == before["events"] == 0
    assert aws.faults.stats["lambda"] == before["lambda"]


def test_a_job_outliving_the_first_invocation_completes_through_the_poller(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    aws.harvest.completion_delay = 6.0
    event = stack.event("Create", stack.properties(setup, wait=True))
    job_id = stack.job_id(event)
    rule = hand_over(stack, aws, event)
    assert rule["Name"].startswith(prefix(stack))
    assert len(rule["Name"]) <= contract.MAX_RULE_NAME
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    local = scheduler(stack, aws)
    (target,) = local.targets(rule["Name"])
    assert target["Arn"] == stack.function.arn
    assert len(target["Input"]) < contract.MAX_TARGET_INPUT
    polled = json.loads(target["Input"])
    assert "ResourceProperties" not in polled
    assert polled[waiting.WAIT_KEY]["Id"] == job_id
    assert local.allowed(stack.function, rule["Arn"])  # through the template's one permission
    assert template_statements(stack, aws)

    # A poll that runs out of time while the job still runs answers nothing and keeps the rule.
    (early,) = scheduler(stack, aws, timeout_ms=SHORT_POLL_MS).tick()
    assert early.invocation.returncode == 0, early.invocation.logs
    assert stack.responses.answers(event["RequestId"]) == []
    assert local.rules(prefix(stack)) == [rule]

    assert poll_until_answered(stack, aws, event) == 1
    assert_answer(
        stack.answered(event),
        "SUCCESS",
        physical_id=job_id,
        data=expected_data(describe(aws, job_id), "SUCCEEDED"),
    )
    assert latency(aws, job_id, stack, event) <= contract.POLL_INTERVAL_SECONDS + REQUEST_SLACK
    assert_cleaned_up(stack, aws)


def no_reason(stack: Stack, job_id: str) -> str:
    """The Reason of a failed job whose notification never came (none are delivered here)."""
    return (
        f"Harvest job {job_id} failed; MediaPackage sent no reason within {REASON_GRACE_SECONDS} s; "
        f"a late one appears in log group {stack.function.log_group}"
    )


@pytest.mark.parametrize("path", ["first invocation", "poller"])
def test_a_failed_job_fails_the_resource_naming_the_job_and_where_its_reason_goes(
    stack: Stack, aws: LocalAws, setup: LocalSetup, path: str
) -> None:
    aws.harvest.completion_delay = 1.0
    aws.harvest.outcome = "FAILED"
    event = stack.event("Create", stack.properties(setup, wait=True))
    assert_create_failed(stack, aws, answered(stack, aws, event, path), no_reason(stack, stack.job_id(event)))


@pytest.mark.parametrize("path", ["first invocation", "poller"])
def test_the_completion_timeout_fails_the_resource(
    stack: Stack, aws: LocalAws, setup: LocalSetup, path: str
) -> None:
    aws.harvest.completion_delay = 300.0
    event = stack.event("Create", stack.properties(setup, wait=True, CompletionTimeout="7"))
    job_id = stack.job_id(event)
    assert_create_failed(
        stack,
        aws,
        answered(stack, aws, event, path),
        f"Harvest job {job_id} was still IN_PROGRESS when the completion timeout of 7 s ended; it "
        "goes on in MediaPackage. Raise completion_timeout, or set wait_for_completion=False",
    )
    assert describe(aws, job_id)["Status"] == "IN_PROGRESS"


def test_a_logical_id_of_200_characters_fits_the_rule_name(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    stack.logical_id = "HarvestJob" + "L" * 190
    aws.harvest.completion_delay = 3.0
    event = stack.event("Create", stack.properties(setup, wait=True))
    rule = hand_over(stack, aws, event)
    assert re.fullmatch(re.escape(prefix(stack)) + "[0-9a-f]{20}", rule["Name"])
    assert stack.logical_id[:100] in rule["Description"]
    poll_until_answered(stack, aws, event)
    job_id = stack.job_id(event)
    assert_answer(
        stack.answered(event),
        "SUCCESS",
        physical_id=job_id,
        data=expected_data(describe(aws, job_id), "SUCCEEDED"),
    )
    assert_cleaned_up(stack, aws)


def test_without_waiting_the_job_is_answered_in_progress(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    aws.harvest.completion_delay = 60.0
    event = stack.event("Create", stack.properties(setup, wait=False))
    before = aws.faults.stats.copy()
    done = stack.deliver(event)
    # CreateHarvestJob only: no DescribeHarvestJob, nothing to EventBridge.
    assert aws.faults.stats["mediapackage"] == before["mediapackage"] + 1
    assert aws.faults.stats["events"] == 0
    job_id = stack.job_id(event)
    assert_answer(
        done, "SUCCESS", physical_id=job_id, data=expected_data(describe(aws, job_id), "IN_PROGRESS")
    )


def test_an_update_waits_only_for_a_new_job_and_delete_never_waits(
    stack: Stack, aws: LocalAws, setup: LocalSetup
) -> None:
    aws.harvest.completion_delay = 120.0
    created = stack.event("Create", stack.properties(setup, wait=False))
    old_id = stack.job_id(created)
    stack.deliver(created)

    # Only the waiting properties change: the job is kept, and the update does not wait for it.
    waiting = stack.properties(setup, wait=True)
    waiting.update(
        StartTime=created["ResourceProperties"]["StartTime"], EndTime=created["ResourceProperties"]["EndTime"]
    )
    kept = stack.event("Update", waiting, physical_id=old_id, old_properties=created["ResourceProperties"])
    assert_answer(
        stack.deliver(kept),
        "SUCCESS",
        physical_id=old_id,
        data=expected_data(describe(aws, old_id), "IN_PROGRESS"),
    )

    # A changed window makes a new job, and the update waits for that one.
    aws.harvest.completion_delay = 1.0
    start, end = recent_window(minutes=20)  # not the created window, whatever the clock says
    changed = stack.event(
        "Update",
        stack.properties(setup, wait=True, StartTime=start, EndTime=end),
        physical_id=old_id,
        old_properties=kept["ResourceProperties"],
    )
    new_id = stack.job_id(changed)
    assert_answer(
        stack.deliver(changed),
        "SUCCESS",
        physical_id=new_id,
        data=expected_data(describe(aws, new_id), "SUCCEEDED"),
    )
    assert describe(aws, old_id)["Status"] == "IN_PROGRESS"

    # Delete answers at once, with the job still running.
    described = aws.faults.stats["mediapackage"]
    delete = stack.event("Delete", created["ResourceProperties"], physical_id=old_id)
    assert_answer(stack.deliver(delete), "SUCCESS", physical_id=old_id)
    assert aws.faults.stats["mediapackage"] == described
    assert aws.faults.stats["events"] == 0


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_a_poller_that_cannot_be_set_up_fails_the_resource_and_leaves_nothing(
    stack: Stack, aws: LocalAws, setup: LocalSetup, request_type: str
) -> None:
    """The rule is created, then PutTargets fails past botocore's retries: FAILED at once, naming
    the job and the error, with the old physical id for an Update, and the rule removed again."""
    aws.harvest.completion_delay = 120.0
    old_id = None
    old_properties = None
    if request_type == "Update":
        created = stack.event("Create", stack.properties(setup, wait=False))
        old_id, old_properties = stack.job_id(created), created["ResourceProperties"]
        stack.deliver(created)
    event = stack.event(
        request_type,
        stack.properties(setup, wait=True, EndTime=recent_window(ended_ago=2)[1]),
        **({"physical_id": old_id, "old_properties": old_properties} if old_id else {}),
    )
    job_id = stack.job_id(event)
    # EventBridge: PutRule passes, then every attempt of PutTargets gets a 500.
    aws.faults = Faults(services=frozenset({"events"}), error_status=500, error_after=1, error_next=4)
    invocation = dataclasses.replace(stack.function, timeout_ms=SHORT_MS).invoke(event, invocation_id="first")
    assert invocation.returncode == 0, invocation.logs
    assert aws.faults.stats["events:500"] == 4
    (answer,) = stack.responses.answers(event["RequestId"])
    assert answer.body["Status"] == "FAILED"
    assert answer.body["PhysicalResourceId"] == (old_id or job_id)
    assert answer.body["Reason"].startswith(
        f"Harvest job {job_id} is still IN_PROGRESS; polling it could not be set up: "
        "InternalServerErrorException: Injected fault"
    )
    assert answer.body["Data"] == {}
    assert_cleaned_up(stack, aws)


@pytest.mark.parametrize("outcome", ["SUCCEEDED", "FAILED"])
def test_an_update_through_the_poller_answers_the_new_job_or_keeps_the_old_id(
    stack: Stack, aws: LocalAws, setup: LocalSetup, outcome: str
) -> None:
    aws.harvest.completion_delay = 1.0
    created = stack.event("Create", stack.properties(setup, wait=False))
    old_id = stack.job_id(created)
    stack.deliver(created)
    aws.harvest.completion_delay = 4.0
    aws.harvest.outcome = outcome
    start, end = recent_window(minutes=20)
    update = stack.event(
        "Update",
        stack.properties(setup, wait=True, StartTime=start, EndTime=end),
        physical_id=old_id,
        old_properties=created["ResourceProperties"],
    )
    new_id = stack.job_id(update)
    hand_over(stack, aws, update)
    poll_until_answered(stack, aws, update)
    if outcome == "SUCCEEDED":
        assert_answer(
            stack.answered(update),
            "SUCCESS",
            physical_id=new_id,
            data=expected_data(describe(aws, new_id), "SUCCEEDED"),
        )
    else:  # the old id: CloudFormation rolls back to the old job, which is still there
        assert_answer(
            stack.answered(update),
            "FAILED",
            physical_id=old_id,
            reason=no_reason(stack, new_id),
        )
    assert_cleaned_up(stack, aws)
