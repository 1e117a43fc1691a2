"""MediaPackage v2 harvest jobs for moto's server mode (moto 5.2 has none): the store behind
``CreateHarvestJob``, ``GetHarvestJob``, ``CancelHarvestJob`` and ``ListHarvestJobs``
(:mod:`local_aws.harvest_api_v2`), on the origin endpoints of :mod:`local_aws.origin_endpoints_v2`.

Requests are parsed and answers serialized by moto from botocore's ``mediapackagev2`` model (REST-JSON:
timestamps are epoch seconds, ``ClientToken`` travels in ``x-amzn-client-token``, the ETag of a cancel in
``x-amzn-update-if-match``). The request rules are in :mod:`local_aws.harvest_rules_v2`. Besides them:

- A job starts ``QUEUED``, is ``IN_PROGRESS`` after ``HarvestV2Settings.queue_delay`` seconds and ends
  ``completion_delay`` seconds later (not before its ``EndTime``: ongoing streams can be harvested),
  ``COMPLETED`` or ``FAILED`` with an ``ErrorMessage``. Every status change makes a new ``ETag``.
- When it ends, the job checks the destination bucket's real policy in moto's S3
  (:mod:`local_aws.bucket_policy`): ``mediapackagev2.amazonaws.com`` must be allowed ``s3:PutObject`` on
  every key it writes, with ``aws:SourceAccount`` the account and ``aws:SourceArn`` the origin endpoint's
  ARN. If so it writes, under ``DestinationPath`` (a ``/`` is added when it has none), each HLS and
  low-latency HLS manifest as ``<name>.m3u8`` with its media playlist ``<name>_1.m3u8`` (segments
  listed, not written) and each DASH manifest as ``<name>.mpd``; if not, it fails saying which key.
  It also fails when told to (``failures`` by job name, or ``failure_message`` for every job).
- Names are unique within the channel (the API reference: "This name must be unique within the
  channel"; ``ConflictException``); without ``HarvestJobName`` a name is generated (the documentation
  is silent on what the service does). The same ``ClientToken`` with the same request answers the same
  job; with another request, ``ConflictException`` (``IDEMPOTENT_PARAMETER_MISMATCH``). Tokens do not
  expire locally (the documentation gives no lifetime).
- At most ``max_active_jobs`` QUEUED or IN_PROGRESS jobs per channel group ("Maximum active harvest
  jobs: 10 per channel group", https://docs.aws.amazon.com/mediapackage/latest/userguide/quotas.html),
  refused with ``quota_error``: ``ServiceQuotaExceededException`` (402) by default; the model also has
  a ``ValidationExceptionType`` ``TOO_MANY_IN_PROGRESS_HARVEST_JOBS``, so ``"ValidationException"`` can
  be chosen.
- ``CancelHarvestJob`` cancels a QUEUED or IN_PROGRESS job ("Cancels an in-progress harvest job",
  https://docs.aws.amazon.com/mediapackage/latest/APIReference/API_CancelHarvestJob.html). An ETag other
  than the job's answers ``ConflictException`` (409, as the model says); no ETag cancels unconditionally
  (it is optional in the model). A job that has ended answers ``cancel_finished_error``:
  ``ConflictException`` by default, or ``"ValidationException"``
  (``HARVEST_JOB_INELIGIBLE_FOR_CANCELLATION``).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.core.exceptions import ServiceException
from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends

from local_aws import bucket_policy
from local_aws import harvest_outputs_v2 as outputs
from local_aws import harvest_rules_v2 as rules
from local_aws.origin_endpoints_v2 import (
    ENDPOINTS,
    Conflict,
    NotFound,
    Validation,
    channel,
    check_name,
)

QUEUED, IN_PROGRESS, CANCELLED, COMPLETED, FAILED = (
    "QUEUED",
    "IN_PROGRESS",
    "CANCELLED",
    "COMPLETED",
    "FAILED",
)
STATUSES = (QUEUED, IN_PROGRESS, CANCELLED, COMPLETED, FAILED)
ACTIVE = (QUEUED, IN_PROGRESS)
SERVICE_PRINCIPAL = "mediapackagev2.amazonaws.com"


class ServiceQuotaExceeded(ServiceException):
    code = "ServiceQuotaExceededException"


@dataclass
class HarvestV2Settings:
    """How the local v2 harvest jobs behave; change the fields at any time (tests do). Values are checked."""

    queue_delay: float = 0.5
    """Seconds a job stays QUEUED."""
    completion_delay: float = 2.0
    """Seconds a job stays IN_PROGRESS (and it does not end before its EndTime)."""
    failures: dict[str, str] = field(default_factory=dict)
    """ErrorMessage per HarvestJobName: those jobs end FAILED with it."""
    failure_message: str | None = None
    """When set, every job ends FAILED with this ErrorMessage."""
    max_active_jobs: int = 10
    """QUEUED or IN_PROGRESS jobs per channel group (MediaPackage v2's default quota)."""
    quota_error: str = "ServiceQuotaExceededException"
    """The error above the quota: ServiceQuotaExceededException or ValidationException."""
    cancel_finished_error: str = "ConflictException"
    """The error for cancelling a job that has ended: ConflictException or ValidationException."""
    create_answer_delay: float = 0.0
    """Seconds CreateHarvestJob holds its answer after storing the job."""

    def __setattr__(self, name: str, value: Any) -> None:
        seconds = ("queue_delay", "completion_delay", "create_answer_delay")
        if name in seconds and not (isinstance(value, int | float) and value >= 0):
            raise ValueError(f"HarvestV2Settings.{name}: {value!r}; expected seconds >= 0")
        if name == "max_active_jobs" and not (isinstance(value, int) and value >= 1):
            raise ValueError(f"HarvestV2Settings.max_active_jobs: {value!r}; expected an integer >= 1")
        if name == "quota_error" and value not in ("ServiceQuotaExceededException", "ValidationException"):
            raise ValueError(
                f"HarvestV2Settings.quota_error: {value!r}; expected 'ServiceQuotaExceededException' or "
                "'ValidationException'"
            )
        if name == "cancel_finished_error" and value not in ("ConflictException", "ValidationException"):
            raise ValueError(
                f"HarvestV2Settings.cancel_finished_error: {value!r}; expected 'ConflictException' or "
                "'ValidationException'"
            )
        if name == "failure_message" and not (value is None or (isinstance(value, str) and value)):
            raise ValueError(f"HarvestV2Settings.failure_message: {value!r}; expected a message or None")
        super().__setattr__(name, value)


@dataclass
class JobRecord:
    account: str
    region: str
    job: dict[str, Any]
    """The job in the shape of botocore's ``GetHarvestJobResponse`` (member names)."""
    endpoint_arn: str
    container_type: str
    request: str
    """The request as JSON (without ClientToken): what a repeated ClientToken must match."""
    runs_at: float
    """``time.monotonic()`` when the job leaves QUEUED."""
    finishes_at: float
    """``time.monotonic()`` when the job leaves IN_PROGRESS."""


class HarvestJobV2Store:
    """Every account's and region's v2 harvest jobs, kept in the server's process."""

    def __init__(self) -> None:
        self.settings = HarvestV2Settings()
        self._lock = threading.RLock()
        self._records: dict[tuple[str, str], dict[tuple[str, str, str], JobRecord]] = {}
        self._tokens: dict[tuple[str, str, str], tuple[str, tuple[str, str, str]]] = {}
        self._timers: list[threading.Timer] = []
        self.quota_refusals = 0

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
            self._tokens.clear()
            self.quota_refusals = 0
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
        self.settings = HarvestV2Settings()

    def create(self, account: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        group, channel_name, endpoint_name = (
            request[n] for n in ("ChannelGroupName", "ChannelName", "OriginEndpointName")
        )
        endpoint = ENDPOINTS.get(account, region, group, channel_name, endpoint_name)
        token = request.pop("ClientToken", None)
        fingerprint = json.dumps(request, sort_keys=True, default=str)
        with self._lock:  # held throughout: concurrent requests with one ClientToken make one job
            self._settle()
            if token is not None and (account, region, token) in self._tokens:
                seen, key = self._tokens[(account, region, token)]
                if seen != fingerprint:
                    raise Conflict(
                        f"ClientToken {token!r} was used with another request",
                        "IDEMPOTENT_PARAMETER_MISMATCH",
                    )
                return dict(self._records[(account, region)][key].job)
            name = request.get("HarvestJobName")
            name = (
                check_name(name, "HarvestJobName") if name is not None else f"harvest-{secrets.token_hex(8)}"
            )
            harvested = rules.manifests(request, endpoint)
            start, end = rules.schedule(request, endpoint, now)
            destination = rules.destination(account, region, request)
            description, tags = rules.description(request), rules.tags(request)
            jobs = self._records.setdefault((account, region), {})
            key = (group, channel_name, name)
            if key in jobs:
                raise Conflict(
                    f"HarvestJobName {name!r}: the channel already has a harvest job of this name",
                    "RESOURCE_ALREADY_EXISTS",
                )
            active = sum(1 for k, r in jobs.items() if k[0] == group and r.job["Status"] in ACTIVE)
            if active >= self.settings.max_active_jobs:
                self.quota_refusals += 1
                message = (
                    f"Limit exceeded: {active} harvest jobs are active in channel group {group!r} "
                    f"(quota {self.settings.max_active_jobs})"
                )
                if self.settings.quota_error == "ValidationException":
                    raise Validation(message, "TOO_MANY_IN_PROGRESS_HARVEST_JOBS")
                raise ServiceQuotaExceeded(message)
            job = {
                "ChannelGroupName": group,
                "ChannelName": channel_name,
                "OriginEndpointName": endpoint_name,
                "Destination": destination,
                "HarvestJobName": name,
                "HarvestedManifests": harvested,
                "Description": description,
                "ScheduleConfiguration": {"StartTime": start, "EndTime": end},
                "Arn": f"{endpoint.arn}/harvestJob/{name}",
                "CreatedAt": now,
                "ModifiedAt": now,
                "Status": QUEUED,
                "ETag": secrets.token_hex(16),
                "Tags": tags,
            }
            clock = time.monotonic()
            runs_at = clock + self.settings.queue_delay
            finishes_at = max(runs_at, clock + (end - now).total_seconds()) + self.settings.completion_delay
            record = JobRecord(
                account, region, job, endpoint.arn, endpoint.container_type, fingerprint, runs_at, finishes_at
            )
            jobs[key] = record
            if token is not None:
                self._tokens[(account, region, token)] = (fingerprint, key)
            for moment in (runs_at, finishes_at):
                timer = threading.Timer(max(0.0, moment - clock), self._settle)
                timer.daemon = True
                timer.start()
                self._timers = [*(t for t in self._timers if t.is_alive()), timer]
            return dict(job)

    def get(self, account: str, region: str, names: tuple[str, str, str, str]) -> dict[str, Any]:
        with self._lock:
            self._settle()
            return dict(self._find(account, region, names).job)

    def cancel(self, account: str, region: str, names: tuple[str, str, str, str], e_tag: str | None) -> None:
        with self._lock:
            self._settle()
            job = self._find(account, region, names).job
            if job["Status"] not in ACTIVE:
                message = (
                    f"Harvest job {job['HarvestJobName']!r} is {job['Status']}: only QUEUED or IN_PROGRESS "
                    "jobs can be cancelled"
                )
                if self.settings.cancel_finished_error == "ValidationException":
                    raise Validation(message, "HARVEST_JOB_INELIGIBLE_FOR_CANCELLATION")
                raise Conflict(message, "CONFLICTING_OPERATION")
            if e_tag is not None and e_tag != job["ETag"]:
                raise Conflict(
                    f"ETag {e_tag!r} is not the harvest job's current ETag", "CONFLICTING_OPERATION"
                )
            _change(job, CANCELLED)

    def list(self, account: str, region: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            self._settle()
            return [
                dict(r.job)
                for r in self._records.get((account, region), {}).values()
                if all(value in (None, r.job[member]) for member, value in filters.items())
            ]

    def _find(self, account: str, region: str, names: tuple[str, str, str, str]) -> JobRecord:
        group, channel_name, endpoint_name, name = names
        channel(account, region, group, channel_name)
        record = self._records.get((account, region), {}).get((group, channel_name, name))
        if record is None or record.job["OriginEndpointName"] != endpoint_name:
            raise NotFound(f"Harvest job {name!r} does not exist on {endpoint_name!r}", "HARVEST_JOB")
        return record

    def _settle(self) -> None:
        """Move every job whose time has come: QUEUED to IN_PROGRESS, IN_PROGRESS to its end."""
        now = time.monotonic()
        with self._lock:
            for jobs in self._records.values():
                for record in jobs.values():
                    if record.job["Status"] == QUEUED and now >= record.runs_at:
                        _change(record.job, IN_PROGRESS)
                    if record.job["Status"] == IN_PROGRESS and now >= record.finishes_at:
                        error = self._finish(record)
                        _change(record.job, FAILED if error else COMPLETED, error)

    def _finish(self, record: JobRecord) -> str | None:
        """Write the job's files, or say why it fails."""
        name = record.job["HarvestJobName"]
        told = self.settings.failures.get(name) or self.settings.failure_message
        if told:
            return told
        s3 = record.job["Destination"]["S3Destination"]
        bucket = s3_backends[record.account]["aws"].buckets.get(s3["BucketName"])
        if bucket is None:
            return f"Unable to write to s3://{s3['BucketName']}: the bucket does not exist"
        files = outputs.files(record.job, record.container_type)
        for key in files:
            request = bucket_policy.service_request(
                SERVICE_PRINCIPAL,
                "s3:PutObject",
                f"arn:aws:s3:::{s3['BucketName']}/{key}",
                record.account,
                record.endpoint_arn,
            )
            try:
                verdict = bucket_policy.decision(bucket.policy, request)
            except bucket_policy.PolicyNotUnderstoodError as error:
                return f"Unable to write to s3://{s3['BucketName']}/{key}: {error}"
            if verdict != "ALLOW":
                why = "denies" if verdict == "EXPLICIT_DENY" else "does not allow"
                return (
                    f"Unable to write to s3://{s3['BucketName']}/{key}: the bucket policy {why} "
                    f"{SERVICE_PRINCIPAL} s3:PutObject for source {record.endpoint_arn}"
                )
        try:
            for key, body in files.items():
                s3_backends[record.account]["aws"].put_object(s3["BucketName"], key, body)
        except MissingBucket:
            return f"Unable to write to s3://{s3['BucketName']}: the bucket does not exist"
        return None


def _change(job: dict[str, Any], status: str, error: str | None = None) -> None:
    job["Status"], job["ModifiedAt"], job["ETag"] = status, datetime.now(UTC), secrets.token_hex(16)
    if error:
        job["ErrorMessage"] = error


STORE = HarvestJobV2Store()
