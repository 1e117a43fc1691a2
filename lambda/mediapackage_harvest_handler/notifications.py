"""MediaPackage's harvest job notifications, as the stack's EventBridge rule delivers them.

Recognised before crhelper sees the event: each is logged as one JSON record (job Id, status,
message, time; the operator's history of every harvest), a failure's message is left for the
invocation waiting for that job, and for a job whose wait was handed over, the poll event of its
rule is returned so that the job is looked at (and answered) at once. Anything else is logged as
ignored. The job modules say what a notification names. Imports ``lifecycle`` (the job modules),
``poll_rules``, ``log_streams``, ``waiting``, ``answering`` and the standard library.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from mediapackage_harvest_handler import lifecycle, log_streams, poll_rules
from mediapackage_harvest_handler.answering import RequestError
from mediapackage_harvest_handler.waiting import NOTIFIED_KEY, Notified

logger = logging.getLogger(__name__)

#: The ``message`` of a notification's record: what a Logs Insights query filters on.
RECORD = "MediaPackage harvest job notification"
IGNORED = "Ignored an event: no harvest job notification this stack acts on"


def is_notification(event: object) -> bool:
    """An EventBridge event (``detail-type``), not a CloudFormation request (no ``RequestType``)."""
    return isinstance(event, Mapping) and "detail-type" in event and "RequestType" not in event


def _shown(value: object) -> str:
    return value[:100] if isinstance(value, str) else type(value).__name__


def named(event: Mapping[str, Any]) -> tuple[lifecycle.JobModule, Notified] | None:
    """The job module that knows the notification's source, and what it names; None (logged as
    ignored) for another source or detail type, or a malformed detail."""
    for jobs in lifecycle.JOB_MODULES.values():
        try:
            found = jobs.notification(event)
        except RequestError as error:
            logger.warning(
                {"message": IGNORED, "problem": f"malformed: {error}", "source": _shown(event.get("source"))}
            )
            return None
        if found is not None:
            return jobs, found
    logger.warning(
        {
            "message": IGNORED,
            "problem": "not a harvest job notification",
            "source": _shown(event.get("source")),
            "detailType": _shown(event.get("detail-type")),
        }
    )
    return None


def handle(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """Log the notification's record and keep a failure's message; the poll event to run for a job
    whose wait was handed over, or None (nothing more to do)."""
    found = named(event)
    if found is None:
        return None
    jobs, notified = found
    logger.info(
        {
            "message": RECORD,
            "harvestJobId": notified.job_id,
            "status": notified.status,
            "harvestJobMessage": notified.message,
            "time": notified.time,
        }
    )
    kept = notified.failed and bool(notified.message) and _keep_reason(jobs, notified)
    try:
        polled = poll_rules.waiting_event(notified.job_id)
    except Exception as error:  # EventBridge unreachable: the scheduled polls still answer
        logger.warning(
            {"message": "Could not look for a wait on the job", "error": f"{type(error).__name__}: {error}"}
        )
        return None
    if polled is None:
        logger.info(
            {
                "message": "Notification about a job no poll of this stack waits for",
                "harvestJobId": notified.job_id,
                "reasonKept": kept,
            }
        )
        return None
    logger.info({"message": "Looking at the job now", "harvestJobId": notified.job_id, "reasonKept": kept})
    return {**polled, NOTIFIED_KEY: True}


def _keep_reason(jobs: lifecycle.JobModule, notified: Notified) -> bool:
    """Leave a failure's message for the invocation waiting for the job, once the service confirms
    that the job failed (the event's status is only a claim); True when an invocation waits for it."""
    try:
        seen = jobs.look(jobs.client(), notified.job_id, {})
    except Exception as error:  # the message is then not kept; the wait answers without it
        logger.warning(
            {"message": "Could not confirm the failure", "error": f"{type(error).__name__}: {error}"}
        )
        return False
    if seen is None or seen.outcome != "failed":
        logger.warning(
            {"message": "The job has not failed: its message is not kept", "harvestJobId": notified.job_id}
        )
        return False
    return log_streams.record_reason(notified.job_id, notified.message)
