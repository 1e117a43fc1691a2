"""MediaPackage v2 origin endpoints for moto's server mode, enough for harvest jobs: ``CreateOriginEndpoint``,
``GetOriginEndpoint``, ``ListOriginEndpoints`` and ``DeleteOriginEndpoint`` under a channel of moto's own
v2 backend (moto 5.2 knows v2 channel groups and channels only).

Requests are parsed and answers serialized by moto from botocore's ``mediapackagev2`` model (REST-JSON),
so the wire format is the SDK's. An endpoint keeps what a harvest job needs: its name, container type
(``TS`` or ``CMAF``; ``ISM`` serves only MSS manifests, which cannot be harvested, and is refused here),
its HLS, low-latency HLS and DASH manifests (name, child manifest name, filter configuration) and its
startover window. Rules checked (from the model and the API reference,
https://docs.aws.amazon.com/mediapackage/latest/APIReference/API_CreateOriginEndpoint.html): the names'
pattern and length, ``StartoverWindowSeconds`` 0 to 1209600 (14 days), no DASH manifest on a ``TS``
endpoint (the model's ``TS_CONTAINER_TYPE_WITH_DASH_MANIFEST``), manifest names unique across the endpoint
(``MANIFEST_NAME_COLLISION``), at most 25 manifests per endpoint (the quota,
https://docs.aws.amazon.com/mediapackage/latest/userguide/quotas.html) and an endpoint name unique
within its channel (``ConflictException``). Everything else in the request is accepted and echoed.
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse, EmptyResult
from moto.mediapackagev2.exceptions import ChannelGroupNotFound, ChannelNotFound
from moto.mediapackagev2.models import mediapackagev2_backends

NAME = re.compile(r"[a-zA-Z0-9_-]{1,256}")
MANIFEST_KINDS = ("HlsManifests", "LowLatencyHlsManifests", "DashManifests")
CONTAINER_TYPES = ("TS", "CMAF")
MAX_STARTOVER_SECONDS = 14 * 24 * 3600
MAX_MANIFESTS = 25


class Validation(ServiceException):
    """``ValidationException`` (400) with the model's ``ValidationExceptionType``."""

    code = "ValidationException"

    def __init__(self, message: str, kind: str = "MEMBER_INVALID") -> None:
        super().__init__(message)
        self.validation_exception_type = kind


class Conflict(ServiceException):
    """``ConflictException`` (409) with the model's ``ConflictExceptionType``."""

    code = "ConflictException"

    def __init__(self, message: str, kind: str = "CONFLICTING_OPERATION") -> None:
        super().__init__(message)
        self.conflict_exception_type = kind


class NotFound(ServiceException):
    """``ResourceNotFoundException`` (404) naming the kind of resource that is missing."""

    code = "ResourceNotFoundException"

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.resource_type_not_found = kind


def check_name(value: object, label: str) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise Validation(
            f"{label} {value!r}: 1 to 256 letters, digits, '_' or '-'", "MEMBER_DOES_NOT_MATCH_PATTERN"
        )
    return value


@dataclass
class OriginEndpointV2:
    account: str
    region: str
    channel_group_name: str
    channel_name: str
    origin_endpoint_name: str
    container_type: str
    startover_window_seconds: int | None
    manifests: dict[str, list[dict[str, Any]]]
    """The HLS, low-latency HLS and DASH manifest configurations, by model member name."""
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    e_tag: str = field(default_factory=lambda: secrets.token_hex(10))

    @property
    def arn(self) -> str:
        return (
            f"arn:aws:mediapackagev2:{self.region}:{self.account}:channelGroup/{self.channel_group_name}"
            f"/channel/{self.channel_name}/originEndpoint/{self.origin_endpoint_name}"
        )

    def manifest(self, kind: str, name: str) -> dict[str, Any] | None:
        """The endpoint's manifest of that kind (``HlsManifests``, ...) and name, or None."""
        return next((m for m in self.manifests.get(kind, []) if m.get("ManifestName") == name), None)

    def described(self) -> dict[str, Any]:
        """The endpoint in the shape of botocore's ``GetOriginEndpointResponse``."""
        host = f"egress.{self.region}.mediapackagev2.local"
        path = f"out/v1/{self.channel_group_name}/{self.channel_name}/{self.origin_endpoint_name}"
        extension = {"HlsManifests": "m3u8", "LowLatencyHlsManifests": "m3u8", "DashManifests": "mpd"}
        return {
            "Arn": self.arn,
            "ChannelGroupName": self.channel_group_name,
            "ChannelName": self.channel_name,
            "OriginEndpointName": self.origin_endpoint_name,
            "ContainerType": self.container_type,
            "Segment": {"SegmentDurationSeconds": 6, "SegmentName": "segment"},
            "CreatedAt": self.created_at,
            "ModifiedAt": self.created_at,
            "Description": self.description,
            "StartoverWindowSeconds": self.startover_window_seconds,
            **{
                kind: [
                    {**m, "Url": f"https://{host}/{path}/{m['ManifestName']}.{extension[kind]}"}
                    for m in self.manifests.get(kind, [])
                ]
                for kind in MANIFEST_KINDS
            },
            "ETag": self.e_tag,
            "Tags": self.tags,
        }


class OriginEndpointStore:
    """Every account's and region's v2 origin endpoints, kept in the server's process."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._endpoints: dict[tuple[str, str, str, str, str], OriginEndpointV2] = {}

    def reset(self) -> None:
        with self._lock:
            self._endpoints.clear()

    def create(self, endpoint: OriginEndpointV2) -> OriginEndpointV2:
        channel(endpoint.account, endpoint.region, endpoint.channel_group_name, endpoint.channel_name)
        key = _key(endpoint)
        with self._lock:
            if key in self._endpoints:
                raise Conflict(
                    f"OriginEndpointName {endpoint.origin_endpoint_name!r}: the channel already has an "
                    "origin endpoint of this name",
                    "RESOURCE_ALREADY_EXISTS",
                )
            self._endpoints[key] = endpoint
        return endpoint

    def get(self, account: str, region: str, group: str, channel_name: str, name: str) -> OriginEndpointV2:
        channel(account, region, group, channel_name)
        with self._lock:
            endpoint = self._endpoints.get((account, region, group, channel_name, name))
        if endpoint is None:
            raise NotFound(f"Origin endpoint {name!r} does not exist", "ORIGIN_ENDPOINT")
        return endpoint

    def list(self, account: str, region: str, group: str, channel_name: str) -> list[OriginEndpointV2]:
        channel(account, region, group, channel_name)
        with self._lock:
            return [
                e for key, e in self._endpoints.items() if key[:4] == (account, region, group, channel_name)
            ]

    def delete(self, account: str, region: str, group: str, channel_name: str, name: str) -> None:
        with self._lock:
            self._endpoints.pop((account, region, group, channel_name, name), None)


def _key(endpoint: OriginEndpointV2) -> tuple[str, str, str, str, str]:
    return (
        endpoint.account,
        endpoint.region,
        endpoint.channel_group_name,
        endpoint.channel_name,
        endpoint.origin_endpoint_name,
    )


def channel(account: str, region: str, group: str, channel_name: str) -> None:
    """Raise ResourceNotFoundException unless moto's v2 backend has the channel group and channel."""
    try:
        mediapackagev2_backends[account][region].get_channel(group, channel_name)
    except ChannelGroupNotFound:
        raise NotFound(f"Channel group {group!r} does not exist", "CHANNEL_GROUP") from None
    except ChannelNotFound:
        raise NotFound(f"Channel {channel_name!r} does not exist in {group!r}", "CHANNEL") from None


def channel_group(account: str, region: str, group: str) -> None:
    try:
        mediapackagev2_backends[account][region].get_channel_group(group)
    except ChannelGroupNotFound:
        raise NotFound(f"Channel group {group!r} does not exist", "CHANNEL_GROUP") from None


ENDPOINTS = OriginEndpointStore()


def new_endpoint(account: str, region: str, request: dict[str, Any]) -> OriginEndpointV2:
    """An endpoint from a ``CreateOriginEndpoint`` request (member names), its rules checked."""
    names = [check_name(request.get(n), n) for n in ("ChannelGroupName", "ChannelName", "OriginEndpointName")]
    container = request.get("ContainerType")
    if container not in CONTAINER_TYPES:
        raise Validation(
            f"ContainerType {container!r}: expected TS or CMAF (ISM endpoints cannot be harvested locally)",
            "MEMBER_INVALID_ENUM_VALUE",
        )
    startover = request.get("StartoverWindowSeconds")
    if startover is not None and not (isinstance(startover, int) and 0 <= startover <= MAX_STARTOVER_SECONDS):
        raise Validation(
            f"StartoverWindowSeconds {startover!r}: expected 0 to {MAX_STARTOVER_SECONDS}", "MEMBER_MAX_VALUE"
        )
    manifests = {kind: [dict(m) for m in request.get(kind) or []] for kind in MANIFEST_KINDS}
    if container == "TS" and manifests["DashManifests"]:
        raise Validation(
            "DashManifests: a TS endpoint cannot serve DASH manifests", "TS_CONTAINER_TYPE_WITH_DASH_MANIFEST"
        )
    seen: set[str] = set()
    for kind, configurations in manifests.items():
        for configuration in configurations:
            name = check_name(configuration.get("ManifestName"), f"{kind}[].ManifestName")
            if name in seen:
                raise Validation(f"{kind}: manifest name {name!r} is used twice", "MANIFEST_NAME_COLLISION")
            seen.add(name)
    if len(seen) > MAX_MANIFESTS:
        raise Validation(f"{len(seen)} manifests: at most {MAX_MANIFESTS} per endpoint", "NUM_MANIFESTS_HIGH")
    group, channel_name, endpoint_name = names
    return OriginEndpointV2(
        account,
        region,
        group,
        channel_name,
        endpoint_name,
        container_type=container,
        startover_window_seconds=startover,
        manifests=manifests,
        description=request.get("Description"),
        tags=dict(request.get("Tags") or {}),
    )


class OriginEndpointResponse(BaseResponse):
    """The four origin endpoint operations, parsed and serialized from botocore's model by moto."""

    def __init__(self) -> None:
        super().__init__(service_name="mediapackagev2")
        self.automated_parameter_parsing = True

    def _names(self) -> tuple[str, str, str]:
        return (
            self._get_param("ChannelGroupName"),
            self._get_param("ChannelName"),
            self._get_param("OriginEndpointName"),
        )

    def create_origin_endpoint(self) -> ActionResult:
        members = (
            "ChannelGroupName",
            "ChannelName",
            "OriginEndpointName",
            "ContainerType",
            "StartoverWindowSeconds",
            "Description",
            "Tags",
            *MANIFEST_KINDS,
        )
        request = {name: self._get_param(name) for name in members}
        endpoint = ENDPOINTS.create(new_endpoint(self.current_account, self.region, request))
        return ActionResult(endpoint.described())

    def get_origin_endpoint(self) -> ActionResult:
        return ActionResult(ENDPOINTS.get(self.current_account, self.region, *self._names()).described())

    def list_origin_endpoints(self) -> ActionResult:
        group, channel_name, _ = self._names()
        endpoints = ENDPOINTS.list(self.current_account, self.region, group, channel_name)
        return ActionResult({"Items": [e.described() for e in endpoints]})

    def delete_origin_endpoint(self) -> ActionResult:
        ENDPOINTS.delete(self.current_account, self.region, *self._names())
        return EmptyResult()
