"""MediaPackage v2 harvest jobs (``mediapackagev2``): create-or-adopt, get, wait, cancel, ``Data``.

Beside ``jobs_v1`` with the same functions (``lifecycle.JobModule``), over a parsed request and a
client, knowing nothing of CloudFormation's wire format; the request half (parsing, comparing) is
``requests_v2``. A v2 job is addressed by channel group, channel and origin endpoint names and its
own name. Imports ``requests_v2``, ``waiting``, ``answering`` (RequestError), ``outbound``, the
contract and rules modules.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules
from botocore.exceptions import ClientError

from mediapackage_harvest_handler import outbound, requests_v2
from mediapackage_harvest_handler.answering import RequestError
from mediapackage_harvest_handler.waiting import (
    Budget,
    Notified,
    PendingWait,
    Seen,
    call_while_refused,
    wait_for,
)

logger = logging.getLogger(__name__)

Property = contract.PropertyV2
Data = contract.DataV2
HarvestJob = Mapping[str, Any]
HarvestRequest = requests_v2.HarvestRequest
parse_properties = requests_v2.parse_properties
requested_id = requests_v2.requested_id
address = requests_v2.address
differences = requests_v2.differences
#: Status reported for a job MediaPackage no longer knows (v2 documents no retention: as v1's).
EXPIRED_STATUS = "EXPIRED"
RUNNING = ("QUEUED", "IN_PROGRESS")
FINISHED = ("COMPLETED", "FAILED", "CANCELLED")
#: CreateHarvestJob refusals that only mean "not now": the request rate, and the quota of active
#: jobs per channel group (the model has ServiceQuotaExceededException, and a ValidationException
#: of type TOO_MANY_IN_PROGRESS_HARVEST_JOBS; which one the service sends is not documented). The
#: type is looked for anywhere in the parsed error, wherever botocore puts the modelled field.
_NOT_NOW = ("ThrottlingException", "ServiceQuotaExceededException")
_TOO_MANY_JOBS = "TOO_MANY_IN_PROGRESS_HARVEST_JOBS"


def client() -> Any:
    """The MediaPackage v2 client every call of this module takes."""
    return outbound.mediapackagev2_client()


def _text(value: object) -> str:
    """An attribute as ``Data`` holds it: times as ISO-8601 in UTC with a ``Z``."""
    if isinstance(value, datetime):
        return rules.format_time(value)
    return "" if value is None else str(value)


def job_data(job: HarvestJob) -> dict[str, str]:
    """The resource's attributes (``Fn::GetAtt``) from a CreateHarvestJob/GetHarvestJob answer."""
    schedule = job.get("ScheduleConfiguration") or {}
    return {
        Data.ARN: _text(job.get("Arn")),
        Data.HARVEST_JOB_NAME: _text(job.get("HarvestJobName")),
        Data.STATUS: _text(job.get("Status")),
        Data.CREATED_AT: _text(job.get("CreatedAt")),
        Data.START_TIME: _text(schedule.get("StartTime")),
        Data.END_TIME: _text(schedule.get("EndTime")),
    }


def job_arn(request: HarvestRequest, partition: str, region: str, account: str, job_id: str) -> str:
    """The ARN MediaPackage v2 gives the job ``job_id`` of the request's origin endpoint."""
    group, channel, endpoint = requests_v2.address_of(request)
    return (
        f"arn:{partition}:mediapackagev2:{region}:{account}:channelGroup/{group}/channel/{channel}/"
        f"originEndpoint/{endpoint}/harvestJob/{job_id}"
    )


def get_job(client: Any, where: Mapping[str, str], name: str) -> HarvestJob | None:
    """GetHarvestJob: the job, or None when MediaPackage has no such job (or no such endpoint).

    Any other error is raised: taking it for "no such job" would make an Update harvest again.
    """
    try:
        rules.check_name("HarvestJobName", name)
    except rules.HarvestRuleError:
        return None  # not a harvest job name at all, so MediaPackage cannot have it
    try:
        job: HarvestJob = client.get_harvest_job(**where, HarvestJobName=name)
        return job
    except ClientError as error:
        if outbound.error_code(error) == "ResourceNotFoundException":
            return None
        raise RequestError(f"GetHarvestJob {name} failed: {outbound.error_text(error)}") from error


def look(client: Any, job_id: str, address: Mapping[str, str]) -> Seen | None:
    """One GetHarvestJob of the job ``job_id`` at ``address``, as waiting understands it; None when
    the job does not exist. A FAILED job's reason is its ``ErrorMessage``; a CANCELLED one says so."""
    job = get_job(client, address, job_id)
    if job is None:
        return None
    status = str(job.get("Status"))
    if status == "COMPLETED":
        return Seen(status, "succeeded", job)
    if status == "FAILED":
        return Seen(
            status, "failed", job, reason=str(job.get("ErrorMessage") or "MediaPackage gave no ErrorMessage")
        )
    if status == "CANCELLED":
        return Seen(status, "failed", job, reason="it was cancelled (CancelHarvestJob) before it completed")
    return Seen(status, "running", job)


def notification(event: Mapping[str, Any]) -> Notified | None:
    """MediaPackage v2's own harvest-job events (source ``aws.mediapackagev2``) are not acted on: their
    detail fields are not documented, and ``GetHarvestJob`` gives a failed job's ``ErrorMessage``."""
    return None


def wait_for_job(client: Any, pending: PendingWait, budget: Budget, **options: Any) -> HarvestJob | None:
    """Wait (:func:`waiting.wait_for`) for the job: the job once COMPLETED, None when the budget ends."""
    seen = wait_for(
        functools.partial(look, client, pending.job_id, pending.address), pending, budget, **options
    )
    return None if seen is None else seen.job


def is_finished(data: Mapping[str, str]) -> bool:
    """Whether a job's attributes say it has finished, one way or another."""
    return data.get(Data.STATUS) in FINISHED


def check_ended(request: HarvestRequest, now: datetime) -> None:
    """The window's rule at deploy time, before anything is created (the protocol's name is v1's):
    for v2 only the start must have passed; the end may be in the future, as v2 harvests ongoing
    streams (the job then runs until its end)."""
    try:
        rules.check_started(request.start_time, now, start_name=Property.START_TIME)
    except rules.HarvestRuleError as error:
        raise RequestError(str(error)) from None


def _not_now(error: ClientError) -> bool:
    code = outbound.error_code(error)
    return code in _NOT_NOW or (code == "ValidationException" and _TOO_MANY_JOBS in str(error.response))


def create(
    client: Any, request: HarvestRequest, job_id: str, budget: Budget, token: str = ""
) -> dict[str, str]:
    """A new job named ``job_id`` for a checked request (:func:`check_ended` first): its attributes.

    CreateHarvestJob with ``token`` as ``ClientToken`` (the same for every delivery of the request);
    a refusal for the quota or the rate is waited out while the budget lasts. On any error the name
    is looked up: the same harvest is adopted (an earlier delivery made it), another one fails.
    """
    started = time.monotonic()
    try:
        job: HarvestJob = call_while_refused(
            "CreateHarvestJob",
            functools.partial(client.create_harvest_job, **request.create_arguments(job_id, token)),
            _not_now,
            budget,
            harvestJobName=job_id,
        )
    except ClientError as error:
        failure = f"CreateHarvestJob {job_id} failed: {outbound.error_text(error)}"
        if _not_now(error):
            failure = (
                f"CreateHarvestJob {job_id} refused for {time.monotonic() - started:.0f} s until time ran "
                "out (quota of active harvest jobs per channel group, 10 by default, or request rate): "
                f"{outbound.error_text(error)}"
            )
        try:
            existing = get_job(client, address(request), job_id)
        except RequestError as get_error:
            raise RequestError(f"{failure} ({get_error})") from error
        if existing is None:
            if outbound.error_code(error) == "ConflictException":
                failure = (
                    f"HarvestJobName {job_id} is already used by another harvest job of channel "
                    f"{request.channel_name}: set another harvest_job_name, or none to get a generated "
                    f"one. {failure}"
                )
            raise RequestError(failure) from error
        changed = differences(request, existing)
        if changed:
            raise RequestError(
                f"HarvestJobName {job_id} is already used by a harvest job with a different "
                f"{', '.join(changed)}: set another harvest_job_name, or none to get a generated one"
            ) from error
        logger.info({"message": "Adopted the existing harvest job with this name", "harvestJobName": job_id})
        return job_data(existing)
    logger.info({"message": "Created harvest job", "harvestJobName": job_id, "status": job.get("Status")})
    return job_data(job)


def kept_job(
    client: Any, request: HarvestRequest, job_id: str, old: HarvestRequest | None, arn: str
) -> dict[str, str] | None:
    """For an Update: the attributes of the job ``job_id`` when it is kept, None when a new one is needed.

    The job is looked up where the old properties put it. Kept when its harvest properties are
    unchanged, or when MediaPackage no longer knows it and the properties are as they were (``old``).
    A fixed name with changed properties fails.
    """
    keeps_name = request.harvest_job_name in (None, job_id)
    current = get_job(client, address(old or request), job_id)
    if current is not None:
        changed = differences(request, current, old)
        if not changed and keeps_name:
            logger.info(
                {"message": "Harvest properties unchanged: keeping the job", "harvestJobName": job_id}
            )
            return job_data(current)
        if request.harvest_job_name == job_id:
            raise RequestError(
                f"HarvestJobName {job_id} is kept but {', '.join(changed)} changed: a harvest job cannot be "
                "changed; set a new harvest_job_name, or none to get a generated one"
            )
        return None
    if old is not None and keeps_name and request.same_harvest(old):
        logger.info(
            {"message": "Job no longer known, harvest unchanged: keeping it", "harvestJobName": job_id}
        )
        known = {**request.create_arguments(job_id, ""), "Arn": arn, "Status": EXPIRED_STATUS}
        return job_data(known)
    return None


def stop(properties: object, job_id: str) -> None:
    """Delete: cancel the job if it is still QUEUED or IN_PROGRESS, with its ETag (GetHarvestJob first).

    A conflict (it finished meanwhile) is logged; any other error is raised for the caller to log.
    A physical id that names no job (a failed Create's) finds nothing and does nothing.
    """
    where = requests_v2.parse_address(properties)
    mediapackage = client()
    job = get_job(mediapackage, where, job_id)
    status = None if job is None else job.get("Status")
    if job is None or status not in RUNNING:
        logger.info(
            {"message": "No running harvest job to cancel", "harvestJobName": job_id, "status": status}
        )
        return
    etag = {"ETag": job["ETag"]} if job.get("ETag") else {}
    try:
        mediapackage.cancel_harvest_job(**where, HarvestJobName=job_id, **etag)
    except ClientError as error:
        status_code = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        ineligible = "HARVEST_JOB_INELIGIBLE_FOR_CANCELLATION" in str(error.response)
        if (
            outbound.error_code(error) != "ConflictException"
            and status_code not in (409, 412)
            and not ineligible
        ):
            raise
        logger.info({"message": "The job finished before it could be cancelled", "harvestJobName": job_id})
        return
    logger.info({"message": "Cancelled the running harvest job", "harvestJobName": job_id, "status": status})
