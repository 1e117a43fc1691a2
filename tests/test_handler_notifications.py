"""The notification parts of the handler on their own: what a MediaPackage notification names, the
record it leaves, and the claims and reasons kept in the function's log group (botocore's Stubber
checking each CloudWatch Logs and EventBridge call against the service model). End to end:
``test_notifications.py``."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import cdk_mediapackage_harvest_contract as contract
import pytest
from botocore.stub import Stubber
from mediapackage_harvest_handler import answering, entry, jobs_v1, log_streams, notifications, outbound
from support import ACCOUNT_ID, Context

JOB_ID = "HarvestStack-HarvestJob4AD607F3-0123456789ab"
GROUP = "/aws/lambda/HarvestStack-Handler"


def event(status: str = "FAILED", **changes: Any) -> dict[str, Any]:
    detail: dict[str, Any] = {"harvest_job": {"id": JOB_ID, "status": status}}
    if status == "FAILED":
        detail["message"] = "Unable to write to the S3 destination: Access Denied."
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "MediaPackage HarvestJob Notification",
        "source": "aws.mediapackage",
        "account": ACCOUNT_ID,
        "time": "2026-11-29T10:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:mediapackage:us-east-1:{ACCOUNT_ID}:harvest_jobs/{JOB_ID}"],
        "detail": detail,
        **changes,
    }


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    monkeypatch.setenv(contract.Environment.LOG_GROUP, GROUP)
    with Stubber(outbound.logs_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_a_notification_names_its_job_status_message_and_time() -> None:
    found = jobs_v1.notification(event())
    assert found is not None
    assert (found.job_id, found.status, found.failed, found.time) == (
        JOB_ID,
        "FAILED",
        True,
        "2026-11-29T10:00:00Z",
    )
    assert found.message == "Unable to write to the S3 destination: Access Denied."
    assert jobs_v1.notification(event(source="my.app")) is None
    assert jobs_v1.notification(event(**{"detail-type": "Other"})) is None


@pytest.mark.parametrize(
    ("detail", "problem"),
    [
        pytest.param("x", "no harvest_job object", id="not-an-object"),
        pytest.param({"harvest_job": {"status": "FAILED"}}, "harvest_job.id is not a string", id="no-id"),
        pytest.param({"harvest_job": {"id": "a b", "status": "FAILED"}}, "no harvest job Id", id="bad-id"),
        pytest.param(
            {"harvest_job": {"id": JOB_ID, "status": "DONE"}}, "status 'DONE' is not one", id="status"
        ),
        pytest.param(
            {"harvest_job": {"id": JOB_ID, "status": "FAILED"}, "message": 3}, "message", id="message"
        ),
    ],
)
def test_a_malformed_notification_is_refused(detail: Any, problem: str) -> None:
    with pytest.raises(answering.RequestError, match=problem):
        jobs_v1.notification(event(detail=detail))


def test_only_eventbridge_events_without_a_request_type_are_notifications() -> None:
    assert notifications.is_notification(event())
    assert not notifications.is_notification({"RequestType": "Create", "detail-type": "x"})
    assert not notifications.is_notification(["detail-type"])


def test_a_notification_about_a_job_no_poll_waits_for_is_recorded_and_ignored(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(contract.Environment.POLL_RULE_PREFIX, "HarvestJobPoll-0123456789-")
    sent: list[Any] = []
    monkeypatch.setattr(entry.helper, "_send", lambda *arguments, **settings: sent.append(arguments))
    with Stubber(outbound.events_client()) as events:
        events.add_client_error("list_targets_by_rule", "ResourceNotFoundException", "no rule", 400)
        with caplog.at_level(logging.INFO):
            entry.handler(event("SUCCEEDED"), Context())
        events.assert_no_pending_responses()
    assert sent == []
    records = [
        r.msg
        for r in caplog.records
        if isinstance(r.msg, dict) and r.msg.get("message") == notifications.RECORD
    ]
    assert records == [
        {
            "message": notifications.RECORD,
            "harvestJobId": JOB_ID,
            "status": "SUCCEEDED",
            "harvestJobMessage": "",
            "time": "2026-11-29T10:00:00Z",
        }
    ]
    assert "Notification about a job no poll of this stack waits for" in caplog.text


def test_a_claim_is_won_once(logs: Stubber) -> None:
    logs.add_response("create_log_stream", {})
    logs.add_client_error("create_log_stream", "ResourceAlreadyExistsException", "exists", 400)
    logs.add_client_error("create_log_stream", "ServiceUnavailableException", "busy", 503)
    assert log_streams.claim("stack|logical|request") == "claimed"
    assert log_streams.claim("stack|logical|request") == "taken"
    assert log_streams.claim("stack|logical|request") == "unknown"


def test_a_claim_without_a_log_group_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(contract.Environment.LOG_GROUP, raising=False)
    assert log_streams.claim("stack|logical|request") == "unknown"


def test_a_reason_is_kept_only_where_a_wait_made_room_for_it(logs: Stubber) -> None:
    stream = {"logGroupName": GROUP, "logStreamName": f"harvest-job-reason/{JOB_ID}"}
    logs.add_response("create_log_stream", {}, stream)
    logs.add_response(
        "put_log_events",
        {},
        {**stream, "logEvents": [{"timestamp": pytest.approx(0, abs=1e13), "message": "why"}]},
    )
    logs.add_client_error("put_log_events", "ResourceNotFoundException", "no stream", 400)
    logs.add_response(
        "get_log_events",
        {"events": [{"timestamp": 1, "message": "why", "ingestionTime": 1}]},
        {**stream, "startFromHead": True, "limit": 1},
    )
    log_streams.expect_reason(JOB_ID)
    assert log_streams.record_reason(JOB_ID, "why") is True
    assert log_streams.record_reason(JOB_ID, "why") is False  # no stream: no invocation waits for the job
    assert log_streams.read_reason(JOB_ID) == "why"


def test_the_grace_comes_from_the_contract_unless_the_environment_shortens_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(contract.Environment.REASON_GRACE, raising=False)
    assert log_streams.grace_seconds() == contract.REASON_GRACE_SECONDS == 30
    monkeypatch.setenv(contract.Environment.REASON_GRACE, "3")
    assert log_streams.grace_seconds() == 3
    assert json.dumps(log_streams.reason_stream("a:b*c")) == '"harvest-job-reason/a_b_c"'
