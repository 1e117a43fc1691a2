"""The rules a local ``CreateHarvestJob`` request must meet, checked against moto's backends.

The documented MediaPackage (v1) rules (``../shared/DOMAIN.md``): the origin endpoint (exists, HLS or
DASH with a timeline template, startover enabled), the window (end after start, at most 24 hours, in
the past, start inside the startover window), the destination (bucket in the same region, a role
that trusts MediaPackage). Each broken rule raises :class:`UnprocessableEntity` naming the field.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from moto.core.exceptions import ServiceException
from moto.iam.models import iam_backends
from moto.mediapackage.exceptions import MediaPackageClientError
from moto.mediapackage.models import OriginEndpoint, mediapackage_backends
from moto.s3.models import s3_backends

DASH_TIMELINE_TEMPLATES = ("NUMBER_WITH_TIMELINE", "TIME_WITH_TIMELINE")
MAX_WINDOW = timedelta(hours=24)
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
MEDIAPACKAGE_PRINCIPAL = "mediapackage.amazonaws.com"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": MEDIAPACKAGE_PRINCIPAL}, "Action": "sts:AssumeRole"}
    ],
}
"""A trust policy that lets MediaPackage assume a role (for local destination roles)."""


class UnprocessableEntity(ServiceException):
    code = "UnprocessableEntityException"


def required(request: dict[str, Any], name: str, label: str | None = None) -> str:
    value = request.get(name)
    if not isinstance(value, str) or not value:
        raise UnprocessableEntity(f"{label or name} is required")
    return value


def origin_endpoint(account: str, region: str, endpoint_id: str) -> OriginEndpoint:
    try:
        endpoint = mediapackage_backends[account][region].describe_origin_endpoint(endpoint_id)
    except MediaPackageClientError:
        raise UnprocessableEntity(f"OriginEndpointId {endpoint_id!r}: no such origin endpoint") from None
    if endpoint.hls_package is None and endpoint.dash_package is None:
        raise UnprocessableEntity(
            f"OriginEndpointId {endpoint_id!r}: only HLS and DASH endpoints can be harvested"
        )
    template = (endpoint.dash_package or {}).get("segmentTemplateFormat", DASH_TIMELINE_TEMPLATES[0])
    if endpoint.hls_package is None and template not in DASH_TIMELINE_TEMPLATES:
        raise UnprocessableEntity(
            f"OriginEndpointId {endpoint_id!r}: a DASH endpoint needs a timeline segment template, "
            f"not {template}"
        )
    if not endpoint.startover_window_seconds:
        raise UnprocessableEntity(
            f"OriginEndpointId {endpoint_id!r}: startover is not enabled on the endpoint"
        )
    return endpoint


def parse_time(request: dict[str, Any], name: str) -> datetime:
    text = required(request, name)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UnprocessableEntity(f"{name} {text!r}: expected an ISO-8601 time") from None
    if parsed.tzinfo is None:
        raise UnprocessableEntity(f"{name} {text!r}: the time needs a time zone")
    return parsed


def check_window(start: datetime, end: datetime, now: datetime, startover_seconds: int) -> None:
    if end <= start:
        raise UnprocessableEntity("EndTime must be after StartTime")
    if end - start > MAX_WINDOW:
        raise UnprocessableEntity("The harvest window (EndTime - StartTime) must be at most 24 hours")
    if end > now:
        raise UnprocessableEntity("EndTime must be in the past")
    if start < now - timedelta(seconds=startover_seconds):
        raise UnprocessableEntity("StartTime must be inside the origin endpoint's startover window")


def check_destination(account: str, region: str, destination: dict[str, Any]) -> None:
    for name in ("BucketName", "ManifestKey", "RoleArn"):
        required(destination, name, f"S3Destination.{name}")
    bucket = s3_backends[account]["aws"].buckets.get(destination["BucketName"])
    if bucket is None:
        raise UnprocessableEntity(f"S3Destination.BucketName {destination['BucketName']!r}: no such bucket")
    if bucket.region_name != region:
        raise UnprocessableEntity(
            f"S3Destination.BucketName {destination['BucketName']!r}: the bucket is in {bucket.region_name}, "
            f"not {region}"
        )
    role_arn = destination["RoleArn"]
    role = next((role for role in iam_backends[account]["aws"].roles.values() if role.arn == role_arn), None)
    if role is None:
        raise UnprocessableEntity(f"S3Destination.RoleArn {role_arn!r}: no such role")
    if not _trusts_mediapackage(role.assume_role_policy_document):
        raise UnprocessableEntity(
            f"S3Destination.RoleArn {role_arn!r}: the role does not trust {MEDIAPACKAGE_PRINCIPAL}"
        )


def _trusts_mediapackage(document: str) -> bool:
    """Whether a trust policy lets mediapackage.amazonaws.com assume the role (``"*"`` or
    ``{"AWS": "*"}`` lets everyone)."""
    try:
        statements = json.loads(document).get("Statement", [])
    except (ValueError, AttributeError):
        return False
    for statement in _listed(statements):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            everyone = "*" in _listed(principal.get("AWS"))
            services = _listed(principal.get("Service"))
        else:
            everyone, services = principal == "*", []
        if {"sts:AssumeRole", "sts:*", "*"} & set(_listed(statement.get("Action"))) and (
            everyone or MEDIAPACKAGE_PRINCIPAL in services
        ):
            return True
    return False


def _listed(value: Any) -> list[Any]:
    """A policy element that may be one value or a list, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
