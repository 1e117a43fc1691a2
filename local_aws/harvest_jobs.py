"""MediaPackage (v1) harvest jobs for moto's server mode: ``CreateHarvestJob``, ``DescribeHarvestJob`` and
``ListHarvestJobs``, which moto 5.2 answers with 404 "Not yet implemented".

Requests are parsed and answers serialized by moto from botocore's own service model (REST-JSON), so
the wire format is the SDK's. What moto already holds is reused: origin endpoints and channels from
its MediaPackage backend, buckets from its S3 backend (where the manifest is written), roles from its
IAM backend. The documented rules are enforced (:mod:`local_aws.harvest_rules`); every broken rule
answers ``UnprocessableEntityException`` (422), the error MediaPackage uses for invalid requests,
with a message naming the field. A job starts ``IN_PROGRESS`` and, after
``HarvestSettings.completion_delay`` seconds, ends ``SUCCEEDED`` (writing an HLS manifest at its
``ManifestKey``) or ``FAILED``. Each status change (the job's creation, its end) is announced as
MediaPackage does, with a ``MediaPackage HarvestJob Notification`` event (a ``FAILED`` one with a
``message``), to every function in ``HarvestJobStore.listeners`` (the local EventBridge), unless
``HarvestSettings.notifications`` is off (notifications are best effort).
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse
from moto.mediapackage import urls as mediapackage_urls
from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends

from local_aws import harvest_rules as rules
from local_aws import iso

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 100, 1000
IN_PROGRESS, SUCCEEDED, FAILED = "IN_PROGRESS", "SUCCEEDED", "FAILED"


class NotFound(ServiceException):
    code = "NotFoundException"


class TooManyRequests(ServiceException):
    code = "TooManyRequestsException"


class _Outcomes(dict[str, str]):
    """Final status per job Id; only SUCCEEDED or FAILED."""

    def __setitem__(self, job_id: str, status: str) -> None:
        super().__setitem__(job_id, _outcome(f"outcomes[{job_id!r}]", status))


def _outcome(name: str, status: object) -> str:
    if status not in (SUCCEEDED, FAILED):
        raise ValueError(f"HarvestSettings.{name}: {status!r}; expected {SUCCEEDED!r} or {FAILED!r}")
    return str(status)


#: What MediaPackage says of a harvest it could not write (the role may not write to the bucket).
DEFAULT_FAILURE_MESSAGE = (
    "Unable to write to the S3 destination: Access Denied. Verify that the role allows s3:PutObject "
    "on the bucket and that the bucket is in the same region."
)
#: The notification event's source and detail type.
SOURCE, DETAIL_TYPE = "aws.mediapackage", "MediaPackage HarvestJob Notification"


@dataclass
class HarvestSettings:
    """How the local endpoint behaves; change the fields at any time (tests do). Values are checked."""

    completion_delay: float = 2.0
    """Seconds from CreateHarvestJob until the job leaves IN_PROGRESS."""
    outcome: str = SUCCEEDED
    """The final status of every job (SUCCEEDED or FAILED) unless ``outcomes`` names the job."""
    outcomes: dict[str, str] = field(default_factory=_Outcomes)
    """Final status per job Id."""
    max_concurrent_jobs: int = 10
    """MediaPackage's default quota of IN_PROGRESS jobs per account and region (429 above it)."""
    create_answer_delay: float = 0.0
    """Seconds CreateHarvestJob holds its answer after storing the job: a window in which the caller
    can die having created a job it never heard about."""
    notifications: bool = True
    """Whether status changes are announced (False: every notification is lost)."""
    failure_message: str = DEFAULT_FAILURE_MESSAGE
    """The ``message`` of a FAILED job's notification, unless ``failure_messages`` names the job."""
    failure_messages: dict[str, str] = field(default_factory=dict)
    """The ``message`` per job Id ("" sends a FAILED notification without one)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "outcome":
            value = _outcome(name, value)
        elif name == "outcomes":
            checked = _Outcomes()
            for job_id, status in dict(value).items():
                checked[job_id] = status
            value = checked
        elif name in ("completion_delay", "create_answer_delay") and not (
            isinstance(value, int | float) and value >= 0
        ):
            raise ValueError(f"HarvestSettings.{name}: {value!r}; expected seconds >= 0")
        elif name == "max_concurrent_jobs" and not (isinstance(value, int) and value >= 1):
            raise ValueError(f"HarvestSettings.max_concurrent_jobs: {value!r}; expected an integer >= 1")
        super().__setattr__(name, value)


@dataclass
class HarvestJobRecord:
    account: str
    region: str
    job: dict[str, Any]
    """The job in the shape of botocore's ``HarvestJob`` (member names, not wire names)."""
    started_at: float
    """``time.monotonic()`` when the job was stored."""
    finishes_at: float
    """``time.monotonic()`` when the job leaves IN_PROGRESS (the clock the timers use)."""


class HarvestJobStore:
    """Every account's and region's harvest jobs, kept in the server's process."""

    def __init__(self) -> None:
        self.settings = HarvestSettings()
        self._lock = threading.RLock()
        self._records: dict[tuple[str, str], dict[str, HarvestJobRecord]] = {}
        self._timers: list[threading.Timer] = []
        self.quota_refusals = 0
        """CreateHarvestJob requests refused with 429 because the quota of concurrent jobs was full."""
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        """Called with each notification event (outside the store's lock)."""
        self.notified: list[dict[str, Any]] = []
        """Every notification event announced (or, with notifications off, dropped: not listed)."""

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
            self.listeners.clear()
            self.notified.clear()
            self.quota_refusals = 0
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
        self.settings = HarvestSettings()

    def create(self, account: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        job_id = rules.required(request, "Id")
        if not rules.ID_PATTERN.fullmatch(job_id):
            raise rules.UnprocessableEntity(f"Id {job_id!r}: only letters, digits, '_' and '-' are allowed")
        endpoint = rules.origin_endpoint(account, region, rules.required(request, "OriginEndpointId"))
        start, end = rules.parse_time(request, "StartTime"), rules.parse_time(request, "EndTime")
        rules.check_window(start, end, now, int(endpoint.startover_window_seconds or 0))
        destination = request.get("S3Destination") or {}
        rules.check_destination(account, region, destination)
        with self._lock:
            self._settle()
            jobs = self._records.setdefault((account, region), {})
            if job_id in jobs:
                raise rules.UnprocessableEntity(f"Id {job_id!r}: a harvest job with this Id already exists")
            running = sum(1 for record in jobs.values() if record.job["Status"] == IN_PROGRESS)
            if running >= self.settings.max_concurrent_jobs:
                self.quota_refusals += 1
                raise TooManyRequests(
                    f"Limit exceeded: {running} harvest jobs are in progress "
                    f"(quota {self.settings.max_concurrent_jobs})"
                )
            job = {
                "Arn": f"arn:aws:mediapackage:{region}:{account}:harvest_jobs/{job_id}",
                "ChannelId": endpoint.channel_id,
                "CreatedAt": iso(now),
                "EndTime": request["EndTime"],
                "Id": job_id,
                "OriginEndpointId": endpoint.id,
                "S3Destination": {key: destination[key] for key in ("BucketName", "ManifestKey", "RoleArn")},
                "StartTime": request["StartTime"],
                "Status": IN_PROGRESS,
            }
            delay, now_monotonic = self.settings.completion_delay, time.monotonic()
            jobs[job_id] = HarvestJobRecord(account, region, job, now_monotonic, now_monotonic + delay)
            timer = threading.Timer(delay, self._settle)
            timer.daemon = True
            timer.start()
            self._timers = [*(t for t in self._timers if t.is_alive()), timer]
            created = dict(job)
        self._announce([jobs[job_id]])
        return created

    def describe(self, account: str, region: str, job_id: str) -> dict[str, Any]:
        with self._lock:
            self._settle()
            record = self._records.get((account, region), {}).get(job_id)
            if record is None:
                raise NotFound(f"Harvest job {job_id!r} does not exist")
            return dict(record.job)

    def finish(self, account: str, region: str, job_id: str) -> None:
        """End a running job now (its outcome as set), as if its ``completion_delay`` were over."""
        with self._lock:
            record = self._records[(account, region)][job_id]
            record.finishes_at = min(record.finishes_at, time.monotonic())
        self._settle()

    def finishes_at(self, account: str, region: str, job_id: str) -> float:
        """``time.monotonic()`` when the job leaves (or left) IN_PROGRESS."""
        with self._lock:
            return self._records[(account, region)][job_id].finishes_at

    def running_intervals(self) -> list[tuple[float, float]]:
        """When each job of every account and region was stored and left (or will leave) IN_PROGRESS."""
        with self._lock:
            return [(r.started_at, r.finishes_at) for jobs in self._records.values() for r in jobs.values()]

    def list(
        self, account: str, region: str, channel_id: str | None, status: str | None
    ) -> list[dict[str, Any]]:
        with self._lock:
            self._settle()
            return [
                dict(record.job)
                for record in self._records.get((account, region), {}).values()
                if channel_id in (None, record.job["ChannelId"]) and status in (None, record.job["Status"])
            ]

    def _settle(self) -> None:
        """Finish every job whose time has come: its final status, and for SUCCEEDED its manifest;
        then announce each change."""
        now = time.monotonic()
        changed: builtins.list[HarvestJobRecord] = []
        with self._lock:
            for jobs in self._records.values():
                for record in jobs.values():
                    if record.job["Status"] == IN_PROGRESS and now >= record.finishes_at:
                        status = self.settings.outcomes.get(record.job["Id"], self.settings.outcome)
                        if status == SUCCEEDED:
                            try:
                                _write_manifest(record)
                            except MissingBucket:  # deleted while the job ran
                                status = FAILED
                        record.job["Status"] = status
                        changed.append(record)
        self._announce(changed)

    def _announce(self, records: Iterable[HarvestJobRecord]) -> None:
        """A notification per record, as MediaPackage sends it, to every listener (unless switched off)."""
        if not self.settings.notifications:
            return
        for record in records:
            event = notification(record, self.settings)
            self.notified.append(event)
            for listener in tuple(self.listeners):
                listener(event)


def notification(record: HarvestJobRecord, settings: HarvestSettings) -> dict[str, Any]:
    """The ``MediaPackage HarvestJob Notification`` of a job in its current status."""
    job = record.job
    destination = job["S3Destination"]
    detail: dict[str, Any] = {
        "harvest_job": {
            "id": job["Id"],
            "arn": job["Arn"],
            "status": job["Status"],
            "origin_endpoint_id": job["OriginEndpointId"],
            "start_time": job["StartTime"],
            "end_time": job["EndTime"],
            "s3_destination": {
                "bucket_name": destination["BucketName"],
                "manifest_key": destination["ManifestKey"],
                "role_arn": destination["RoleArn"],
            },
            "created_at": job["CreatedAt"],
        }
    }
    if job["Status"] == FAILED:
        message = settings.failure_messages.get(job["Id"], settings.failure_message)
        if message:
            detail["message"] = message
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": record.account,
        "time": iso(datetime.now(UTC)),
        "region": record.region,
        "resources": [job["Arn"]],
        "detail": detail,
    }


STORE = HarvestJobStore()


class HarvestJobResponse(BaseResponse):
    """The three harvest job operations, parsed and serialized from botocore's model by moto."""

    def __init__(self) -> None:
        super().__init__(service_name="mediapackage")
        self.automated_parameter_parsing = True

    def create_harvest_job(self) -> ActionResult:
        request = {name: self._get_param(name) for name in ("Id", "OriginEndpointId", "StartTime", "EndTime")}
        request["S3Destination"] = self._get_param("S3Destination")
        job = STORE.create(self.current_account, self.region, request)
        time.sleep(STORE.settings.create_answer_delay)
        return ActionResult(job)

    def describe_harvest_job(self) -> ActionResult:
        return ActionResult(STORE.describe(self.current_account, self.region, self._get_param("Id")))

    def list_harvest_jobs(self) -> ActionResult:
        status = self._get_param("IncludeStatus")
        if status not in (None, IN_PROGRESS, SUCCEEDED, FAILED):
            raise rules.UnprocessableEntity(
                f"IncludeStatus {status!r}: expected IN_PROGRESS, SUCCEEDED or FAILED"
            )
        jobs = STORE.list(self.current_account, self.region, self._get_param("IncludeChannelId"), status)
        limit = self._get_param("MaxResults")
        limit = DEFAULT_PAGE_SIZE if limit is None else limit
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise rules.UnprocessableEntity(f"MaxResults {limit}: expected 1 to {MAX_PAGE_SIZE}")
        start = _page_start(self._get_param("NextToken"))
        page: dict[str, Any] = {"HarvestJobs": jobs[start : start + limit]}
        if start + limit < len(jobs):
            page["NextToken"] = base64.urlsafe_b64encode(
                json.dumps({"offset": start + limit}).encode()
            ).decode()
        return ActionResult(page)


def install() -> None:
    """Route ``/harvest_jobs`` in moto's MediaPackage app; call before the server's first request."""
    mediapackage_urls.url_paths["{0}/harvest_jobs$"] = HarvestJobResponse.dispatch
    mediapackage_urls.url_paths["{0}/harvest_jobs/(?P<id>[^/]+)$"] = HarvestJobResponse.dispatch


def _page_start(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        offset = None
    if not isinstance(offset, int) or offset < 0:
        raise rules.UnprocessableEntity(f"NextToken {token!r}: not a token this API returned")
    return offset


def _write_manifest(record: HarvestJobRecord) -> None:
    """An HLS VOD clip: the top-level manifest at ManifestKey and one media playlist beside it."""
    destination = record.job["S3Destination"]
    folder, _, name = destination["ManifestKey"].rpartition("/")
    prefix = f"{folder}/" if folder else ""
    media = f"{name.rsplit('.', 1)[0]}_1.m3u8"
    start = datetime.fromisoformat(record.job["StartTime"])
    seconds = int((datetime.fromisoformat(record.job["EndTime"]) - start).total_seconds())
    segments = "".join(
        f"#EXTINF:6.000,\n{name.rsplit('.', 1)[0]}_1_{n}.ts\n" for n in range(max(1, seconds // 6))
    )
    top = f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=2200000,RESOLUTION=1280x720\n{media}\n"
    playlist = (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-PROGRAM-DATE-TIME:{record.job['StartTime']}\n{segments}#EXT-X-ENDLIST\n"
    )
    s3 = s3_backends[record.account]["aws"]
    s3.put_object(destination["BucketName"], destination["ManifestKey"], top.encode())
    s3.put_object(destination["BucketName"], f"{prefix}{media}", playlist.encode())
