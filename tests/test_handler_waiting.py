"""The waiting parts of the handler on their own: parsing the wait properties, the polling loop (with a
fake clock, and botocore's Stubber checking each DescribeHarvestJob against the service model), and the
poller's rule name and input. End-to-end waiting is in ``test_waiting.py``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import mediapackage_harvest_handler as handler
import pytest
from botocore.stub import Stubber

JOB_ID = "HarvestStack-HarvestJob4AD607F3-0123456789ab"


@pytest.fixture
def stub() -> Iterator[Stubber]:
    with Stubber(handler.mediapackage_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def described(status: str) -> dict[str, Any]:
    return {
        "Arn": f"arn:aws:mediapackage:us-east-1:123456789012:harvest_jobs/{JOB_ID}",
        "ChannelId": "live-channel",
        "CreatedAt": "2026-11-28T16:00:00Z",
        "EndTime": "2026-11-28T15:30:00Z",
        "Id": JOB_ID,
        "OriginEndpointId": "live-hls",
        "S3Destination": {
            "BucketName": "harvest-clips",
            "ManifestKey": "clips/index.m3u8",
            "RoleArn": "arn:aws:iam::123456789012:role/harvest",
        },
        "StartTime": "2026-11-28T15:00:00Z",
        "Status": status,
    }


class FakeTime:
    """A wall clock that advances only when the loop sleeps."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def budget(seconds: float) -> handler.Budget:
    return handler.Budget(now=datetime.now(UTC), stop_at=time.monotonic() + seconds)


def expect_statuses(stub: Stubber, *statuses: str) -> None:
    for status in statuses:
        stub.add_response("describe_harvest_job", described(status), {"Id": JOB_ID})


def test_polls_every_interval_until_the_job_succeeds(stub: Stubber) -> None:
    fake = FakeTime()
    expect_statuses(stub, "IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED")
    pending = handler.PendingWait(JOB_ID, fake.now + 600, 600)
    job = handler.wait_for_job(
        handler.mediapackage_client(), pending, budget(300), sleep=fake.sleep, clock=fake.clock
    )
    assert job is not None
    assert job["Status"] == "SUCCEEDED"
    assert fake.sleeps == [handler.POLL_INTERVAL_SECONDS] * 2


def test_a_failed_job_raises_naming_it_and_the_notification_event(stub: Stubber) -> None:
    fake = FakeTime()
    expect_statuses(stub, "IN_PROGRESS", "FAILED")
    pending = handler.PendingWait(JOB_ID, fake.now + 600, 600)
    with pytest.raises(handler.HarvestJobError) as caught:
        handler.wait_for_job(
            handler.mediapackage_client(), pending, budget(300), sleep=fake.sleep, clock=fake.clock
        )
    assert str(caught.value) == (
        f"Harvest job {JOB_ID} failed. MediaPackage gives the cause only in the 'MediaPackage HarvestJob "
        "Notification' event (EventBridge, source aws.mediapackage)"
    )


def test_the_last_poll_is_at_the_deadline_then_it_fails(stub: Stubber) -> None:
    fake = FakeTime()
    expect_statuses(stub, "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS")
    pending = handler.PendingWait(JOB_ID, fake.now + 7, 7)
    with pytest.raises(handler.HarvestJobError) as caught:
        handler.wait_for_job(
            handler.mediapackage_client(), pending, budget(300), sleep=fake.sleep, clock=fake.clock
        )
    assert fake.sleeps == [5, 2]
    assert str(caught.value).startswith(
        f"Harvest job {JOB_ID} was still IN_PROGRESS when the completion timeout of 7 s ended"
    )


def test_out_of_budget_returns_none_without_sleeping_past_it(stub: Stubber) -> None:
    fake = FakeTime()
    expect_statuses(stub, "IN_PROGRESS")
    pending = handler.PendingWait(JOB_ID, fake.now + 600, 600)
    job = handler.wait_for_job(
        handler.mediapackage_client(),
        pending,
        budget(handler.POLL_INTERVAL_SECONDS - 1),
        sleep=fake.sleep,
        clock=fake.clock,
    )
    assert job is None
    assert fake.sleeps == []


def test_a_job_that_vanished_fails(stub: Stubber) -> None:
    stub.add_client_error(
        "describe_harvest_job", "NotFoundException", "gone", 404, expected_params={"Id": JOB_ID}
    )
    pending = handler.PendingWait(JOB_ID, time.time() + 600, 600)
    with pytest.raises(handler.HarvestJobError, match=f"Harvest job {JOB_ID} was not found while waiting"):
        handler.wait_for_job(handler.mediapackage_client(), pending, budget(300))


def test_the_budget_keeps_the_answer_margin() -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 100_000

    left = handler.Budget.of(Context()).left()
    assert 100 - handler.ANSWER_MARGIN_SECONDS - 1 < left <= 100 - handler.ANSWER_MARGIN_SECONDS


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        pytest.param({}, None, id="absent"),
        pytest.param({"WaitForCompletion": "false"}, None, id="false"),
        pytest.param({"WaitForCompletion": "true"}, handler.DEFAULT_COMPLETION_TIMEOUT_SECONDS, id="default"),
        pytest.param({"WaitForCompletion": "true", "CompletionTimeout": "1"}, 1, id="1"),
        pytest.param({"WaitForCompletion": "true", "CompletionTimeout": "3600"}, 3600, id="3600"),
        pytest.param({"WaitForCompletion": "false", "CompletionTimeout": "60"}, None, id="timeout-unused"),
    ],
)
def test_wait_properties(properties: dict[str, Any], expected: int | None) -> None:
    assert handler.completion_timeout(properties) == expected


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        pytest.param(
            {"WaitForCompletion": "yes"},
            "Property WaitForCompletion is 'yes'; expected 'true' or 'false'",
            id="yes",
        ),
        pytest.param({"WaitForCompletion": True}, "Property WaitForCompletion is True;", id="bool"),
        pytest.param({"WaitForCompletion": "True"}, "Property WaitForCompletion is 'True';", id="capital"),
        pytest.param(
            {"CompletionTimeout": "0"},
            "Property CompletionTimeout is '0'; expected whole seconds from 1 to 3600",
            id="0",
        ),
        pytest.param({"CompletionTimeout": "3601"}, "Property CompletionTimeout is '3601';", id="3601"),
        pytest.param({"CompletionTimeout": "1.5"}, "Property CompletionTimeout is '1.5';", id="fraction"),
        pytest.param({"CompletionTimeout": "-5"}, "Property CompletionTimeout is '-5';", id="negative"),
        pytest.param({"CompletionTimeout": "٣٠"}, "Property CompletionTimeout is '٣٠';", id="arabic-digits"),
        pytest.param({"CompletionTimeout": 60}, "Property CompletionTimeout is 60;", id="number"),
        pytest.param({"CompletionTimeout": "9" * 5000}, "Property CompletionTimeout is '999", id="huge"),
    ],
)
def test_bad_wait_properties_name_the_property_and_value(properties: dict[str, Any], message: str) -> None:
    with pytest.raises(handler.HarvestJobError) as caught:
        handler.completion_timeout({"WaitForCompletion": "true", **properties})
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("length", [0, 1, 29, 56, 57, 200, 255])
def test_rule_names_fit_eventbridge_for_any_logical_id(length: int) -> None:
    prefix = "HarvestJobPoll-0123456789-"
    name = handler.poll_rule_name(prefix, "L" * length)
    assert len(name) <= handler.MAX_RULE_NAME
    assert name.startswith(prefix + "L" * min(length, 29))
    assert name != handler.poll_rule_name(prefix, "L" * length)


def test_rule_names_keep_only_letters_and_digits_of_the_logical_id() -> None:
    name = handler.poll_rule_name("P-", "Job/ü_1.x")
    assert name.startswith("P-Job1x-")


def test_the_rule_prefix_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(handler.POLL_RULE_PREFIX_VARIABLE, "HarvestJobPoll-0123456789-")
    assert handler.poll_rule_prefix() == "HarvestJobPoll-0123456789-"
    monkeypatch.delenv(handler.POLL_RULE_PREFIX_VARIABLE)
    with pytest.raises(handler.HarvestJobError, match="HARVEST_POLL_RULE_PREFIX is ''"):
        handler.poll_rule_prefix()


def test_the_poll_event_is_small_whatever_the_properties() -> None:
    huge = {"S3Destination": {"ManifestKey": "é" * 1024}, "OriginEndpointId": "e" * 3000}
    event = {
        "RequestType": "Update",
        "ResponseURL": "https://example.com/" + "u" * 1500,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/S/1",
        "RequestId": "r",
        "LogicalResourceId": "L" * 255,
        "PhysicalResourceId": JOB_ID,
        "ResourceType": "Custom::MediaPackageHarvestJob",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "ResourceProperties": huge,
        "OldResourceProperties": huge,
    }
    pending = handler.PendingWait(JOB_ID, 1_000_000.5, 3300)
    polled = handler.poll_event(event, pending, "arn:aws:events:us-east-1:123456789012:rule/R", "R")
    assert "ResourceProperties" not in polled
    assert "OldResourceProperties" not in polled
    assert polled["PhysicalResourceId"] == JOB_ID
    assert polled["CrHelperPoll"] is True
    assert handler.PendingWait.from_event(polled) == pending
    assert len(json.dumps(polled)) < 2500


@pytest.mark.parametrize(
    "state",
    [
        None,
        "x",
        {},
        {"Id": JOB_ID, "Deadline": "soon", "TimeoutSeconds": 60},
        {"Id": 1, "Deadline": 1, "TimeoutSeconds": 1},
    ],
)
def test_a_poll_event_without_a_valid_wait_state_is_refused(state: Any) -> None:
    with pytest.raises(handler.HarvestJobError, match="The poll event has no valid HarvestJobWait"):
        handler.PendingWait.from_event({handler.WAIT_KEY: state} if state is not None else {})


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:lambda:us-east-1:123456789012:function:Handler",
        "arn:aws:lambda:us-east-1:123456789012:function:Handler:live",
        "arn:aws:lambda:us-east-1:123456789012:function:Handler:7",
    ],
)
def test_the_poller_targets_the_unqualified_function(arn: str) -> None:
    class Context:
        invoked_function_arn = arn

    assert (
        handler.unqualified_function_arn(Context())
        == "arn:aws:lambda:us-east-1:123456789012:function:Handler"
    )


def test_a_describe_failing_past_botocores_retries_is_polled_again(stub: Stubber) -> None:
    """Throttling and 5xx while waiting cost a poll, not the deployment; a denial fails at once."""
    fake = FakeTime()
    stub.add_client_error(
        "describe_harvest_job", "TooManyRequestsException", "slow down", 429, expected_params={"Id": JOB_ID}
    )
    stub.add_client_error(
        "describe_harvest_job", "ServiceUnavailableException", "busy", 503, expected_params={"Id": JOB_ID}
    )
    expect_statuses(stub, "SUCCEEDED")
    pending = handler.PendingWait(JOB_ID, fake.now + 600, 600)
    job = handler.wait_for_job(
        handler.mediapackage_client(), pending, budget(300), sleep=fake.sleep, clock=fake.clock
    )
    assert job is not None
    assert fake.sleeps == [handler.POLL_INTERVAL_SECONDS] * 2

    stub.add_client_error(
        "describe_harvest_job", "ForbiddenException", "denied", 403, expected_params={"Id": JOB_ID}
    )
    with pytest.raises(
        handler.HarvestJobError, match=f"DescribeHarvestJob {JOB_ID} failed: ForbiddenException: denied"
    ):
        handler.wait_for_job(
            handler.mediapackage_client(), pending, budget(300), sleep=fake.sleep, clock=fake.clock
        )


def test_a_describe_failing_until_the_deadline_says_the_status_is_not_known(stub: Stubber) -> None:
    fake = FakeTime()
    for _ in range(2):
        stub.add_client_error(
            "describe_harvest_job",
            "TooManyRequestsException",
            "slow down",
            429,
            expected_params={"Id": JOB_ID},
        )
    pending = handler.PendingWait(JOB_ID, fake.now + 5, 5)
    with pytest.raises(handler.HarvestJobError) as caught:
        handler.wait_for_job(
            handler.mediapackage_client(), pending, budget(300), sleep=fake.sleep, clock=fake.clock
        )
    assert str(caught.value).startswith(
        f"Harvest job {JOB_ID} was still not known (DescribeHarvestJob failing) when the completion "
        "timeout of 5 s ended"
    )
