"""The waiting parts of the handler on their own: parsing the wait properties, the polling loop (with a
fake clock, and botocore's Stubber checking each DescribeHarvestJob against the service model), and the
poller's rule name and input. End-to-end waiting is in ``test_waiting.py``."""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules
import pytest
import support
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from mediapackage_harvest_handler import (
    answering,
    entry,
    jobs_v1,
    lifecycle,
    log_streams,
    outbound,
    poll_rules,
    waiting,
)
from support import ACCOUNT_ID, FUNCTION_ARN, REGION, Context, function_arn

JOB_ID = "HarvestStack-HarvestJob4AD607F3-0123456789ab"


@pytest.fixture
def stub() -> Iterator[Stubber]:
    with Stubber(outbound.mediapackage_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def job_properties(**destination: str) -> dict[str, Any]:
    """What the job ``JOB_ID`` harvests (``destination`` changes its S3Destination)."""
    return {
        "OriginEndpointId": "live-hls",
        "StartTime": "2026-11-28T15:00:00Z",
        "EndTime": "2026-11-28T15:30:00Z",
        "S3Destination": {
            "BucketName": "harvest-clips",
            "ManifestKey": "clips/index.m3u8",
            "RoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/harvest",
            **destination,
        },
    }


def described(status: str) -> dict[str, Any]:
    return {
        "Arn": f"arn:aws:mediapackage:{REGION}:{ACCOUNT_ID}:harvest_jobs/{JOB_ID}",
        "ChannelId": "live-channel",
        "CreatedAt": "2026-11-28T16:00:00Z",
        "Id": JOB_ID,
        **job_properties(),
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


def budget(seconds: float) -> waiting.Budget:
    return waiting.Budget(now=datetime.now(UTC), stop_at=time.monotonic() + seconds)


def expect_statuses(stub: Stubber, *statuses: str) -> None:
    for status in statuses:
        stub.add_response("describe_harvest_job", described(status), {"Id": JOB_ID})


def test_polls_every_interval_until_the_job_succeeds(stub: Stubber) -> None:
    fake = FakeTime()
    expect_statuses(stub, "IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED")
    pending = waiting.PendingWait(JOB_ID, fake.now + 600, 600)
    job = jobs_v1.wait_for_job(
        outbound.mediapackage_client(), pending, budget(300), sleep=fake.sleep, clock=fake.clock
    )
    assert job is not None
    assert job["Status"] == "SUCCEEDED"
    assert fake.sleeps == [contract.POLL_INTERVAL_SECONDS] * 2


def test_a_failed_job_without_a_reason_says_so_and_where_a_late_one_appears(
    stub: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeTime()
    expect_statuses(stub, "IN_PROGRESS", "FAILED")
    pending = waiting.PendingWait(JOB_ID, fake.now + 600, 600)
    reads: list[str] = []
    monkeypatch.setenv(contract.Environment.LOG_GROUP, "/aws/lambda/Handler")
    monkeypatch.setattr(log_streams, "read_reason", lambda job_id: reads.append(job_id))
    with pytest.raises(answering.RequestError) as caught:
        jobs_v1.wait_for_job(
            outbound.mediapackage_client(), pending, budget(300), sleep=fake.sleep, clock=fake.clock
        )
    assert str(caught.value) == (
        f"Harvest job {JOB_ID} failed; MediaPackage sent no reason within 30 s; a late one appears in "
        "log group /aws/lambda/Handler"
    )
    # Looked for once a second through the grace, after the one poll interval before the failure.
    assert fake.sleeps == [contract.POLL_INTERVAL_SECONDS] + [contract.REASON_LOOK_INTERVAL_SECONDS] * 30
    assert reads == [JOB_ID] * 31


def test_a_failed_job_carries_the_reason_its_notification_left(
    stub: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeTime()
    expect_statuses(stub, "FAILED")
    pending = waiting.PendingWait(JOB_ID, fake.now + 600, 600)
    monkeypatch.setenv(contract.Environment.LOG_GROUP, "/aws/lambda/Handler")
    found = iter([None, None, "Unable to write to S3: Access Denied"])
    monkeypatch.setattr(log_streams, "read_reason", lambda _job_id: next(found))
    with pytest.raises(answering.RequestError) as caught:
        jobs_v1.wait_for_job(
            outbound.mediapackage_client(), pending, budget(300), sleep=fake.sleep, clock=fake.clock
        )
    assert str(caught.value) == f"Harvest job {JOB_ID} failed: Unable to write to S3: Access Denied"
    assert fake.sleeps == [1.0, 1.0]


def test_the_last_poll_is_at_the_deadline_then_it_fails(stub: Stubber) -> None:
    fake = FakeTime()
    expect_statuses(stub, "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS")
    pending = waiting.PendingWait(JOB_ID, fake.now + 7, 7)
    with pytest.raises(answering.RequestError) as caught:
        jobs_v1.wait_for_job(
            outbound.mediapackage_client(), pending, budget(300), sleep=fake.sleep, clock=fake.clock
        )
    assert fake.sleeps == [5, 2]
    assert str(caught.value).startswith(
        f"Harvest job {JOB_ID} was still IN_PROGRESS when the completion timeout of 7 s ended"
    )


def test_out_of_budget_returns_none_without_sleeping_past_it(stub: Stubber) -> None:
    fake = FakeTime()
    expect_statuses(stub, "IN_PROGRESS")
    pending = waiting.PendingWait(JOB_ID, fake.now + 600, 600)
    job = jobs_v1.wait_for_job(
        outbound.mediapackage_client(),
        pending,
        budget(contract.POLL_INTERVAL_SECONDS - 1),
        sleep=fake.sleep,
        clock=fake.clock,
    )
    assert job is None
    assert fake.sleeps == []


def test_a_job_that_vanished_fails(stub: Stubber) -> None:
    stub.add_client_error(
        "describe_harvest_job", "NotFoundException", "gone", 404, expected_params={"Id": JOB_ID}
    )
    pending = waiting.PendingWait(JOB_ID, time.time() + 600, 600)
    with pytest.raises(answering.RequestError, match=f"Harvest job {JOB_ID} was not found while waiting"):
        jobs_v1.wait_for_job(outbound.mediapackage_client(), pending, budget(300))


def test_the_budget_keeps_the_answer_margin() -> None:
    # Context(seconds): a Lambda context with that many seconds left.

    left = waiting.Budget.of(Context(600)).left()
    assert 600 - contract.ANSWER_MARGIN_SECONDS - 1 < left <= 600 - contract.ANSWER_MARGIN_SECONDS
    assert waiting.Budget.of(Context(contract.ANSWER_MARGIN_SECONDS - 1)).left() <= 0
    # The margin covers the call under way and the two calls that hand over to the poller.
    assert contract.ANSWER_MARGIN_SECONDS > 3 * contract.CALL_SECONDS


def test_the_first_look_waits_one_interval_unless_the_budget_is_shorter(stub: Stubber) -> None:
    fake = FakeTime()
    expect_statuses(stub, "SUCCEEDED")
    pending = waiting.PendingWait(JOB_ID, fake.now + 600, 600)
    client = outbound.mediapackage_client()
    job = jobs_v1.wait_for_job(
        client, pending, budget(300), first_look_after=5, sleep=fake.sleep, clock=fake.clock
    )
    assert job is not None
    assert fake.sleeps == [5]
    short = jobs_v1.wait_for_job(
        client, pending, budget(4), first_look_after=5, sleep=fake.sleep, clock=fake.clock
    )
    assert short is None  # no DescribeHarvestJob at all: the Stubber has no response left


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        pytest.param({}, None, id="absent"),
        pytest.param({"WaitForCompletion": "false"}, None, id="false"),
        pytest.param(
            {"WaitForCompletion": "true"}, contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS, id="default"
        ),
        pytest.param({"WaitForCompletion": "true", "CompletionTimeout": "1"}, 1, id="1"),
        pytest.param(
            {"WaitForCompletion": "true", "CompletionTimeout": "3420"},
            3420,
            id="3420, the construct's largest",
        ),
        pytest.param({"WaitForCompletion": "false", "CompletionTimeout": "60"}, None, id="timeout-unused"),
    ],
)
def test_wait_properties(properties: dict[str, Any], expected: int | None) -> None:
    assert waiting.completion_timeout(properties) == expected


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
            "Property CompletionTimeout is '0'; expected whole seconds from 1 to 3420",
            id="0",
        ),
        pytest.param({"CompletionTimeout": "3421"}, "Property CompletionTimeout is '3421';", id="3421"),
        pytest.param({"CompletionTimeout": "1.5"}, "Property CompletionTimeout is '1.5';", id="fraction"),
        pytest.param({"CompletionTimeout": "-5"}, "Property CompletionTimeout is '-5';", id="negative"),
        pytest.param({"CompletionTimeout": "٣٠"}, "Property CompletionTimeout is '٣٠';", id="arabic-digits"),
        pytest.param({"CompletionTimeout": 60}, "Property CompletionTimeout is 60;", id="number"),
        pytest.param({"CompletionTimeout": "9" * 5000}, "Property CompletionTimeout is '999", id="huge"),
    ],
)
def test_bad_wait_properties_name_the_property_and_value(properties: dict[str, Any], message: str) -> None:
    with pytest.raises(answering.RequestError) as caught:
        waiting.completion_timeout({"WaitForCompletion": "true", **properties})
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("prefix", ["HarvestJobPoll-0123456789-", "P" * contract.MAX_POLL_RULE_PREFIX_LENGTH])
def test_a_rule_name_is_the_prefix_and_a_digest_of_the_job_id(prefix: str) -> None:
    """Derived from the job alone, so that the job's notification finds the rule polling it."""
    name = poll_rules.rule_name(prefix, JOB_ID)
    assert len(name) <= contract.MAX_RULE_NAME
    assert re.fullmatch(re.escape(prefix) + "[0-9a-f]{20}", name)
    assert name == poll_rules.rule_name(prefix, JOB_ID)
    assert name != poll_rules.rule_name(prefix, JOB_ID + "x")


def test_the_rule_prefix_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(contract.Environment.POLL_RULE_PREFIX, "HarvestJobPoll-0123456789-")
    assert poll_rules.prefix() == "HarvestJobPoll-0123456789-"
    monkeypatch.delenv(contract.Environment.POLL_RULE_PREFIX)
    with pytest.raises(answering.RequestError, match="HARVEST_POLL_RULE_PREFIX is ''"):
        poll_rules.prefix()


def test_the_poll_event_is_small_whatever_the_properties() -> None:
    huge = {"S3Destination": {"ManifestKey": "é" * 1024}, "OriginEndpointId": "e" * 3000}
    event = {
        **support.event(
            "Update", huge, request_id="r", logical_id="L" * 255, physical_id=JOB_ID, old_properties=huge
        ),
        "ResponseURL": "https://example.com/" + "u" * 1500,
        "ServiceToken": function_arn("f"),
    }
    pending = waiting.PendingWait(JOB_ID, 1_000_000.5, 3300)
    polled = poll_rules.poll_event(event, pending, "arn:aws:events:us-east-1:123456789012:rule/R")
    assert "ResourceProperties" not in polled
    assert "OldResourceProperties" not in polled
    assert polled["PhysicalResourceId"] == JOB_ID
    assert polled["CrHelperPoll"] is True
    assert waiting.PendingWait.from_event(polled) == pending
    assert len(json.dumps(polled)) < 2500


def test_a_v2_poll_event_with_names_of_256_characters_fits_eventbridge() -> None:
    """v2's wait carries the job's address: four names of up to 256 characters, and the name is the
    physical id too. With the longest envelope CloudFormation sends, the input stays far under 8192."""
    address = {"ChannelGroupName": "g" * 256, "ChannelName": "c" * 256, "OriginEndpointName": "e" * 256}
    name = "n" * 256
    event = {
        **support.event(
            "Update",
            {"S3Destination": {"DestinationPath": "p" * 1024}, **address},
            request_id="r" * 128,
            logical_id="L" * 255,
            physical_id=name,
            resource_type=contract.RESOURCE_TYPE_V2,
        ),
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/" + "S" * 128 + "/" + "u" * 36,
        "ResponseURL": "https://example.com/" + "u" * 1500,
        "ServiceToken": function_arn("f" * 64),
    }
    pending = waiting.PendingWait(name, 1_000_000.5, 3300, address)
    rule_arn = "arn:aws:events:us-east-1:123456789012:rule/" + "R" * 64
    polled = poll_rules.poll_event(event, pending, rule_arn)
    assert "ResourceProperties" not in polled
    assert waiting.PendingWait.from_event(json.loads(json.dumps(polled))) == pending
    assert len(json.dumps(polled)) < contract.MAX_TARGET_INPUT / 2


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
    with pytest.raises(answering.RequestError, match="The poll event has no valid HarvestJobWait"):
        waiting.PendingWait.from_event({waiting.WAIT_KEY: state} if state is not None else {})


@pytest.mark.parametrize(
    "arn",
    [
        function_arn("Handler"),
        function_arn("Handler") + ":live",
        function_arn("Handler") + ":7",
    ],
)
def test_the_poller_targets_the_unqualified_function(arn: str) -> None:
    class Context(support.Context):
        def __init__(self) -> None:
            super().__init__(invoked_function_arn=arn)

    assert (
        poll_rules.unqualified_function_arn(Context())
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
    pending = waiting.PendingWait(JOB_ID, fake.now + 600, 600)
    job = jobs_v1.wait_for_job(
        outbound.mediapackage_client(), pending, budget(300), sleep=fake.sleep, clock=fake.clock
    )
    assert job is not None
    assert fake.sleeps == [contract.POLL_INTERVAL_SECONDS] * 2

    stub.add_client_error(
        "describe_harvest_job", "ForbiddenException", "denied", 403, expected_params={"Id": JOB_ID}
    )
    with pytest.raises(
        answering.RequestError, match=f"DescribeHarvestJob {JOB_ID} failed: ForbiddenException: denied"
    ):
        jobs_v1.wait_for_job(
            outbound.mediapackage_client(), pending, budget(300), sleep=fake.sleep, clock=fake.clock
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
    pending = waiting.PendingWait(JOB_ID, fake.now + 5, 5)
    with pytest.raises(answering.RequestError) as caught:
        jobs_v1.wait_for_job(
            outbound.mediapackage_client(), pending, budget(300), sleep=fake.sleep, clock=fake.clock
        )
    assert str(caught.value).startswith(
        f"Harvest job {JOB_ID} was still not known (its status could not be read) when the completion "
        "timeout of 5 s ended"
    )


RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/HarvestJobPoll-0123456789-Job-ABCDEFGH"


class FailingEvents:
    """An EventBridge client whose every call fails to connect, counting the calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, operation: str) -> Any:
        def call(**_: Any) -> Any:
            self.calls.append(operation)
            raise EndpointConnectionError(endpoint_url="https://events.us-east-1.amazonaws.com/")

        return call


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What the helper answers: its state when crhelper sends (the sender itself is not under test)."""
    answers: list[dict[str, Any]] = []

    def record(status: str | None = None, reason: str = "", **_: Any) -> None:
        helper = entry.helper
        answers.append(
            {
                "Status": status or helper.Status,
                "Reason": reason if status else helper.Reason,
                "PhysicalResourceId": str(helper.PhysicalResourceId),
                "Data": dict(helper.Data),
            }
        )

    monkeypatch.setattr(entry.helper, "_send", record)
    monkeypatch.setattr(log_streams, "claim", lambda _request: "claimed")
    monkeypatch.setattr(contract, "REMOVAL_PAUSE_SECONDS", 0)
    monkeypatch.setenv(contract.Environment.POLL_RULE_PREFIX, "HarvestJobPoll-0123456789-")
    return answers


def poll_event(request_type: str = "Create", **extra: Any) -> dict[str, Any]:
    return {
        **support.event(request_type, None, request_id="r-1", logical_id="Job"),
        "CrHelperPoll": True,
        "CrHelperRule": RULE_ARN,
        "CrHelperData": {"PhysicalResourceId": JOB_ID},
        waiting.WAIT_KEY: waiting.PendingWait(JOB_ID, time.time() + 600, 600).as_event(),
        **extra,
    }


def waiting_create() -> dict[str, Any]:
    """A Create of the job ``JOB_ID`` with waiting on."""
    properties = {"ServiceToken": FUNCTION_ARN, **job_properties(), "Id": JOB_ID, "WaitForCompletion": "true"}
    return support.event("Create", properties, request_id="r-1", logical_id="Job")


def test_a_removal_that_keeps_failing_never_changes_the_answer(
    sent: list[dict[str, Any]],
    stub: Stubber,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = FailingEvents()
    monkeypatch.setattr(outbound, "events_client", lambda: events)
    expect_statuses(stub, "SUCCEEDED")
    entry.handler(poll_event(), Context())
    assert sent == [
        {
            "Status": "SUCCESS",
            "Reason": "",
            "PhysicalResourceId": JOB_ID,
            "Data": jobs_v1.job_data(described("SUCCEEDED")),
        }
    ]
    # Each step tried REMOVAL_ATTEMPTS times; the rule is kept while its target may still fire.
    assert events.calls == ["remove_targets"] * contract.REMOVAL_ATTEMPTS
    assert "Giving up: RemoveTargets" in caplog.text


def test_put_targets_failing_in_a_successful_answer_fails_the_resource_and_removes_the_rule(
    sent: list[dict[str, Any]], stub: Stubber
) -> None:
    """EventBridge reports a failed target inside a 200: without a target no poll would ever come."""
    events = outbound.events_client()
    with Stubber(events) as eventbridge:
        eventbridge.add_response("put_rule", {"RuleArn": RULE_ARN})
        eventbridge.add_response(
            "put_targets",
            {
                "FailedEntryCount": 1,
                "FailedEntries": [
                    {"TargetId": "1", "ErrorCode": "ConcurrentModificationException", "ErrorMessage": "busy"}
                ],
            },
        )
        eventbridge.add_response("remove_targets", {"FailedEntryCount": 0, "FailedEntries": []})
        eventbridge.add_response("delete_rule", {}, {"Name": RULE_ARN.rpartition("/")[2]})
        create = waiting_create()
        stub.add_response("create_harvest_job", described("IN_PROGRESS"))
        # Too short to wait: it hands over at once.
        entry.handler(create, Context(remaining_ms=int(contract.ANSWER_MARGIN_SECONDS * 1000) + 1000))
        eventbridge.assert_no_pending_responses()
    (answer,) = sent
    assert answer["Status"] == "FAILED"
    assert answer["PhysicalResourceId"] == JOB_ID
    assert answer["Reason"] == (
        f"Harvest job {JOB_ID} is still IN_PROGRESS; polling it could not be set up: "
        "PutTargets failed: ConcurrentModificationException: busy"
    )
    assert answer["Data"] == {}


def test_after_the_timer_answered_no_poller_is_set_up(
    sent: list[dict[str, Any]], stub: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timer answered FAILED while the create went on: the job still runs, but handing it to a
    poller would answer CloudFormation a second time."""
    events = FailingEvents()
    monkeypatch.setattr(outbound, "events_client", lambda: events)
    create = waiting_create()
    stub.add_response("create_harvest_job", described("IN_PROGRESS"))
    original = lifecycle.create_job

    def create_then_time_out(*arguments: Any) -> Any:
        created = original(*arguments)
        entry.helper._answered = True  # as the timer thread does once it has answered
        return created

    monkeypatch.setattr(lifecycle, "create_job", create_then_time_out)
    entry.handler(create, Context(remaining_ms=int(contract.ANSWER_MARGIN_SECONDS * 1000) + 1000))
    assert events.calls == []  # no PutRule
    assert sent == []


def test_a_poll_after_the_timer_answered_removes_its_rule(
    sent: list[dict[str, Any]], stub: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = FailingEvents()
    monkeypatch.setattr(outbound, "events_client", lambda: events)
    original = jobs_v1.wait_for_job

    def wait_then_time_out(*arguments: Any, **settings: Any) -> Any:
        entry.helper._answered = True
        return original(*arguments, **settings)

    monkeypatch.setattr(jobs_v1, "wait_for_job", wait_then_time_out)
    expect_statuses(stub, "SUCCEEDED")
    entry.handler(poll_event(), Context())
    assert sent == []
    assert events.calls[0] == "remove_targets"


@pytest.mark.parametrize(
    ("destination", "message"),
    [
        pytest.param({"BucketName": "b" * 3000}, "S3Destination.BucketName: 'bbb", id="bucket-huge"),
        pytest.param(
            {"BucketName": "My_Bucket"},
            "S3Destination.BucketName: 'My_Bucket' is not an S3 bucket name",
            id="bucket-chars",
        ),
        pytest.param(
            {"BucketName": "ab"}, "S3Destination.BucketName: 'ab' is not an S3 bucket name", id="bucket-short"
        ),
        pytest.param(
            {"RoleArn": "harvest-role"},
            "S3Destination.RoleArn: 'harvest-role' is not an IAM role ARN",
            id="role-name",
        ),
        pytest.param(
            {"RoleArn": "arn:aws:s3:::harvest-clips"},
            "S3Destination.RoleArn: 'arn:aws:s3:::harvest-clips' is not",
            id="role-other-arn",
        ),
    ],
)
def test_a_bad_destination_is_named_not_blamed_on_the_manifest_key(
    destination: dict[str, str], message: str
) -> None:
    properties = job_properties()
    properties["S3Destination"] = {
        **properties["S3Destination"],
        "RoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/service-role/harvest",
        **destination,
    }
    with pytest.raises(answering.RequestError) as caught:
        jobs_v1.parse_properties(properties)
    assert str(caught.value).startswith(message)


def test_valid_destinations_pass() -> None:
    for bucket in ("abc", "harvest.clips-2026", "a" * 63):
        assert rules.check_bucket_name("b", bucket) == bucket
    for role in (
        f"arn:aws:iam::{ACCOUNT_ID}:role/r",
        f"arn:aws-cn:iam::{ACCOUNT_ID}:role/path/to/Role+=,.@-_",
    ):
        assert rules.check_role_arn("r", role) == role


def test_a_create_that_waited_out_the_quota_hands_its_job_to_the_poller(
    sent: list[dict[str, Any]], stub: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quota loop and the waiting share one budget: after a create that succeeded late, the
    job is polled for what is left, then handed to the poller instead of failing."""
    now = [time.monotonic()]
    waited: list[float] = []

    def sleep(seconds: float) -> None:  # a clock that moves only when the handler waits
        waited.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    monkeypatch.setattr(time, "sleep", sleep)
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    looks: list[str] = []

    def describe(_client: Any, job_id: str) -> dict[str, Any]:
        looks.append(job_id)
        return described("IN_PROGRESS")

    monkeypatch.setattr(jobs_v1, "describe_job", describe)
    stub.add_client_error("create_harvest_job", "TooManyRequestsException", "Limit exceeded", 429)
    stub.add_response("create_harvest_job", described("IN_PROGRESS"))
    events = outbound.events_client()
    with Stubber(events) as eventbridge:
        eventbridge.add_response("put_rule", {"RuleArn": RULE_ARN})
        eventbridge.add_response("put_targets", {"FailedEntryCount": 0, "FailedEntries": []})
        # Room for one quota wait (2 s) and the two calls it keeps back, then some polling.
        budget_seconds = 2 + 2 * contract.CALL_SECONDS + 1
        entry.handler(
            waiting_create(),
            Context(remaining_ms=int((contract.ANSWER_MARGIN_SECONDS + budget_seconds) * 1000)),
        )
        eventbridge.assert_no_pending_responses()
    assert waited[0] == contract.QUOTA_BACKOFF_BASE_SECONDS
    assert set(waited[1:]) == {contract.POLL_INTERVAL_SECONDS}
    assert sum(waited) <= budget_seconds
    assert len(looks) == len(waited) - 1  # one look after each poll interval
    assert set(looks) == {JOB_ID}
    assert sent == []  # the poller answers later
