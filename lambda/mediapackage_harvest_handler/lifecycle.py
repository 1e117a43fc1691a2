"""What each CloudFormation request does: Create, Update, Delete and a scheduled poll, as decisions.

Reads the event's wire format (envelope, properties) and hands the job module what it needs; each
function returns a :class:`Decision` (status, physical id, data, a wait still pending) and never
raises. Harvest jobs cannot be edited or deleted, and MediaPackage keeps their records, hence:
Create is idempotent per request, Update keeps a job whose harvest properties did not change, and
Delete answers SUCCESS at once, after the job module's ``stop`` (v1: nothing; v2: cancel a running
job). The job module is picked by the event's ``ResourceType`` (:data:`JOB_MODULES`): ``jobs_v1``
for ``Custom::MediaPackageHarvestJob``, ``jobs_v2`` for ``Custom::MediaPackageV2HarvestJob``, each
with the functions of :class:`JobModule`. Imports the job modules, ``waiting``, ``log_streams``,
``answering``, ``outbound`` and the shared modules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import cdk_mediapackage_harvest_contract as contract

from mediapackage_harvest_handler import answering, jobs_v1, jobs_v2, log_streams, outbound
from mediapackage_harvest_handler.answering import RequestError
from mediapackage_harvest_handler.waiting import (
    NOTIFIED_KEY,
    Budget,
    Notified,
    PendingWait,
    Seen,
    completion_timeout,
)

logger = logging.getLogger(__name__)


class JobModule(Protocol):
    """What the lifecycle asks of a job module: pure functions over a client and a parsed request.

    ``Request`` is the module's own parsed properties; ``job`` its service's answer for one job.
    """

    EXPIRED_STATUS: str

    def client(self) -> Any: ...
    def parse_properties(self, properties: object) -> Any: ...
    def requested_id(self, request: Any) -> str | None: ...
    def address(self, request: Any) -> dict[str, str]: ...
    def check_ended(self, request: Any, now: datetime) -> None: ...
    def create(
        self, client: Any, request: Any, job_id: str, budget: Budget, token: str = ""
    ) -> dict[str, str]: ...
    def kept_job(
        self, client: Any, request: Any, job_id: str, old: Any | None, arn: str
    ) -> dict[str, str] | None: ...
    def wait_for_job(
        self, client: Any, pending: PendingWait, budget: Budget, **options: Any
    ) -> Mapping[str, Any] | None: ...
    def job_data(self, job: Mapping[str, Any]) -> dict[str, str]: ...
    def is_finished(self, data: Mapping[str, str]) -> bool: ...
    def job_arn(self, request: Any, partition: str, region: str, account: str, job_id: str) -> str: ...
    def stop(self, properties: object, job_id: str) -> None: ...
    def notification(self, event: Mapping[str, Any]) -> Notified | None: ...
    def look(self, client: Any, job_id: str, address: Mapping[str, str]) -> Seen | None: ...


#: The job module of each custom resource type this handler serves.
JOB_MODULES: Mapping[str, JobModule] = {contract.RESOURCE_TYPE: jobs_v1, contract.RESOURCE_TYPE_V2: jobs_v2}

Action = Callable[[JobModule, Any, Mapping[str, Any], Budget], tuple[str, dict[str, str]]]


def job_module(event: Mapping[str, Any]) -> JobModule:
    """The job module for the event's ``ResourceType`` (v1 when the event has none)."""
    resource_type = event.get("ResourceType", contract.RESOURCE_TYPE)
    jobs = JOB_MODULES.get(resource_type) if isinstance(resource_type, str) else None
    if jobs is None:
        raise RequestError(
            f"ResourceType {resource_type!r:.80} is not served by this handler; expected one of "
            f"{', '.join(JOB_MODULES)}"
        )
    return jobs


@dataclass(frozen=True)
class Decision:
    """What an entry point decided for one event.

    ``physical_id`` empty: the event's own (Update, Delete) or a made-up one (a Create that failed
    before its job existed; one that failed after answers with the job's). ``pending``: the job
    is still running when the invocation must stop; a first invocation hands it to the poller, a
    poll leaves it to the next poll. Nothing is answered while a wait is pending.
    """

    status: Literal["SUCCESS", "FAILED"]
    physical_id: str = ""
    data: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""
    pending: PendingWait | None = None


def failed(error: BaseException, physical_id: str = "") -> Decision:
    """A FAILED decision whose Reason is the error's useful part first."""
    text = str(error) if isinstance(error, RequestError) else outbound.error_text(error)
    logger.error({"message": "Request failed", "reason": text}, exc_info=error)
    return Decision("FAILED", physical_id, reason=answering.reason(text))


def _created(event: Mapping[str, Any], job_id: str) -> str:
    """The physical id of a Create that fails once its job exists (waiting for it failed): the job's,
    so that the rollback's Delete stops it (v2 cancels it if it still runs). An Update keeps its old
    one (empty here)."""
    return job_id if event.get("RequestType") == "Create" else ""


def create(event: Mapping[str, Any], context: object) -> Decision:
    return _respond(create_job, event, context)


def update(event: Mapping[str, Any], context: object) -> Decision:
    return _respond(update_job, event, context)


def delete(event: Mapping[str, Any], _context: object) -> Decision:
    """Harvest jobs cannot be deleted: the job module's ``stop`` (v2 cancels a running job), then
    SUCCESS at once, whatever happened; the Delete after a failed Create succeeds for any physical id.
    """
    physical_id = str(event.get("PhysicalResourceId") or "")
    try:
        job_module(event).stop(event.get("ResourceProperties"), physical_id)
    except Exception as error:  # logged; a Delete never fails
        text = str(error) if isinstance(error, RequestError) else outbound.error_text(error)
        logger.error({"message": "Stopping the harvest job failed; Delete succeeds", "error": text})
    logger.info({"message": "Harvest jobs cannot be deleted; answering SUCCESS", "harvestJobId": physical_id})
    return Decision("SUCCESS")


def poll(event: Mapping[str, Any], context: object) -> Decision:
    """A scheduled poll: the job's Id and attributes once it succeeded; still pending while it runs."""
    job_id = ""
    try:
        jobs = job_module(event)
        pending = PendingWait.from_event(event)
        job_id = pending.job_id
        # A poll that a notification started looks for a few seconds (the API may lag the event);
        # the scheduled polls go on otherwise.
        notified = bool(event.get(NOTIFIED_KEY))
        at_most = contract.NOTIFIED_WATCH_SECONDS if notified else contract.POLLER_INVOCATION_SECONDS
        budget = Budget.of(context, at_most=at_most)
        job = jobs.wait_for_job(jobs.client(), pending, budget)
    except Exception as error:
        return failed(error, _created(event, job_id))
    if job is None:
        return Decision("SUCCESS", pending=pending)
    return Decision("SUCCESS", pending.job_id, jobs.job_data(job))


def _respond(action: Action, event: Mapping[str, Any], context: object) -> Decision:
    """Run Create or Update; with waiting on, wait for a new job until done or out of time."""
    physical_id = ""
    try:
        jobs = job_module(event)
        timeout = completion_timeout(event.get("ResourceProperties"))
        budget = Budget.of(context)
        client = jobs.client()
        physical_id, data = action(jobs, client, event, budget)
        # A new job: every Create, and an Update that replaced the job. A kept job never waits.
        replaced = physical_id != str(event.get("PhysicalResourceId") or "")
        if timeout is None or not replaced or data.get(contract.Data.STATUS) == jobs.EXPIRED_STATUS:
            return Decision("SUCCESS", physical_id, data)
        address = jobs.address(jobs.parse_properties(event.get("ResourceProperties")))
        pending = PendingWait.starting(physical_id, budget, timeout, address)
        log_streams.expect_reason(physical_id)  # where a failure's notification leaves its reason
        # Just created: look after one interval (a job takes longer; a read right after the create
        # could also miss it). An adopted job that already finished: look at once.
        first_look = 0.0 if jobs.is_finished(data) else contract.POLL_INTERVAL_SECONDS
        job = jobs.wait_for_job(client, pending, budget, first_look_after=first_look)
    except Exception as error:
        return failed(error, _created(event, physical_id))
    if job is None:
        return Decision("SUCCESS", physical_id, data, pending=pending)
    return Decision("SUCCESS", physical_id, jobs.job_data(job))


def create_job(
    jobs: JobModule, client: Any, event: Mapping[str, Any], budget: Budget
) -> tuple[str, dict[str, str]]:
    """Create: the physical resource id (the job Id) and the attributes."""
    return _new_job(jobs, client, event, jobs.parse_properties(event.get("ResourceProperties")), budget)


def update_job(
    jobs: JobModule, client: Any, event: Mapping[str, Any], budget: Budget
) -> tuple[str, dict[str, str]]:
    """Update: keep the job when its harvest properties are unchanged, else create a new one.

    CloudFormation sends Update when any property changes, ServiceToken included (a new handler),
    and in rollback. A returned physical id that differs from the old one means replacement:
    CloudFormation then sends Delete for the old job (which v2 cancels if it still runs).
    """
    request = jobs.parse_properties(event.get("ResourceProperties"))
    physical_id = str(event.get("PhysicalResourceId") or "")
    try:
        old = jobs.parse_properties(event.get("OldResourceProperties"))
    except RequestError:
        old = None
    kept = jobs.kept_job(client, request, physical_id, old, _job_arn(jobs, event, request, physical_id))
    if kept is not None:
        return physical_id, kept
    return _new_job(jobs, client, event, request, budget)


def _new_job(
    jobs: JobModule, client: Any, event: Mapping[str, Any], request: Any, budget: Budget
) -> tuple[str, dict[str, str]]:
    """A new job: Create, or an Update with changed properties."""
    jobs.check_ended(request, budget.now)
    # A request that names no Id gets the one CloudFormation's answer would make up: the same for
    # every delivery of this request, so a redelivery adopts the job it created.
    job_id = jobs.requested_id(request) or answering.made_up_physical_id(event)
    data = jobs.create(client, request, job_id, budget, token=answering.request_token(event))
    # The answer carries no property of unbounded length (v1's manifest URI and v2's destination URI
    # are built at synth): v2's longest (an ARN of four 256-character names, the name twice) stays
    # near 2,500 bytes with an envelope as CloudFormation sends it; only an outlandish value of the
    # service's could overflow it.
    limit = contract.MAX_ANSWER_BYTES
    if answering.answer_size(event, job_id, data) > limit:
        raise RequestError(
            f"Harvest job {job_id} was created, but its attributes exceed CloudFormation's "
            f"{limit}-byte answer"
        )
    return job_id, data


def _job_arn(jobs: JobModule, event: Mapping[str, Any], request: Any, job_id: str) -> str:
    """The job's ARN, from the stack's partition, region and account."""
    _, partition, _, region, account = (answering.envelope_text(event, "StackId").split(":") + [""] * 5)[:5]
    return jobs.job_arn(request, partition or "aws", region, account, job_id)
