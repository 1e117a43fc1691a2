"""Answering CloudFormation: exactly one answer per invocation, delivered or given up on in time.

End to end, the handler from the synthesized asset answers a ResponseURL served on loopback that
refuses answers (``ResponseServer.statuses``), and runs out of time against a slow MediaPackage
(``Faults.latency``) with a short deadline. In process, ``put_answer`` meets the same server, a
closed port and a 403, and the timer thread races the main thread through the real ``helper``.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cdk_mediapackage_harvest_contract as contract
import pytest
from mediapackage_harvest_handler import answering, entry, lifecycle, outbound
from support import STACK_ID, Context, LocalSetup, Stack, signature
from support import event as cloudformation_event

from local_aws import cloudformation
from local_aws.server import LocalAws

#: A deadline short enough to reach in a test; the timer answers a quarter of it before the end.
SHORT_MS = 3000
#: Starting the interpreter and importing boto3 and the handler, before the deadline starts to run.
START_SLACK = 3.0


def test_an_answer_refused_with_503_twice_is_delivered_once(stack: Stack, setup: LocalSetup) -> None:
    stack.responses.statuses = [503, 503]
    event = stack.event("Delete", stack.properties(setup), physical_id="clip")

    delivered = stack.deliver(event)

    assert [answer.status for answer in delivered.answers] == [503, 503, 200]
    assert len({answer.raw for answer in delivered.answers}) == 1, "the same body every time"
    assert delivered.answers[-1].body["Status"] == "SUCCESS"
    assert delivered.answers[-1].headers["content-type"] == ""
    assert len(delivered.answers[-1].raw) == answering.answer_size(event, "clip", {}), "answer_size in step"
    assert '"attempts": 3' in delivered.invocation.logs
    assert signature(event["ResponseURL"]) not in delivered.invocation.logs


def test_an_answer_never_accepted_is_given_up_before_the_deadline(stack: Stack, setup: LocalSetup) -> None:
    stack.responses.statuses = [503] * 10_000
    event = stack.event("Delete", stack.properties(setup), physical_id="clip")
    function = dataclasses.replace(stack.function, timeout_ms=SHORT_MS)

    invocation = function.invoke(event)

    assert invocation.returncode == 0, invocation.logs  # ended by itself, not killed at the deadline
    assert invocation.seconds < SHORT_MS / 1000 + START_SLACK
    answers = stack.responses.answers(event["RequestId"])
    assert len(answers) >= 3
    assert {answer.status for answer in answers} == {503}
    (error,) = [line for line in invocation.logs.splitlines() if "Could not answer CloudFormation" in line]
    record = json.loads(error)["message"]
    assert (record["host"], record["lastProblem"], record["attempts"]) == (
        "127.0.0.1",
        "HTTP 503",
        len(answers),
    )
    assert signature(event["ResponseURL"]) not in invocation.logs
    assert "cloudformation-custom-resource-response" not in invocation.logs


@pytest.mark.parametrize("wait", [False, True], ids=["no-waiting", "waiting"])
def test_running_out_of_time_answers_failed_once_saying_so(
    stack: Stack, aws: LocalAws, setup: LocalSetup, wait: bool
) -> None:
    aws.faults.latency = 4.0  # every MediaPackage request: CreateHarvestJob answers after the deadline
    event = stack.event("Create", stack.properties(setup, wait=wait))
    function = dataclasses.replace(stack.function, timeout_ms=SHORT_MS)

    started = time.monotonic()
    invocation = function.invoke(event)

    (answer,) = stack.responses.answers(event["RequestId"])
    assert answer.received - started < SHORT_MS / 1000 + START_SLACK
    assert answer.received - started < invocation.seconds
    body = answer.body
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith(
        "Timed out: the handler ran out of time during this Create (MediaPackage slow, throttled or "
        "unreachable?). Retry the deployment"
    )
    assert stack.function.name in body["Reason"]
    assert len(body["Reason"]) <= contract.MAX_REASON_LENGTH
    # The Id the job was being created under: the rollback's Delete names it, and succeeds.
    assert body["PhysicalResourceId"] == stack.job_id(event)
    # The main thread finished the Create after the timer had answered: it did not answer again
    # (the answers above are all there are), and set up no poller that could.
    assert '"Created harvest job"' in invocation.logs
    assert aws.faults.stats["events"] == 0
    assert invocation.returncode == 0, invocation.logs


@pytest.fixture
def responses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[cloudformation.ResponseServer]:
    """A ResponseURL server whose certificate this process trusts, as the handler's container would."""
    with cloudformation.ResponseServer(tmp_path) as server:
        context = ssl.create_default_context(cafile=str(server.cert_file))
        monkeypatch.setattr(outbound, "ssl_context", lambda: context)
        yield server


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    logging.getLogger().addHandler(capture)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(capture)


BODY = {"Status": "SUCCESS", "PhysicalResourceId": "clip", "Reason": "", "Data": {"Id": "clip"}}


def test_put_answer_retries_until_accepted(responses: cloudformation.ResponseServer) -> None:
    url = responses.issue(STACK_ID, "Job", "r1")
    responses.statuses = [503, 500, 429]

    assert answering.put_answer(url, BODY, stop_at=time.monotonic() + 10)

    assert [answer.status for answer in responses.answers("r1")] == [503, 500, 429, 200]
    assert responses.wait("r1").body == BODY


def test_put_answer_does_not_retry_a_refusal(
    responses: cloudformation.ResponseServer, logs: io.StringIO
) -> None:
    url = responses.issue(STACK_ID, "Job", "r1")
    responses.statuses = [403]

    assert not answering.put_answer(url, BODY, stop_at=time.monotonic() + 10)

    assert [answer.status for answer in responses.answers("r1")] == [403]
    assert "HTTP 403" in logs.getvalue()
    assert signature(url) not in logs.getvalue()


def test_put_answer_to_a_closed_port_gives_up_in_time(logs: io.StringIO) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"https://127.0.0.1:{port}/response?X-Amz-Signature=0123456789abcdef"

    started = time.monotonic()
    assert not answering.put_answer(url, BODY, stop_at=started + 1.5)

    assert time.monotonic() - started < 1.5
    assert "ConnectionRefusedError" in logs.getvalue()
    assert "0123456789abcdef" not in logs.getvalue()


def test_one_tls_context_per_container(
    responses: cloudformation.ResponseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.undo()  # the real _ssl_context, trusting the server through SSL_CERT_FILE
    monkeypatch.setenv("SSL_CERT_FILE", str(responses.cert_file))
    created: list[ssl.SSLContext] = []
    original = ssl.create_default_context

    def create() -> ssl.SSLContext:
        created.append(original())
        return created[-1]

    monkeypatch.setattr(ssl, "create_default_context", create)
    outbound.ssl_context.cache_clear()
    try:
        for n in range(3):
            url = responses.issue("arn:aws:cloudformation:us-east-1:123456789012:stack/S/1", "Job", f"r{n}")
            assert answering.put_answer(url, BODY, stop_at=time.monotonic() + 10)
    finally:
        outbound.ssl_context.cache_clear()
    assert len(created) == 1


def event(request_type: str, request_id: str, **changes: Any) -> dict[str, Any]:
    """An event whose properties matter not: the tests below are about answering it."""
    return cloudformation_event(request_type, {"ServiceToken": "arn"}, request_id=request_id, **changes)


@dataclasses.dataclass
class Sent:
    url: str
    body: dict[str, Any]
    at: float


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Sent]:
    """The answers ``helper`` sends; each PUT takes ``PUT_SECONDS``, as a slow one would."""
    answers: list[Sent] = []

    def record(url: str, body: dict[str, Any], *, stop_at: float) -> bool:
        time.sleep(PUT_SECONDS)
        answers.append(Sent(url, json.loads(json.dumps(body)), time.monotonic()))
        return True

    monkeypatch.setattr(answering, "put_answer", record)
    return answers


PUT_SECONDS = 0.3


def test_the_timer_and_the_main_thread_answer_once(sent: list[Sent], monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_create(*_args: Any) -> tuple[str, dict[str, str]]:
        time.sleep(1.0)  # the timer fires at 0.75 s, and is still sending at 1.0 s
        return "clip", {}

    monkeypatch.setattr(lifecycle, "create_job", slow_create)

    entry.handler(event("Create", "r1"), Context(1.0))
    returned = time.monotonic()

    (answer,) = sent
    assert answer.body["Status"] == "FAILED"
    assert answer.body["Reason"].startswith("Timed out: the handler ran out of time during this Create")
    assert answer.body["RequestId"] == "r1"
    assert answer.body["PhysicalResourceId"]
    # The main thread waited for the timer's answer in flight before returning (Lambda freezes the
    # container once the handler returns: an answer still being sent would be lost).
    assert answer.at <= returned


def test_a_timer_left_from_an_earlier_invocation_never_answers(
    sent: list[Sent], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lambda freezes the container when a handler returns: a timer thread that fired just then
    # runs on during the next invocation, which must not get its FAILED answer.
    entry.handler(event("Delete", "r1"), Context(60))
    stale = threading.Thread(target=entry.helper._timeout)  # not the current invocation's timer

    def create(*_args: Any) -> tuple[str, dict[str, str]]:
        stale.start()
        stale.join()
        return "clip", {}

    monkeypatch.setattr(lifecycle, "create_job", create)
    entry.handler(event("Create", "r2"), Context(60))

    assert [(answer.body["RequestId"], answer.body["Status"]) for answer in sent] == [
        ("r1", "SUCCESS"),
        ("r2", "SUCCESS"),
    ]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"StackId": None}, "StackId is missing"),
        ({"RequestId": None, "LogicalResourceId": 7}, "RequestId is missing; LogicalResourceId is a int"),
        ({"LogicalResourceId": ""}, "LogicalResourceId is empty"),
        ({"RequestType": "Upgrade"}, "RequestType 'Upgrade' is not one of Create, Update, Delete"),
        ({"RequestType": None}, "RequestType missing is not one of"),
    ],
)
def test_an_event_missing_what_crhelper_needs_is_answered_failed_at_its_own_url(
    sent: list[Sent], changes: dict[str, Any], named: str
) -> None:
    entry.handler(event("Delete", "previous", PhysicalResourceId="clip"), Context(60))
    broken = event("Create", "current", **changes)

    entry.handler(broken, Context(60))

    previous, answer = sent
    assert answer.url == broken["ResponseURL"] != previous.url
    assert answer.body["Status"] == "FAILED"
    assert answer.body["Reason"].startswith(f"Malformed event: {named}")
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        assert answer.body[key] == (broken.get(key) if isinstance(broken.get(key), str) else "")
    assert answer.body["PhysicalResourceId"], "CloudFormation needs one even in a FAILED answer"


def test_a_malformed_delete_still_succeeds(sent: list[Sent]) -> None:
    entry.handler(event("Delete", "r1", StackId=None, PhysicalResourceId="clip"), Context(60))

    (answer,) = sent
    assert (answer.body["Status"], answer.body["PhysicalResourceId"]) == ("SUCCESS", "clip")


@pytest.mark.parametrize(
    ("malformed", "logged"),
    [
        (None, "the event is a NoneType, not an object"),
        (["Create"], "the event is a list, not an object"),
        (event("Create", "r1", ResponseURL=None), "it has no ResponseURL"),
        (event("Create", "r1", ResponseURL=3), "its ResponseURL is a int"),
        (
            event("Create", "r1", ResponseURL="http://example.com/x?X-Amz-Signature=s3cr3t"),
            "its ResponseURL is not an https URL",
        ),
        (
            event("Create", "r1", ResponseURL="https://[::1/x?X-Amz-Signature=s3cr3t"),
            "its ResponseURL is not an https URL",
        ),
        (
            event("Create", "r1", ResponseURL="https://example.com:port/?X-Amz-Signature=s3cr3t"),
            "its ResponseURL is not an https URL",
        ),
        (
            event("Create", "r1", ResponseURL="https://example.com/\n?X-Amz-Signature=s3cr3t"),
            "its ResponseURL is not an https URL",
        ),
    ],
)
def test_an_event_that_cannot_be_answered_is_logged_and_dropped(
    sent: list[Sent], logs: io.StringIO, malformed: Any, logged: str
) -> None:
    entry.handler(malformed, Context(60))

    assert sent == []
    assert f"Dropped an event that cannot be answered: {logged}" in logs.getvalue()
    assert "s3cr3t" not in logs.getvalue()
    assert "Traceback" not in logs.getvalue()


@pytest.mark.parametrize("length", [300, 5_000, 140_000])
@pytest.mark.parametrize("key", ["StackId", "RequestId", "LogicalResourceId"])
@pytest.mark.parametrize("request_type", ["Create", "Update", "Delete"])
def test_no_envelope_makes_an_answer_cloudformation_would_refuse(
    sent: list[Sent], logs: io.StringIO, request_type: str, key: str, length: int
) -> None:
    """CloudFormation sends a stack ARN, a UUID and a logical id of at most 255 characters: anything
    else is malformed, answered FAILED (a Delete SUCCESS) only when that answer fits."""
    oversized = {
        "StackId": f"arn:aws:cloudformation:us-east-1:123456789012:stack/{'S' * length}/1",
        "RequestId": "R" * length,
        "LogicalResourceId": "L" * length,
    }[key]
    # A Create has no physical id yet: its FAILED answer needs one made up from the envelope.
    physical_id = None if request_type == "Create" else "clip"
    broken = event(request_type, "r1", PhysicalResourceId=physical_id, **{key: oversized})

    entry.handler(broken, Context(60))

    for answer in sent:
        assert len(json.dumps(answer.body).encode()) <= contract.MAX_ANSWER_BYTES
        assert len(answer.body["PhysicalResourceId"].encode()) <= contract.MAX_PHYSICAL_ID_BYTES
    assert f"Malformed event: {key}" in logs.getvalue()
    assert "X-Amz-Signature=r1" not in logs.getvalue()
    if length == 300:  # the echoed envelope still fits: answered once
        (answer,) = sent
        assert answer.body["Status"] == ("SUCCESS" if request_type == "Delete" else "FAILED")
        assert (
            answer.body["PhysicalResourceId"] == physical_id or len(answer.body["PhysicalResourceId"]) <= 64
        )
    else:
        assert sent == []
        assert "Not answering: the answer would be" in logs.getvalue()


def test_the_largest_envelope_cloudformation_sends_is_answered_with_a_bounded_physical_id(
    sent: list[Sent],
) -> None:
    stack_id = f"arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/S{'s' * 127}/{'9' * 36}"
    largest = event("Create", "R" * 128, StackId=stack_id, LogicalResourceId="L" * 255)

    entry.handler(largest, Context(60))

    (answer,) = sent
    assert answer.body["Status"] == "FAILED"  # its properties are not a harvest job's
    assert not answer.body["Reason"].startswith("Malformed event")
    assert (answer.body["StackId"], answer.body["LogicalResourceId"]) == (stack_id, "L" * 255)
    assert 0 < len(answer.body["PhysicalResourceId"]) <= 64
    assert len(json.dumps(answer.body).encode()) <= contract.MAX_ANSWER_BYTES
