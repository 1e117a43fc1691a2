"""Waiting for a v2 job, with botocore's Stubber on the ``mediapackagev2`` model: COMPLETED, FAILED with
MediaPackage's ErrorMessage, CANCELLED, the hand-over to the poller with the job's address, the poll
event's wire form (v1's still parses), and the physical id of a Create whose job failed."""

from __future__ import annotations

import json
import time
from typing import Any

import cdk_mediapackage_harvest_contract as contract
import pytest
from botocore.stub import Stubber
from mediapackage_harvest_handler import answering, entry, lifecycle, poll_rules, waiting
from support import (
    LOGICAL_ID,
    REQUEST_ID,
    STACK_ID,
    V2_ADDRESS,
    V2_GENERATED,
    Context,
    invoke,
    v2_create_params,
    v2_data,
    v2_event,
    v2_get_params,
    v2_job,
    v2_properties,
)

TOKEN = answering.request_token(
    {"StackId": STACK_ID, "LogicalResourceId": LOGICAL_ID, "RequestId": REQUEST_ID}
)
OTHER_REQUEST = "c0ffee00-0000-4000-8000-000000000002"


def create_params(name: str = V2_GENERATED, token: str = TOKEN, **changes: Any) -> dict[str, Any]:
    return v2_create_params(name, token, **changes)


def waiting_properties(**changes: Any) -> dict[str, Any]:
    return v2_properties(WaitForCompletion="true", CompletionTimeout="600", **changes)


@pytest.mark.parametrize(
    ("final", "reason"),
    [
        (v2_job(status="COMPLETED"), ""),
        (
            v2_job(status="FAILED", ErrorMessage="Access denied writing to bucket harvest-bucket"),
            f"Harvest job {V2_GENERATED} failed: Access denied writing to bucket harvest-bucket",
        ),
        (
            v2_job(status="CANCELLED"),
            f"Harvest job {V2_GENERATED} failed: it was cancelled (CancelHarvestJob) before it completed",
        ),
    ],
    ids=["completed", "failed", "cancelled"],
)
def test_waiting_answers_the_jobs_outcome(
    answers: list[dict[str, Any]], v2_stub: Stubber, waits: list[float], final: dict[str, Any], reason: str
) -> None:
    v2_stub.add_response("create_harvest_job", v2_job(), create_params())
    v2_stub.add_response("get_harvest_job", v2_job(status="IN_PROGRESS"), v2_get_params())
    v2_stub.add_response("get_harvest_job", final, v2_get_params())

    answer = invoke(entry.handler, answers, v2_event("Create", waiting_properties()))

    assert answer["Reason"] == reason
    assert answer["Status"] == ("SUCCESS" if not reason else "FAILED")
    if not reason:
        assert answer["Data"] == v2_data(status="COMPLETED")
    assert waits == [contract.POLL_INTERVAL_SECONDS] * 2


def test_a_failure_message_is_kept_first_in_the_reason_whatever_the_name(
    answers: list[dict[str, Any]], v2_stub: Stubber, waits: list[float]
) -> None:
    name = "n" * 256
    v2_stub.add_response("create_harvest_job", v2_job(name), create_params(name))
    v2_stub.add_response(
        "get_harvest_job", v2_job(name, "FAILED", ErrorMessage="No segments in window"), v2_get_params(name)
    )

    answer = invoke(entry.handler, answers, v2_event("Create", waiting_properties(HarvestJobName=name)))

    assert answer["Reason"].startswith("Harvest job failed: No segments in window (job nnn")
    assert len(answer["Reason"]) <= contract.MAX_REASON_LENGTH


def test_a_create_out_of_time_hands_the_job_and_its_address_to_the_poller(v2_stub: Stubber) -> None:
    v2_stub.add_response("create_harvest_job", v2_job(), create_params())

    decision = lifecycle.create(v2_event("Create", waiting_properties()), Context(remaining_ms=30_000))

    assert (decision.status, decision.physical_id, dict(decision.data)) == (
        "SUCCESS",
        V2_GENERATED,
        v2_data(),
    )
    assert decision.pending is not None
    assert (decision.pending.job_id, dict(decision.pending.address)) == (V2_GENERATED, V2_ADDRESS)
    assert decision.pending.timeout_seconds == 600


def poll(pending: waiting.PendingWait) -> dict[str, Any]:
    """A scheduled poll's event as the poller's rule delivers it (JSON, without the properties)."""
    create = v2_event("Create", waiting_properties())
    polled = poll_rules.poll_event(create, pending, "arn:aws:events:us-east-1:123456789012:rule/R")
    return dict(json.loads(json.dumps(polled)))


def test_a_v2_poll_finds_the_job_at_its_address(v2_stub: Stubber) -> None:
    pending = waiting.PendingWait(V2_GENERATED, time.time() + 600, 600, V2_ADDRESS)
    v2_stub.add_response("get_harvest_job", v2_job(status="IN_PROGRESS"), v2_get_params())
    v2_stub.add_response("get_harvest_job", v2_job(status="COMPLETED"), v2_get_params())
    polled = poll(pending)
    assert "ResourceProperties" not in polled
    assert waiting.PendingWait.from_event(polled) == pending

    still = lifecycle.poll(polled, Context(remaining_ms=0))
    done = lifecycle.poll(polled, Context(remaining_ms=contract.ANSWER_MARGIN_SECONDS * 1000 + 10_000))

    assert (still.status, still.pending) == ("SUCCESS", pending)
    assert (done.status, done.physical_id, dict(done.data), done.pending) == (
        "SUCCESS",
        V2_GENERATED,
        v2_data(status="COMPLETED"),
        None,
    )


def test_a_v1_poll_event_written_without_an_address_still_parses() -> None:
    v1_state = {"Id": "clip", "Deadline": 1_000_000.5, "TimeoutSeconds": 600}
    pending = waiting.PendingWait.from_event({waiting.WAIT_KEY: v1_state})
    assert pending == waiting.PendingWait("clip", 1_000_000.5, 600)
    assert pending.as_event() == v1_state, "a v1 wait is written as before"


@pytest.mark.parametrize("address", ["live", ["live"], {"ChannelName": 1}, {2: "x"}])
def test_a_poll_event_with_a_bad_address_is_refused(address: Any) -> None:
    state = {"Id": "clip", "Deadline": 1.0, "TimeoutSeconds": 60, "Address": address}
    with pytest.raises(answering.RequestError, match="The poll event has no valid HarvestJobWait"):
        waiting.PendingWait.from_event({waiting.WAIT_KEY: state})


def test_a_create_whose_job_fails_answers_with_the_jobs_name_for_the_rollback(
    answers: list[dict[str, Any]], v2_stub: Stubber, waits: list[float]
) -> None:
    """A fixed name: the rollback's Delete must find the job (to cancel it if it still ran)."""
    v2_stub.add_response("create_harvest_job", v2_job("clip"), create_params("clip"))
    v2_stub.add_response("get_harvest_job", v2_job("clip", "CANCELLED"), v2_get_params("clip"))

    answer = invoke(entry.handler, answers, v2_event("Create", waiting_properties(HarvestJobName="clip")))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("FAILED", "clip")


def test_a_create_polled_to_its_deadline_fails_with_the_jobs_name(v2_stub: Stubber) -> None:
    pending = waiting.PendingWait("clip", time.time() - 1, 60, V2_ADDRESS)
    v2_stub.add_response("get_harvest_job", v2_job("clip", "IN_PROGRESS"), v2_get_params("clip"))

    decision = lifecycle.poll(poll(pending), Context())

    assert (decision.status, decision.physical_id) == ("FAILED", "clip")
    assert decision.reason.startswith("Harvest job clip was still IN_PROGRESS when the completion timeout")


def test_a_throttled_look_costs_one_look_not_the_deployment(
    answers: list[dict[str, Any]], v2_stub: Stubber, waits: list[float]
) -> None:
    v2_stub.add_response("create_harvest_job", v2_job(), create_params())
    v2_stub.add_client_error("get_harvest_job", "ThrottlingException", "Rate exceeded", 429)
    v2_stub.add_response("get_harvest_job", v2_job(status="COMPLETED"), v2_get_params())

    answer = invoke(entry.handler, answers, v2_event("Create", waiting_properties()))

    assert (answer["Status"], answer["Data"]) == ("SUCCESS", v2_data(status="COMPLETED"))
    assert waits == [contract.POLL_INTERVAL_SECONDS] * 2


def test_a_poll_a_notification_started_watches_a_few_seconds_for_the_api_to_catch_up(
    v2_stub: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API may still show the job running just after its event: the notified poll looks again
    within ``NOTIFIED_WATCH_SECONDS``, then leaves the rest to the scheduled polls."""
    slept: list[float] = []
    clock = [time.time(), time.monotonic()]

    def sleep(seconds: float) -> None:  # the wall clock and the monotonic one advance together
        slept.append(seconds)
        clock[0] += seconds
        clock[1] += seconds

    monkeypatch.setattr(time, "sleep", sleep)
    monkeypatch.setattr(time, "time", lambda: clock[0])
    monkeypatch.setattr(time, "monotonic", lambda: clock[1])
    pending = waiting.PendingWait(V2_GENERATED, clock[0] + 600, 600, V2_ADDRESS)
    notified = {**poll(pending), waiting.NOTIFIED_KEY: True}
    plenty = Context(remaining_ms=contract.ANSWER_MARGIN_SECONDS * 1000 + 600_000)
    v2_stub.add_response("get_harvest_job", v2_job(status="IN_PROGRESS"), v2_get_params())
    v2_stub.add_response("get_harvest_job", v2_job(status="COMPLETED"), v2_get_params())
    done = lifecycle.poll(notified, plenty)
    assert (done.status, done.physical_id, done.pending) == ("SUCCESS", V2_GENERATED, None)
    assert slept == [contract.POLL_INTERVAL_SECONDS]

    # Still running after the watch: pending again, after NOTIFIED_WATCH_SECONDS of looking.
    slept.clear()
    for _ in range(3):
        v2_stub.add_response("get_harvest_job", v2_job(status="IN_PROGRESS"), v2_get_params())
    still = lifecycle.poll(notified, plenty)
    assert (still.status, still.pending) == ("SUCCESS", pending)
    assert sum(slept) == contract.NOTIFIED_WATCH_SECONDS
