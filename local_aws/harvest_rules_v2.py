"""The rules a local MediaPackage v2 ``CreateHarvestJob`` request must meet, checked against the local
origin endpoints and moto's S3. Each broken rule raises ``ValidationException`` (400) with the model's
``ValidationExceptionType`` and a message naming the member.

Documented rules, with their sources:

- Names and lengths from botocore's ``mediapackagev2`` model and the API reference
  (https://docs.aws.amazon.com/mediapackage/latest/APIReference/API_CreateHarvestJob.html):
  ``HarvestJobName`` and manifest names 1-256 of ``[a-zA-Z0-9_-]``, ``Description`` at most 1024,
  ``BucketName`` 3-63, ``DestinationPath`` 1-1024 with no whitespace, tag keys and values as strings.
- The live-to-VOD requirements (https://docs.aws.amazon.com/mediapackage/latest/userguide/live-to-vod.html):
  the start time is in the past, the job lasts at most 24 hours, and no harvested manifest has a start,
  end or clip start time in its filter configuration
  (``HARVESTED_MANIFEST_HAS_START_END_FILTER_CONFIGURATION``).
  The same page says that ongoing streams can be harvested: the end time may be in the future.
- Each harvested manifest exists on the endpoint as a manifest of that kind
  (``HARVESTED_MANIFEST_NOT_FOUND_ON_ENDPOINT`` in the model).

Where the documentation is silent this module is strict, and says so in the message: at least one
manifest in total (``NUM_MANIFESTS_LOW``); no manifest named twice in one request; the end strictly
after the start (``END_TIME_EARLIER_THAN_START_TIME``); the start inside the endpoint's startover window
(an endpoint without one cannot be harvested; the v1 rule, which the v2 guide does not restate); the
bucket exists in the job's region when the job is created
(``HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE``).
Whether the service may write to the bucket is not checked here but when the job runs
(:mod:`local_aws.bucket_policy`): the job then fails with an ``ErrorMessage``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.s3.models import s3_backends

from local_aws.origin_endpoints_v2 import MANIFEST_KINDS, OriginEndpointV2, Validation, check_name

MAX_DURATION = timedelta(hours=24)
MAX_DESCRIPTION = 1024
NO_WHITESPACE = re.compile(r"\S{1,1024}")
FILTER_TIMES = ("Start", "End", "ClipStartTime")


def manifests(request: dict[str, Any], endpoint: OriginEndpointV2) -> dict[str, list[dict[str, str]]]:
    """``HarvestedManifests`` checked against the endpoint; only the kinds given, names only."""
    harvested = request.get("HarvestedManifests")
    if not isinstance(harvested, dict):
        raise Validation("HarvestedManifests is required", "MEMBER_MISSING")
    checked: dict[str, list[dict[str, str]]] = {}
    for kind in MANIFEST_KINDS:
        if harvested.get(kind) is None:
            continue
        names = [
            check_name((m or {}).get("ManifestName"), f"HarvestedManifests.{kind}[].ManifestName")
            for m in harvested[kind]
        ]
        for name in names:
            if names.count(name) > 1:
                raise Validation(
                    f"HarvestedManifests.{kind}: {name!r} is named twice (the documentation is silent; "
                    "refused locally)",
                    "MEMBER_INVALID",
                )
            configuration = endpoint.manifest(kind, name)
            if configuration is None:
                raise Validation(
                    f"HarvestedManifests.{kind}: the origin endpoint {endpoint.origin_endpoint_name!r} "
                    f"has no {kind[:-1]} named {name!r}",
                    "HARVESTED_MANIFEST_NOT_FOUND_ON_ENDPOINT",
                )
            times = [t for t in FILTER_TIMES if (configuration.get("FilterConfiguration") or {}).get(t)]
            if times:
                raise Validation(
                    f"HarvestedManifests.{kind}: {name!r} has {', '.join(times)} in its filter configuration",
                    "HARVESTED_MANIFEST_HAS_START_END_FILTER_CONFIGURATION",
                )
        checked[kind] = [{"ManifestName": name} for name in names]
    if not any(checked.values()):
        raise Validation(
            "HarvestedManifests: at least one HLS, low-latency HLS or DASH manifest is needed",
            "NUM_MANIFESTS_LOW",
        )
    return checked


def schedule(request: dict[str, Any], endpoint: OriginEndpointV2, now: datetime) -> tuple[datetime, datetime]:
    """``ScheduleConfiguration``'s start and end, checked against the clock and the startover window."""
    configuration = request.get("ScheduleConfiguration")
    if not isinstance(configuration, dict):
        raise Validation("ScheduleConfiguration is required", "MEMBER_MISSING")
    start, end = configuration.get("StartTime"), configuration.get("EndTime")
    for name, value in (("StartTime", start), ("EndTime", end)):
        if not isinstance(value, datetime):
            raise Validation(f"ScheduleConfiguration.{name} is required", "MEMBER_MISSING")
    assert isinstance(start, datetime)
    assert isinstance(end, datetime)
    # moto's parser gives epoch seconds as naive datetimes in UTC
    start, end = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (start, end))
    if end <= start:
        raise Validation(
            "ScheduleConfiguration: EndTime must be after StartTime", "END_TIME_EARLIER_THAN_START_TIME"
        )
    if end - start > MAX_DURATION:
        raise Validation(
            "ScheduleConfiguration: the job lasts at most 24 hours (EndTime - StartTime)",
            "INVALID_HARVEST_JOB_DURATION",
        )
    if start >= now:
        raise Validation(
            "ScheduleConfiguration: StartTime must be in the past", "INVALID_HARVEST_JOB_DURATION"
        )
    window = endpoint.startover_window_seconds or 0
    if window <= 0:
        raise Validation(
            f"ScheduleConfiguration: the origin endpoint {endpoint.origin_endpoint_name!r} has no startover "
            "window to harvest from",
            "INVALID_HARVEST_JOB_DURATION",
        )
    if start < now - timedelta(seconds=window):
        raise Validation(
            f"ScheduleConfiguration: StartTime must be inside the origin endpoint's startover window "
            f"({window} s)",
            "INVALID_HARVEST_JOB_DURATION",
        )
    return start, end


def destination(account: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
    """``Destination.S3Destination`` checked: names, and the bucket exists in the region."""
    s3 = ((request.get("Destination") or {}).get("S3Destination")) or {}
    bucket, path = s3.get("BucketName"), s3.get("DestinationPath")
    if not isinstance(bucket, str) or not 3 <= len(bucket) <= 63:
        raise Validation(
            f"Destination.S3Destination.BucketName {bucket!r}: 3 to 63 characters",
            "HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE",
        )
    if not isinstance(path, str) or not NO_WHITESPACE.fullmatch(path):
        raise Validation(
            f"Destination.S3Destination.DestinationPath {path!r}: 1 to 1024 characters, no whitespace",
            "HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE",
        )
    found = s3_backends[account]["aws"].buckets.get(bucket)
    if found is None or found.region_name != region:
        where = "no such bucket" if found is None else f"the bucket is in {found.region_name}, not {region}"
        raise Validation(
            f"Destination.S3Destination.BucketName {bucket!r}: {where}",
            "HARVEST_JOB_S3_DESTINATION_MISSING_OR_INCOMPLETE",
        )
    return {"S3Destination": {"BucketName": bucket, "DestinationPath": path}}


def description(request: dict[str, Any]) -> str | None:
    value = request.get("Description")
    if value is not None and (not isinstance(value, str) or len(value) > MAX_DESCRIPTION):
        raise Validation(f"Description: at most {MAX_DESCRIPTION} characters", "MEMBER_MAX_LENGTH")
    return value


def tags(request: dict[str, Any]) -> dict[str, str]:
    value = request.get("Tags") or {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise Validation(f"Tags {value!r}: expected a map of strings", "MEMBER_INVALID")
    return dict(value)
