"""What each CloudFormation request does: Create, Update, Delete and a scheduled poll, as decisions.

Reads the event's wire format (envelope, properties) and hands the job module what it needs; each
function returns a :class:`Decision` (status, physical id, data, a wait still pending) and never
raises. Harvest jobs cannot be edited, cancelled or deleted, and MediaPackage keeps their Id for 90
days, hence: Create is idempotent per request, Update keeps a job whose harvest properties did not
change, Delete only answers. Imports ``jobs_v1``, ``waiting``, ``answering``, ``outbound`` and the
shared modules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import cdk_mediapackage_harvest_contract as contract

from mediapackage_harvest_handler import answering, jobs_v1, outbound
from mediapackage_harvest_handler.answering import RequestError
from mediapackage_harvest_handler.waiting import Budget, PendingWait, completion_timeout

if TYPE_CHECKING:
    from mypy_boto3_mediapackage import MediaPackageClient

logger = logging.getLogger(__name__)

Action = Callable[["MediaPackageClient", Mapping[str, Any], Budget], tuple[str, dict[str, str]]]


@dataclass(frozen=True)
class Decision:
    """What an entry point decided for one event.

    ``physical_id`` empty: the event's own (Update, Delete) or a made-up one. ``pending``: the job
    is still running when the invocation must stop; a first invocation hands it to the poller, a
    poll leaves it to the next poll. Nothing is answered while a wait is pending.
    """

    status: Literal["SUCCESS", "FAILED"]
    physical_id: str = ""
    data: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""
    pending: PendingWait | None = None


def failed(error: BaseException) -> Decision:
    """A FAILED decision whose Reason is the error's useful part first."""
    text = str(error) if isinstance(error, RequestError) else outbound.error_text(error)
    logger.error({"message": "Request failed", "reason": text}, exc_info=error)
    return Decision("FAILED", reason=answering.reason(text))


def create(event: Mapping[str, Any], context: object) -> Decision:
    return _respond(create_job, event, context)


def update(event: Mapping[str, Any], context: object) -> Decision:
    return _respond(update_job, event, context)


def delete(event: Mapping[str, Any], _context: object) -> Decision:
    """Harvest jobs cannot be deleted (MediaPackage keeps the record for 90 days): answer at once.

    No API call, so the Delete after a failed Create succeeds for any physical id.
    """
    logger.info(
        {
            "message": "Harvest jobs cannot be deleted; nothing to do",
            "harvestJobId": event.get("PhysicalResourceId"),
        }
    )
    return Decision("SUCCESS")


def poll(event: Mapping[str, Any], context: object) -> Decision:
    """A scheduled poll: the job's Id and attributes once it succeeded; still pending while it runs."""
    try:
        pending = PendingWait.from_event(event)
        budget = Budget.of(context, at_most=contract.POLLER_INVOCATION_SECONDS)
        job = jobs_v1.wait_for_job(outbound.mediapackage_client(), pending, budget)
    except Exception as error:
        return failed(error)
    if job is None:
        return Decision("SUCCESS", pending=pending)
    return Decision("SUCCESS", pending.job_id, jobs_v1.job_data(job))


def _respond(action: Action, event: Mapping[str, Any], context: object) -> Decision:
    """Run Create or Update; with waiting on, wait for a new job until done or out of time."""
    try:
        timeout = completion_timeout(event.get("ResourceProperties"))
        budget = Budget.of(context)
        client = outbound.mediapackage_client()
        physical_id, data = action(client, event, budget)
        # A new job: every Create, and an Update that replaced the job. A kept job never waits.
        replaced = physical_id != str(event.get("PhysicalResourceId") or "")
        if timeout is None or not replaced or data.get(contract.Data.STATUS) == jobs_v1.EXPIRED_STATUS:
            return Decision("SUCCESS", physical_id, data)
        pending = PendingWait.starting(physical_id, budget, timeout)
        # Just created: look after one interval (a job takes longer; a read right after the create
        # could also miss it). An adopted job that already finished: look at once.
        first_look = 0.0 if jobs_v1.is_finished(data) else contract.POLL_INTERVAL_SECONDS
        job = jobs_v1.wait_for_job(client, pending, budget, first_look_after=first_look)
    except Exception as error:
        return failed(error)
    if job is None:
        return Decision("SUCCESS", physical_id, data, pending=pending)
    return Decision("SUCCESS", physical_id, jobs_v1.job_data(job))


def create_job(
    client: MediaPackageClient, event: Mapping[str, Any], budget: Budget
) -> tuple[str, dict[str, str]]:
    """Create: the physical resource id (the job Id) and the attributes."""
    return _new_job(client, event, jobs_v1.parse_properties(event.get("ResourceProperties")), budget)


def update_job(
    client: MediaPackageClient, event: Mapping[str, Any], budget: Budget
) -> tuple[str, dict[str, str]]:
    """Update: keep the job when its harvest properties are unchanged, else create a new one.

    CloudFormation sends Update when any property changes, ServiceToken included (a new handler),
    and in rollback. A returned physical id that differs from the old one means replacement:
    CloudFormation then sends Delete for the old job, which Delete only acknowledges.
    """
    request = jobs_v1.parse_properties(event.get("ResourceProperties"))
    physical_id = str(event.get("PhysicalResourceId") or "")
    try:
        old: jobs_v1.HarvestRequest | None = jobs_v1.parse_properties(event.get("OldResourceProperties"))
    except RequestError:
        old = None
    kept = jobs_v1.kept_job(client, request, physical_id, old, _job_arn(event, physical_id))
    if kept is not None:
        return physical_id, kept
    return _new_job(client, event, request, budget)


def _new_job(
    client: MediaPackageClient, event: Mapping[str, Any], request: jobs_v1.HarvestRequest, budget: Budget
) -> tuple[str, dict[str, str]]:
    """A new job: Create, or an Update with changed properties."""
    jobs_v1.check_ended(request, budget.now)
    # A request that names no Id gets the one CloudFormation's answer would make up: the same for
    # every delivery of this request, so a redelivery adopts the job it created.
    job_id = request.harvest_job_id or answering.made_up_physical_id(event)
    data = jobs_v1.create(client, request, job_id, budget)
    # The answer carries no property of unbounded length (the manifest's URI is built at synth), so
    # with an envelope as CloudFormation sends it, only an outlandish ChannelId could overflow it.
    limit = contract.MAX_ANSWER_BYTES
    if answering.answer_size(event, job_id, data) > limit:
        raise RequestError(
            f"Harvest job {job_id} was created, but its attributes exceed CloudFormation's "
            f"{limit}-byte answer"
        )
    return job_id, data


def _job_arn(event: Mapping[str, Any], job_id: str) -> str:
    """The job's ARN, from the stack's partition, region and account."""
    _, partition, _, region, account = (answering.envelope_text(event, "StackId").split(":") + [""] * 5)[:5]
    return jobs_v1.job_arn(partition or "aws", region, account, job_id)
