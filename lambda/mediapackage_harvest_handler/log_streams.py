"""Claims and reasons, kept as log streams in the function's own log group (CloudWatch Logs).

A claim is the stream ``harvest-answer/<digest of the request>``: CreateLogStream succeeds for one
caller only, so once a wait was handed over only the invocation that created it answers. A reason is
the stream ``harvest-job-reason/<job Id>``, created by the invocation that waits for the job and
written by the invocation a failure's notification started. Imports ``outbound``, the contract
module and the standard library.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from typing import Literal

import cdk_mediapackage_harvest_contract as contract
from botocore.exceptions import BotoCoreError, ClientError

from mediapackage_harvest_handler import outbound

logger = logging.getLogger(__name__)

Claim = Literal["claimed", "taken", "unknown"]
_EXISTS = "ResourceAlreadyExistsException"
_NOT_FOUND = "ResourceNotFoundException"


def log_group() -> str:
    """The function's own log group (Lambda sets the variable); empty when not known."""
    return os.environ.get(contract.Environment.LOG_GROUP, "")


def grace_seconds() -> float:
    """How long a failed job's reason is waited for: ``REASON_GRACE_SECONDS``, or the variable's."""
    value = os.environ.get(contract.Environment.REASON_GRACE, "")
    try:
        return max(0.0, float(value)) if value else float(contract.REASON_GRACE_SECONDS)
    except ValueError:
        return float(contract.REASON_GRACE_SECONDS)


def claim(request_key: str) -> Claim:
    """Claim the answer to one request: ``claimed`` by this caller, ``taken`` by another, or
    ``unknown`` (CloudWatch Logs could not be asked: answer nothing, a later poll tries again)."""
    group = log_group()
    if not group:
        logger.error({"message": f"Cannot claim the answer: {contract.Environment.LOG_GROUP} is not set"})
        return "unknown"
    digest = hashlib.sha256(request_key.encode("utf-8", errors="surrogatepass")).hexdigest()
    try:
        outbound.logs_client().create_log_stream(
            logGroupName=group, logStreamName=contract.CLAIM_STREAM_PREFIX + digest
        )
    except ClientError as error:
        if outbound.error_code(error) == _EXISTS:
            return "taken"
        logger.error({"message": "Cannot claim the answer", "error": outbound.error_text(error)})
        return "unknown"
    except BotoCoreError as error:
        logger.error({"message": "Cannot claim the answer", "error": outbound.error_text(error)})
        return "unknown"
    return "claimed"


def reason_stream(job_id: str) -> str:
    """The stream that holds a job's failure reason (a job Id has no ``:`` or ``*``; cut to fit)."""
    safe = job_id.replace(":", "_").replace("*", "_")
    return (contract.REASON_STREAM_PREFIX + safe)[: contract.MAX_LOG_STREAM_NAME]


def expect_reason(job_id: str) -> None:
    """Mark the job as waited for: its reason stream exists, so a failure's notification writes there.
    A failure to create it is logged; the wait then answers without MediaPackage's reason."""
    group = log_group()
    if not group:
        return
    try:
        outbound.logs_client().create_log_stream(logGroupName=group, logStreamName=reason_stream(job_id))
    except ClientError as error:
        if outbound.error_code(error) != _EXISTS:
            logger.warning(
                {"message": "Cannot keep a place for the reason", "error": outbound.error_text(error)}
            )
    except BotoCoreError as error:
        logger.warning({"message": "Cannot keep a place for the reason", "error": outbound.error_text(error)})


def record_reason(job_id: str, message: str) -> bool:
    """Write a failed job's reason into its stream; False when no invocation waits for it (no stream)."""
    group = log_group()
    if not group:
        return False
    try:
        outbound.logs_client().put_log_events(
            logGroupName=group,
            logStreamName=reason_stream(job_id),
            logEvents=[
                {
                    "timestamp": int(time.time() * 1000),
                    "message": message[: contract.MAX_NOTIFICATION_MESSAGE_LENGTH],
                }
            ],
        )
    except ClientError as error:
        if outbound.error_code(error) != _NOT_FOUND:
            logger.warning({"message": "Cannot keep the reason", "error": outbound.error_text(error)})
        return False
    except BotoCoreError as error:
        logger.warning({"message": "Cannot keep the reason", "error": outbound.error_text(error)})
        return False
    return True


def read_reason(job_id: str) -> str | None:
    """The reason kept for a job, if any (a failed read counts as none)."""
    group = log_group()
    if not group:
        return None
    try:
        answer = outbound.logs_client().get_log_events(
            logGroupName=group, logStreamName=reason_stream(job_id), startFromHead=True, limit=1
        )
    except ClientError as error:
        if outbound.error_code(error) != _NOT_FOUND:
            logger.warning({"message": "Cannot read the reason", "error": outbound.error_text(error)})
        return None
    except BotoCoreError as error:
        logger.warning({"message": "Cannot read the reason", "error": outbound.error_text(error)})
        return None
    events = answer.get("events") or []
    message = events[0].get("message") if events else None
    return message if isinstance(message, str) and message else None


def await_reason(
    job_id: str,
    seconds: float,
    *,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> str | None:
    """The job's reason, looked for every ``REASON_LOOK_INTERVAL_SECONDS`` for up to ``seconds``."""
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    until = clock() + seconds
    while True:
        found = read_reason(job_id)
        left = until - clock()
        if found is not None or left <= 0 or not log_group():
            return found
        sleep(min(contract.REASON_LOOK_INTERVAL_SECONDS, left))
