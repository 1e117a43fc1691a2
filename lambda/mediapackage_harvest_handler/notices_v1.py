"""MediaPackage v1's harvest job notifications: what a ``MediaPackage HarvestJob Notification`` names.

The event (EventBridge, source ``aws.mediapackage``) is the only place MediaPackage gives a failure's
cause: ``detail.harvest_job`` (snake_case fields) and, for a failure, ``detail.message``. Imports
``waiting`` (Notified), ``answering`` (RequestError), the contract and rules modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules

from mediapackage_harvest_handler.answering import RequestError
from mediapackage_harvest_handler.waiting import Notified

#: The statuses a harvest job can have (``DescribeHarvestJob``, and its notification).
STATUSES = ("IN_PROGRESS", "SUCCEEDED", "FAILED")


def notification(event: Mapping[str, Any]) -> Notified | None:
    """What a ``MediaPackage HarvestJob Notification`` names; None for any other event.

    An event with MediaPackage's source and detail type but not its shape raises RequestError. The
    status is only what the event claims (waiting re-reads it); the message is only text.
    """
    notice = contract.Notification
    if event.get("source") != notice.SOURCE or event.get("detail-type") != notice.DETAIL_TYPE:
        return None
    detail = event.get("detail")
    job = detail.get(notice.JOB_KEY) if isinstance(detail, Mapping) else None
    if not isinstance(detail, Mapping) or not isinstance(job, Mapping):
        raise RequestError(f"the event's detail has no {notice.JOB_KEY} object")
    job_id, status, message = job.get("id"), job.get("status"), detail.get("message", "")
    if not isinstance(job_id, str):
        raise RequestError(f"{notice.JOB_KEY}.id is not a string")
    try:
        rules.check_identifier("id", job_id)
    except rules.HarvestRuleError as error:
        raise RequestError(f"{notice.JOB_KEY}.id is no harvest job Id: {error}") from None
    if status not in STATUSES:
        raise RequestError(f"{notice.JOB_KEY}.status {status!r:.40} is not one of {', '.join(STATUSES)}")
    if not isinstance(message, str):
        raise RequestError("message is not a string")
    when = event.get("time")
    return Notified(
        job_id=job_id,
        status=str(status),
        message=message[: contract.MAX_NOTIFICATION_MESSAGE_LENGTH],
        time=when[:40] if isinstance(when, str) else "",
        failed=status == "FAILED",
    )
