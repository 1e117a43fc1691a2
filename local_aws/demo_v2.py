"""The MediaPackage v2 part of ``make demo``: what a ``Custom::MediaPackageV2HarvestJob`` needs locally.

A v2 job is addressed by names, so the local run makes the channel group, channel and origin endpoint
its properties name (an endpoint offering every manifest the job harvests, with a 24 h startover
window). MediaPackage v2 writes to the bucket under the bucket's own policy: the run applies the
template's ``AWS::S3::BucketPolicy`` resources to the local buckets, so the local MediaPackage v2 judges
the very statement the construct wrote. Then it lists what the job harvested.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from local_aws import cloudformation
from local_aws.server import LocalAws

RESOURCE_TYPE_V2 = "Custom::MediaPackageV2HarvestJob"
_STARTOVER_SECONDS = 24 * 3600
_FINISHED = ("COMPLETED", "FAILED", "CANCELLED")


def describe(properties: Mapping[str, Any]) -> str:
    """Where the job harvests from, as the run prints it."""
    return (
        f"channel group {properties['ChannelGroupName']}, channel {properties['ChannelName']}, "
        f"origin endpoint {properties['OriginEndpointName']}"
    )


def create_origin_endpoint(aws: LocalAws, properties: Mapping[str, Any]) -> None:
    """The channel group, channel and origin endpoint the properties name, with their manifests."""
    client = aws.mediapackagev2()
    group, channel = properties["ChannelGroupName"], properties["ChannelName"]
    if group not in {item["ChannelGroupName"] for item in client.list_channel_groups()["Items"]}:
        client.create_channel_group(ChannelGroupName=group)
    try:
        client.get_channel(ChannelGroupName=group, ChannelName=channel)
    except client.exceptions.ResourceNotFoundException:
        client.create_channel(ChannelGroupName=group, ChannelName=channel)
    dash = properties.get("DashManifestNames", [])
    manifests: dict[str, Any] = {
        "HlsManifests": [{"ManifestName": name} for name in properties.get("HlsManifestNames", [])],
        "LowLatencyHlsManifests": [
            {"ManifestName": name} for name in properties.get("LowLatencyHlsManifestNames", [])
        ],
        "DashManifests": [{"ManifestName": name} for name in dash],
    }
    client.create_origin_endpoint(
        ChannelGroupName=group,
        ChannelName=channel,
        OriginEndpointName=properties["OriginEndpointName"],
        ContainerType="CMAF" if dash else "TS",  # DASH needs CMAF segments
        StartoverWindowSeconds=_STARTOVER_SECONDS,
        **{key: value for key, value in manifests.items() if value},
    )
    print(f"  local v2 {describe(properties)} with a 24 h startover window")


def apply_bucket_policies(
    assembly: cloudformation.Assembly,
    aws: LocalAws,
    refs: Mapping[str, str],
    attributes: Mapping[tuple[str, str], str],
) -> None:
    """Each ``AWS::S3::BucketPolicy`` of the template whose bucket ``refs`` names, resolved, put on
    that local bucket."""
    s3 = aws.client("s3")
    for logical_id, resource in assembly.resources("AWS::S3::BucketPolicy").items():
        bucket = resource["Properties"]["Bucket"]
        if not (isinstance(bucket, dict) and bucket.get("Ref") in refs):
            continue
        properties = cloudformation.resolve(resource["Properties"], refs, attributes)
        s3.put_bucket_policy(Bucket=properties["Bucket"], Policy=json.dumps(properties["PolicyDocument"]))
        print(f"  local bucket policy of s3://{properties['Bucket']}  ({logical_id})")


def show_harvest(aws: LocalAws, properties: Mapping[str, Any], data: Mapping[str, str]) -> bool:
    """List what the job wrote under its destination path (waiting for it first, if the stack did not)."""
    client = aws.mediapackagev2()
    address = {key: properties[key] for key in ("ChannelGroupName", "ChannelName", "OriginEndpointName")}
    name = data["HarvestJobName"]
    deadline = time.monotonic() + 60
    record = client.get_harvest_job(**address, HarvestJobName=name)
    while record["Status"] not in _FINISHED and time.monotonic() < deadline:
        time.sleep(0.5)
        record = client.get_harvest_job(**address, HarvestJobName=name)
    status = record["Status"]
    print(f"\nHarvest job {name} (MediaPackage v2): {status}")
    if status != "COMPLETED":
        print(f"error: harvest job {name} ended {status}, not COMPLETED: {record.get('ErrorMessage', '')}")
        return False
    destination = record["Destination"]["S3Destination"]
    bucket, path = destination["BucketName"], destination["DestinationPath"]
    listing = aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=path)
    for entry in listing.get("Contents", []):
        print(f"  s3://{bucket}/{entry['Key']}  {entry['Size']} bytes")
    return True
