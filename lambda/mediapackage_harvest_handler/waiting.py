"""Waiting: the invocation's time budget, the deadline, the look loop, and a call made again while refused.

Knows budgets and the rules of waiting, not the fields of any job: a job module hands it a ``look``
that says what it saw, or a call and what counts as "refused for now". A failed job's Reason carries
the reason the job or its notification gave (``log_streams``), waited for a bounded grace. Imports
``answering`` (RequestError), ``log_streams``, ``outbound`` (what is transient), the contract module
and the standard library.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import cdk_mediapackage_harvest_contract as contract
from botocore.exceptions import BotoCoreError, ClientError

from mediapackage_harvest_handler import log_streams, outbound
from mediapackage_harvest_handler.answering import RequestError

logger = logging.getLogger(__name__)

#: The key of the wait's state in a scheduled poll's event.
WAIT_KEY = "HarvestJobWait"
#: Set in a poll event that a job's notification started: it looks for ``NOTIFIED_WATCH_SECONDS``
#: and answers if the job is done.
NOTIFIED_KEY = "HarvestJobNotified"

Outcome = Literal["running", "succeeded", "failed"]
#: A failed job's name longer than this (v2 names reach 256 characters) goes after its reason, so
#: that the 256 characters of the Reason keep MediaPackage's message.
MAX_NAME_BEFORE_REASON = 64
T = TypeVar("T")


@dataclass(frozen=True)
class Budget:
    """The time an event's work has: its wall-clock start, and the monotonic instant to stop by."""

    now: datetime
    stop_at: float

    @classmethod
    def of(cls, context: object, *, at_most: float | None = None) -> Budget:
        """This invocation's budget: the Lambda deadline less the answer margin (and ``at_most``)."""
        remaining = getattr(context, "get_remaining_time_in_millis", lambda: 0)() / 1000
        seconds = max(0.0, remaining - contract.ANSWER_MARGIN_SECONDS)
        if at_most is not None:
            seconds = min(seconds, at_most)
        return cls(now=datetime.now(UTC), stop_at=time.monotonic() + seconds)

    def left(self) -> float:
        """Seconds of work left (negative once past ``stop_at``)."""
        return self.stop_at - time.monotonic()


@dataclass(frozen=True)
class PendingWait:
    """A job being waited for: its Id (or name), the wall-clock deadline (epoch seconds), the timeout,
    and ``address``: what else its job module needs to find it (v2: channel group, channel and origin
    endpoint names; nothing for v1, whose poll events carry no ``Address``)."""

    job_id: str
    deadline: float
    timeout_seconds: int
    address: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def starting(
        cls, job_id: str, budget: Budget, timeout_seconds: int, address: Mapping[str, str] | None = None
    ) -> PendingWait:
        return cls(job_id, budget.now.timestamp() + timeout_seconds, timeout_seconds, dict(address or {}))

    def as_event(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "Id": self.job_id,
            "Deadline": self.deadline,
            "TimeoutSeconds": self.timeout_seconds,
        }
        if self.address:
            state["Address"] = dict(self.address)
        return state

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> PendingWait:
        state = event.get(WAIT_KEY)
        if isinstance(state, Mapping):
            job_id, deadline, timeout = state.get("Id"), state.get("Deadline"), state.get("TimeoutSeconds")
            address = state.get("Address", {})
            if (
                isinstance(job_id, str)
                and isinstance(deadline, int | float)
                and isinstance(timeout, int)
                and isinstance(address, Mapping)
                and all(isinstance(key, str) and isinstance(value, str) for key, value in address.items())
            ):
                return cls(job_id, float(deadline), timeout, dict(address))
        raise RequestError(
            f"The poll event has no valid {WAIT_KEY} (Id, Deadline and TimeoutSeconds; an optional Address)"
        )


@dataclass(frozen=True)
class Seen:
    """One look at a job: its status as the service words it, what that means, and the job itself."""

    status: str
    outcome: Outcome
    job: Any = None
    reason: str = ""
    """With ``failed``: the reason the job itself carries, if its service gives one."""


@dataclass(frozen=True)
class Notified:
    """What a job's notification names: its Id, the status and message it claims, and when."""

    job_id: str
    status: str
    message: str
    time: str
    failed: bool


def completion_timeout(properties: object) -> int | None:
    """The seconds to wait for the job (``WaitForCompletion``, ``CompletionTimeout``); None: no wait.

    Both are optional: without ``WaitForCompletion`` the handler does not wait.
    """
    if not isinstance(properties, Mapping):
        return None
    wait_key, timeout_key = contract.Property.WAIT_FOR_COMPLETION, contract.Property.COMPLETION_TIMEOUT
    wait = properties.get(wait_key, "false")
    if wait not in ("true", "false"):
        raise RequestError(f"Property {wait_key} is {wait!r}; expected 'true' or 'false'")
    timeout = properties.get(timeout_key, str(contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS))
    lowest, highest = (
        contract.MIN_ACCEPTED_COMPLETION_TIMEOUT_SECONDS,
        contract.MAX_COMPLETION_TIMEOUT_SECONDS,
    )
    whole = isinstance(timeout, str) and timeout.isascii() and timeout.isdigit() and len(timeout) <= 5
    if not whole or not lowest <= int(timeout) <= highest:
        raise RequestError(
            f"Property {timeout_key} is {timeout!r:.40}; expected whole seconds from {lowest} to {highest}"
        )
    return int(timeout) if wait == "true" else None


def wait_for(
    look: Callable[[], Seen | None],
    pending: PendingWait,
    budget: Budget,
    *,
    first_look_after: float = 0.0,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> Seen | None:
    """Look every ``POLL_INTERVAL_SECONDS``: what was seen once the job succeeded, or None when the
    budget ends first (the caller hands over to the poller).

    A failed job, the deadline passing and a job that no longer exists (``look`` answers None) raise
    :class:`RequestError`. A transient error (throttled, 5xx past botocore's retries) costs one look.
    """
    sleep = sleep or time.sleep
    clock = clock or time.time
    job_id = pending.job_id
    if first_look_after > 0:
        if budget.left() < first_look_after:
            return None
        sleep(min(first_look_after, max(0.0, pending.deadline - clock())))
    while True:
        try:
            seen = look()
        except (RequestError, BotoCoreError) as error:
            if not outbound.is_transient(error.__cause__ if isinstance(error, RequestError) else error):
                raise
            logger.warning({"message": "Looking at the harvest job failed; polling on", "error": str(error)})
            seen = Seen("not known (its status could not be read)", "running")
        if seen is None:
            raise RequestError(f"Harvest job {job_id} was not found while waiting for it")
        if seen.outcome == "succeeded":
            logger.info({"message": "Harvest job finished", "harvestJobId": job_id, "status": seen.status})
            return seen
        if seen.outcome == "failed":
            raise RequestError(failure_reason(job_id, seen, budget, sleep=sleep, clock=clock))
        until_deadline = pending.deadline - clock()
        if until_deadline <= 0:
            raise RequestError(
                f"Harvest job {job_id} was still {seen.status} when the completion timeout of "
                f"{pending.timeout_seconds} s ended; it goes on in MediaPackage. Raise "
                "completion_timeout, or set wait_for_completion=False"
            )
        pause = min(contract.POLL_INTERVAL_SECONDS, until_deadline)
        if budget.left() < pause:
            return None
        sleep(pause)


def failure_reason(
    job_id: str,
    seen: Seen,
    budget: Budget,
    *,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> str:
    """The Reason of a failed job: the reason the job carries, else the one its notification left
    (waited for up to the grace, and never into the last half of the answer margin), else a Reason
    that says none came and where a late one will be logged."""
    reason = seen.reason
    grace = min(log_streams.grace_seconds(), max(0.0, budget.left()) + contract.ANSWER_MARGIN_SECONDS / 2)
    if not reason:
        reason = log_streams.await_reason(job_id, grace, sleep=sleep, clock=clock) or ""
    if reason:
        logger.info({"message": "Harvest job failed", "harvestJobId": job_id, "reason": reason})
        if len(job_id) > MAX_NAME_BEFORE_REASON:  # a long v2 name must not push the reason out
            return f"Harvest job failed: {reason} (job {job_id})"
        return f"Harvest job {job_id} failed: {reason}"
    group = log_streams.log_group()
    where = f"log group {group}" if group else "the handler's log group"
    return (
        f"Harvest job {job_id} failed; MediaPackage sent no reason within {grace:.0f} s; "
        f"a late one appears in {where}"
    )


def call_while_refused(
    operation: str,
    call: Callable[[], T],
    refused: Callable[[ClientError], bool],
    budget: Budget,
    **logged: Any,
) -> T:
    """``call()`` (the API's ``operation``), made again while ``refused`` says its error means "not now".

    botocore's retries end after seconds; a full quota of concurrent harvest jobs lasts until one of
    them finishes, minutes later. So wait, with capped exponential backoff and full jitter (resources
    created together do not call in step), as long as the budget still has room for the next call
    and for the lookup that follows a last refusal: 2 x ``CALL_SECONDS``. Then the last refusal is
    raised, as is any other error at once. The first call is always made. ``logged``: log fields.
    """
    attempt = 0
    while True:
        try:
            return call()
        except ClientError as error:
            ceiling = min(
                contract.QUOTA_BACKOFF_CAP_SECONDS, contract.QUOTA_BACKOFF_BASE_SECONDS * 2**attempt
            )
            delay = random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography
            if not refused(error) or budget.left() < delay + 2 * contract.CALL_SECONDS:
                raise
            code = outbound.error_code(error)
        logger.info(
            {
                "message": f"{operation} refused with {code}; calling again",
                **logged,
                "waitSeconds": round(delay, 1),
            }
        )
        time.sleep(delay)
        attempt += 1
