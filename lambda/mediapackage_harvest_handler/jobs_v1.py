"""MediaPackage v1 harvest jobs: the properties, create-or-adopt, describe, update decisions, ``Data``.

The model for a second API's module beside it: pure functions over a parsed request and a client,
that know MediaPackage and nothing of CloudFormation's wire format (the lifecycle hands them what
they need). Imports ``notices_v1`` (its notifications), ``waiting`` (Budget, Seen, the loops),
``answering`` (RequestError), ``outbound``, the contract and rules modules.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules
from botocore.exceptions import ClientError

from mediapackage_harvest_handler import notices_v1, outbound
from mediapackage_harvest_handler.answering import RequestError
from mediapackage_harvest_handler.waiting import Budget, PendingWait, Seen, call_while_refused, wait_for

if TYPE_CHECKING:
    from mypy_boto3_mediapackage import MediaPackageClient

logger = logging.getLogger(__name__)

Property = contract.Property
Data = contract.Data
HarvestJob = Mapping[str, Any]
#: Status reported for a job whose record MediaPackage no longer keeps (after 90 days).
EXPIRED_STATUS = "EXPIRED"


@dataclass(frozen=True)
class HarvestRequest:
    """The harvest properties of one resource, parsed and checked."""

    origin_endpoint_id: str
    start_time: datetime
    end_time: datetime
    bucket_name: str
    manifest_key: str
    role_arn: str
    harvest_job_id: str | None

    def create_arguments(self, job_id: str) -> dict[str, Any]:
        return {
            "Id": job_id,
            "OriginEndpointId": self.origin_endpoint_id,
            "StartTime": rules.format_time(self.start_time),
            "EndTime": rules.format_time(self.end_time),
            "S3Destination": {
                "BucketName": self.bucket_name,
                "ManifestKey": self.manifest_key,
                "RoleArn": self.role_arn,
            },
        }

    def same_harvest(self, other: HarvestRequest) -> bool:
        """The same window, endpoint and destination, whatever the Id."""
        return dataclasses.replace(self, harvest_job_id=None) == dataclasses.replace(
            other, harvest_job_id=None
        )


def client() -> MediaPackageClient:
    """The MediaPackage (v1) client every call of this module takes."""
    return outbound.mediapackage_client()


def requested_id(request: HarvestRequest) -> str | None:
    """The Id the properties name, if any."""
    return request.harvest_job_id


def address(request: HarvestRequest) -> dict[str, str]:
    """What a poll needs besides the Id to find the job: nothing, a v1 Id is unique in the region."""
    return {}


def stop(properties: object, job_id: str) -> None:
    """Delete: nothing to do, a v1 harvest job can be neither cancelled nor deleted."""


def _string(properties: Mapping[str, Any], key: str, path: str = "") -> str:
    name = f"{path}{key}"
    if key not in properties:
        raise RequestError(f"Missing property {name}")
    value = properties[key]
    if not isinstance(value, str):
        raise RequestError(f"Property {name} is a {type(value).__name__}; expected a string")
    if not value:
        raise RequestError(f"Property {name} is empty")
    return value


def _reject_unknown(properties: Mapping[str, Any], known: frozenset[str], path: str) -> None:
    unknown = sorted(f"{path}{key}" for key in properties if key not in known)
    if unknown:
        expected = ", ".join(sorted(known - Property.CLOUDFORMATION_KEYS))
        raise RequestError(f"Unknown property {', '.join(unknown)}; expected only {expected}")


def parse_properties(properties: object) -> HarvestRequest:
    """Parse the resource's properties (all strings) into a checked :class:`HarvestRequest`."""
    if not isinstance(properties, Mapping):
        raise RequestError("ResourceProperties is missing or not an object")
    _reject_unknown(properties, Property.KEYS, "")
    destination = properties.get(Property.S3_DESTINATION)
    if destination is None:
        raise RequestError(f"Missing property {Property.S3_DESTINATION}")
    if not isinstance(destination, Mapping):
        raise RequestError(
            f"Property {Property.S3_DESTINATION} is a {type(destination).__name__}; "
            f"expected an object with {', '.join(Property.DESTINATION_KEYS)}"
        )
    at = f"{Property.S3_DESTINATION}."
    _reject_unknown(destination, frozenset(Property.DESTINATION_KEYS), at)
    job_id = properties.get(Property.ID)
    try:
        start = rules.parse_time(Property.START_TIME, _string(properties, Property.START_TIME))
        end = rules.parse_time(Property.END_TIME, _string(properties, Property.END_TIME))
        rules.check_window(start, end, start_name=Property.START_TIME, end_name=Property.END_TIME)
        return HarvestRequest(
            origin_endpoint_id=rules.check_identifier(
                Property.ORIGIN_ENDPOINT_ID, _string(properties, Property.ORIGIN_ENDPOINT_ID), max_length=None
            ),
            start_time=start,
            end_time=end,
            bucket_name=rules.check_bucket_name(
                f"{at}{Property.BUCKET_NAME}", _string(destination, Property.BUCKET_NAME, at)
            ),
            manifest_key=rules.check_manifest_key(
                f"{at}{Property.MANIFEST_KEY}", _string(destination, Property.MANIFEST_KEY, at)
            ),
            role_arn=rules.check_role_arn(
                f"{at}{Property.ROLE_ARN}", _string(destination, Property.ROLE_ARN, at)
            ),
            harvest_job_id=None if job_id is None else rules.check_identifier(Property.ID, job_id),
        )
    except rules.HarvestRuleError as error:
        raise RequestError(str(error)) from None


def _same_time(actual: object, expected: datetime) -> bool:
    try:
        return isinstance(actual, str) and rules.parse_time("", actual) == expected
    except rules.HarvestRuleError:
        return False


def differences(request: HarvestRequest, job: HarvestJob) -> list[str]:
    """The harvest properties in which an existing job differs from the request."""
    destination = job.get("S3Destination") or {}
    found = []
    if job.get("OriginEndpointId") != request.origin_endpoint_id:
        found.append(Property.ORIGIN_ENDPOINT_ID)
    if not _same_time(job.get("StartTime"), request.start_time):
        found.append(Property.START_TIME)
    if not _same_time(job.get("EndTime"), request.end_time):
        found.append(Property.END_TIME)
    for key, wanted in (
        (Property.BUCKET_NAME, request.bucket_name),
        (Property.MANIFEST_KEY, request.manifest_key),
        (Property.ROLE_ARN, request.role_arn),
    ):
        if destination.get(key) != wanted:
            found.append(f"{Property.S3_DESTINATION}.{key}")
    return found


def job_data(job: HarvestJob) -> dict[str, str]:
    """The resource's attributes (``Fn::GetAtt``) from a CreateHarvestJob/DescribeHarvestJob answer."""
    return {key: str(job.get(key, "")) for key in Data.KEYS}


def job_arn(request: HarvestRequest, partition: str, region: str, account: str, job_id: str) -> str:
    """The ARN MediaPackage gives a job in this partition, region and account (v1's does not depend
    on the request)."""
    return f"arn:{partition}:mediapackage:{region}:{account}:harvest_jobs/{job_id}"


def known_job(request: HarvestRequest, job_id: str, arn: str, **fields: str) -> dict[str, str]:
    """The attributes known without asking MediaPackage: what the request says, the ARN, and ``fields``
    (a job whose record has expired)."""
    return job_data({**request.create_arguments(job_id), "Arn": arn, **fields})


def describe_job(client: MediaPackageClient, job_id: str) -> HarvestJob | None:
    """The job with this Id, or None when MediaPackage has no such job.

    Any other error (denied, throttled beyond botocore's retries, 5xx) is raised: taking it for
    "no such job" would make an Update harvest the same window again.
    """
    try:
        rules.check_identifier("Id", job_id)
    except rules.HarvestRuleError:
        return None  # not a harvest job Id at all, so MediaPackage cannot have it
    try:
        return client.describe_harvest_job(Id=job_id)
    except ClientError as error:
        if outbound.error_code(error) == "NotFoundException":
            return None
        raise RequestError(f"DescribeHarvestJob {job_id} failed: {outbound.error_text(error)}") from error


def look(client: MediaPackageClient, job_id: str, address: Mapping[str, str] | None = None) -> Seen | None:
    """One DescribeHarvestJob, as waiting understands it; None when the job does not exist. A v1 job
    is found by its Id alone: ``address`` is always empty."""
    job = describe_job(client, job_id)
    if job is None:
        return None
    status = str(job.get("Status"))
    if status == "SUCCEEDED":
        return Seen(status, "succeeded", job)
    if status == "FAILED":
        # DescribeHarvestJob gives no cause: only the job's notification does (waiting finds it).
        return Seen(status, "failed", job)
    return Seen(status, "running", job)


#: What a ``MediaPackage HarvestJob Notification`` names (:mod:`notices_v1`).
notification = notices_v1.notification


def wait_for_job(
    client: MediaPackageClient, pending: PendingWait, budget: Budget, **options: Any
) -> HarvestJob | None:
    """Wait (:func:`waiting.wait_for`) for the job: the job once SUCCEEDED, None when the budget ends."""
    seen = wait_for(functools.partial(look, client, pending.job_id), pending, budget, **options)
    return None if seen is None else seen.job


def is_finished(data: Mapping[str, str]) -> bool:
    """Whether a job's attributes say it has finished, one way or the other."""
    return data.get(Data.STATUS) in ("SUCCEEDED", "FAILED")


def check_ended(request: HarvestRequest, now: datetime) -> None:
    """MediaPackage harvests only a window that has ended: checked before anything is created."""
    try:
        rules.check_ended(request.end_time, now, end_name=Property.END_TIME)
    except rules.HarvestRuleError as error:
        raise RequestError(str(error)) from None


def create(
    client: MediaPackageClient, request: HarvestRequest, job_id: str, budget: Budget, token: str = ""
) -> dict[str, str]:
    """A new job for a checked request (:func:`check_ended` first): its attributes.

    CreateHarvestJob; when the Id already exists, that job is adopted if it is the same harvest.
    TooManyRequestsException (a full quota of concurrent jobs, or the request rate) is waited out
    while the budget lasts (:func:`waiting.call_while_refused`). ``token``: v1 has no ClientToken; the
    Id, the same for every delivery of a request, makes the create idempotent.
    """
    started = time.monotonic()
    try:
        job: HarvestJob = call_while_refused(
            "CreateHarvestJob",
            functools.partial(client.create_harvest_job, **request.create_arguments(job_id)),
            lambda refusal: outbound.error_code(refusal) == outbound.THROTTLED,
            budget,
            harvestJobId=job_id,
        )
    except ClientError as error:
        # A duplicate Id is not a modelled error (most likely 422), and an earlier call may have
        # created the job without its answer arriving (a timeout, or a crashed invocation that
        # Lambda retries): look the Id up instead of guessing from the error code.
        if outbound.error_code(error) == outbound.THROTTLED:
            message = error.response.get("Error", {}).get("Message", "")
            failure = (
                f"CreateHarvestJob {job_id} failed: TooManyRequestsException for "
                f"{time.monotonic() - started:.0f} s until time ran out (quota of 10 concurrent "
                f"harvest jobs by default, or request rate): {message}"
            )
        else:
            failure = f"CreateHarvestJob {job_id} failed: {outbound.error_text(error)}"
        try:
            existing = describe_job(client, job_id)
        except RequestError as describe_error:
            raise RequestError(f"{failure} ({describe_error})") from error
        if existing is None:
            raise RequestError(failure) from error
        changed = differences(request, existing)
        if changed:
            raise RequestError(
                f"Harvest job Id {job_id} already exists with a different {', '.join(changed)}; "
                "an Id cannot be reused for 90 days: set another Id, or none to get a generated one"
            ) from error
        logger.info({"message": "Adopted the existing harvest job with this Id", "harvestJobId": job_id})
        return job_data(existing)
    logger.info({"message": "Created harvest job", "harvestJobId": job_id, "status": job.get("Status")})
    return job_data(job)


def kept_job(
    client: MediaPackageClient, request: HarvestRequest, job_id: str, old: HarvestRequest | None, arn: str
) -> dict[str, str] | None:
    """For an Update: the attributes of the job ``job_id`` when it is kept, None when a new one is needed.

    Kept when its harvest properties are unchanged (only ServiceToken changed, or a rollback), or
    when MediaPackage forgot it (after 90 days) and the properties are as they were (``old``):
    re-harvesting that old window would fail. A fixed Id with changed properties fails.
    """
    keeps_id = request.harvest_job_id in (None, job_id)
    current = describe_job(client, job_id)
    if current is not None:
        changed = differences(request, current)
        if not changed and keeps_id:
            logger.info({"message": "Harvest properties unchanged: keeping the job", "harvestJobId": job_id})
            return job_data(current)
        if request.harvest_job_id == job_id:
            raise RequestError(
                f"Id {job_id} is kept but {', '.join(changed)} changed: a harvest job cannot be "
                "changed and its Id cannot be reused for 90 days; "
                "set a new Id, or none to get a generated one"
            )
        return None
    if old is not None and keeps_id and request.same_harvest(old):
        logger.info({"message": "Job record expired, harvest unchanged: keeping it", "harvestJobId": job_id})
        return known_job(request, job_id, arn, Status=EXPIRED_STATUS)
    return None
