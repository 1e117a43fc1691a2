"""What a harvest job needs on the local AWS, made in one place for the tests, the demo and the
benchmarks: a channel, an HLS origin endpoint with a 24 h startover window, a bucket, a role that
MediaPackage may assume, and a window that MediaPackage accepts (ended a minute ago); and for MediaPackage
v2 a channel group, a channel, an origin endpoint and a bucket whose policy lets the service write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from local_aws import ACCOUNT_ID, harvest_jobs_v2, harvest_rules, iso
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


@dataclass(frozen=True)
class LocalSetupV2:
    """What a MediaPackage v2 harvest job needs on the local AWS: channel group, channel, HLS origin
    endpoint with a startover window, and a bucket (whose policy ``allow_harvest_v2`` writes)."""

    channel_group_name: str
    channel_name: str
    origin_endpoint_name: str
    origin_endpoint_arn: str
    manifest_name: str
    bucket: str


def create_v2(
    aws: LocalAws,
    *,
    channel_group_name: str = "live",
    channel_name: str = "main",
    origin_endpoint_name: str = "hls",
    manifest_name: str = "index",
    bucket: str = "harvest-clips-v2",
    startover_seconds: int = STARTOVER_SECONDS,
    allow: bool = True,
) -> LocalSetupV2:
    """A channel group, a channel, a TS origin endpoint with one HLS manifest and a startover window, and a
    bucket; with ``allow``, the bucket policy that lets MediaPackage v2 write for that endpoint."""
    client = aws.mediapackagev2()
    groups = {group["ChannelGroupName"] for group in client.list_channel_groups()["Items"]}
    if channel_group_name not in groups:
        client.create_channel_group(ChannelGroupName=channel_group_name)
    try:
        client.get_channel(ChannelGroupName=channel_group_name, ChannelName=channel_name)
    except client.exceptions.ResourceNotFoundException:
        client.create_channel(ChannelGroupName=channel_group_name, ChannelName=channel_name)
    endpoint = client.create_origin_endpoint(
        ChannelGroupName=channel_group_name,
        ChannelName=channel_name,
        OriginEndpointName=origin_endpoint_name,
        ContainerType="TS",
        StartoverWindowSeconds=startover_seconds,
        HlsManifests=[{"ManifestName": manifest_name}],
    )
    create_bucket(aws, bucket)
    if allow:
        allow_harvest_v2(aws, bucket, [endpoint["Arn"]])
    return LocalSetupV2(
        channel_group_name, channel_name, origin_endpoint_name, endpoint["Arn"], manifest_name, bucket
    )


def harvest_v2_statement(bucket: str, endpoint_arns: list[str], account: str = ACCOUNT_ID) -> dict[str, Any]:
    """The bucket-policy statement MediaPackage v2 needs to write harvested files: the service principal,
    ``s3:PutObject`` on the bucket's objects, this account and these origin endpoints only."""
    return {
        "Sid": "AllowMediaPackageV2Harvest",
        "Effect": "Allow",
        "Principal": {"Service": harvest_jobs_v2.SERVICE_PRINCIPAL},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": endpoint_arns},
        },
    }


def allow_harvest_v2(aws: LocalAws, bucket: str, endpoint_arns: list[str], *extra: Mapping[str, Any]) -> None:
    """Set the bucket's policy to ``harvest_v2_statement`` (and any ``extra`` statements)."""
    document = {"Version": "2012-10-17", "Statement": [harvest_v2_statement(bucket, endpoint_arns), *extra]}
    aws.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))
