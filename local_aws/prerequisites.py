"""What a harvest job needs on the local AWS, made in one place for the tests, the demo and the
benchmarks: a channel, an HLS origin endpoint with a 24 h startover window, a bucket, a role that
MediaPackage may assume, and a window that MediaPackage accepts (ended a minute ago).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from local_aws import harvest_rules, iso
from local_aws.server import LocalAws

if TYPE_CHECKING:
    from mypy_boto3_mediapackage.type_defs import HlsPackageTypeDef

STARTOVER_SECONDS = 24 * 3600
HLS_PACKAGE: HlsPackageTypeDef = {"SegmentDurationSeconds": 6, "PlaylistWindowSeconds": 60}


@dataclass(frozen=True)
class LocalSetup:
    """What a harvest job needs on the local AWS: channel, HLS endpoint with startover, bucket, role."""

    channel_id: str
    endpoint_id: str
    bucket: str
    role_arn: str


def create(
    aws: LocalAws,
    *,
    channel_id: str = "live-channel",
    endpoint_id: str = "live-hls",
    bucket: str = "harvest-clips",
    role: str = "harvest-role",
) -> LocalSetup:
    """A channel, an HLS origin endpoint with a 24 h startover window, a bucket and a trusted role."""
    origin_endpoint(aws, endpoint_id, channel_id=channel_id)
    create_bucket(aws, bucket)
    return LocalSetup(channel_id, endpoint_id, bucket, create_role(aws, role)["Arn"])


def origin_endpoint(aws: LocalAws, endpoint_id: str, *, channel_id: str) -> bool:
    """The channel and its HLS origin endpoint with a 24 h startover window, each made unless it
    exists; whether the endpoint was made."""
    mediapackage = aws.mediapackage()
    if channel_id not in {channel["Id"] for channel in mediapackage.list_channels()["Channels"]}:
        mediapackage.create_channel(Id=channel_id)
    if endpoint_id in {
        endpoint["Id"] for endpoint in mediapackage.list_origin_endpoints()["OriginEndpoints"]
    }:
        return False
    mediapackage.create_origin_endpoint(
        ChannelId=channel_id,
        Id=endpoint_id,
        HlsPackage=HLS_PACKAGE,
        StartoverWindowSeconds=STARTOVER_SECONDS,
    )
    return True


def create_bucket(aws: LocalAws, name: str) -> str:
    aws.client("s3").create_bucket(Bucket=name)
    return name


def create_role(
    aws: LocalAws, name: str, trust: Mapping[str, Any] = harvest_rules.TRUST_POLICY
) -> dict[str, Any]:
    """A role (by default one that MediaPackage may assume); IAM's description of it."""
    role: dict[str, Any] = aws.client("iam").create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]
    return role


def recent_window(minutes: float = 10, ended_ago: float = 1) -> tuple[str, str]:
    """StartTime and EndTime of a window of ``minutes`` that ended ``ended_ago`` minutes ago."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=ended_ago)
    return iso(end - timedelta(minutes=minutes)), iso(end)
