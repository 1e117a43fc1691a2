"""MediaPackage v2 harvest requests: the properties parsed and checked, and compared with a job.

The request half of ``jobs_v2``: the rules module's checks on the resolved properties (the same
functions the construct calls at synth time), a job's answer read back as a request, and the
differences between the two. Imports ``answering`` (RequestError), the contract and rules modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules

from mediapackage_harvest_handler.answering import RequestError

Property = contract.PropertyV2
HarvestJob = Mapping[str, Any]
ADDRESS_KEYS = (Property.CHANNEL_GROUP_NAME, Property.CHANNEL_NAME, Property.ORIGIN_ENDPOINT_NAME)
#: The API's member of each manifest kind in ``HarvestedManifests``.
MANIFEST_MEMBERS = {
    Property.HLS_MANIFEST_NAMES: "HlsManifests",
    Property.DASH_MANIFEST_NAMES: "DashManifests",
    Property.LOW_LATENCY_HLS_MANIFEST_NAMES: "LowLatencyHlsManifests",
}


@dataclass(frozen=True)
class HarvestRequest:
    """The harvest properties of one v2 resource, parsed and checked."""

    channel_group_name: str
    channel_name: str
    origin_endpoint_name: str
    start_time: datetime
    end_time: datetime
    bucket_name: str
    destination_path: str
    manifests: Mapping[str, tuple[str, ...]]
    """Each kind of :data:`MANIFEST_MEMBERS` to its names (possibly none)."""
    harvest_job_name: str | None = None
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def create_arguments(self, name: str, token: str) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            **address(self),
            "HarvestJobName": name,
            "HarvestedManifests": {
                MANIFEST_MEMBERS[kind]: [{"ManifestName": manifest} for manifest in names]
                for kind, names in self.manifests.items()
                if names
            },
            "ScheduleConfiguration": {"StartTime": self.start_time, "EndTime": self.end_time},
            "Destination": {
                "S3Destination": {"BucketName": self.bucket_name, "DestinationPath": self.destination_path}
            },
        }
        if token:
            arguments["ClientToken"] = token
        if self.description is not None:
            arguments["Description"] = self.description
        if self.tags:
            arguments["Tags"] = dict(self.tags)
        return arguments

    def same_harvest(self, other: HarvestRequest) -> bool:
        """The same harvest whatever the name (manifests compared as sets of names)."""
        return _comparable(self) == _comparable(other)


def _comparable(request: HarvestRequest) -> HarvestRequest:
    manifests = {kind: tuple(sorted(names)) for kind, names in request.manifests.items() if names}
    # No Description and an empty one are the same to MediaPackage.
    return replace(
        request,
        harvest_job_name=None,
        manifests=manifests,
        description=request.description or None,
        tags=dict(request.tags),
    )


def requested_id(request: HarvestRequest) -> str | None:
    """The ``HarvestJobName`` the properties name, if any."""
    return request.harvest_job_name


def address(request: HarvestRequest) -> dict[str, str]:
    """Where the job lives: its channel group, channel and origin endpoint names."""
    return dict(zip(ADDRESS_KEYS, address_of(request), strict=True))


def address_of(request: HarvestRequest) -> tuple[str, str, str]:
    return request.channel_group_name, request.channel_name, request.origin_endpoint_name


def _value(properties: Mapping[str, Any], key: str, path: str = "") -> Any:
    if key not in properties:
        raise RequestError(f"Missing property {path}{key}")
    return properties[key]


def _optional(properties: Mapping[str, Any], key: str, default: Any) -> Any:
    """An optional property's value: ``default`` when it is absent or null (as v1's Id)."""
    value = properties.get(key)
    return default if value is None else value


def _object(value: object, name: str, expected: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RequestError(f"Property {name} is a {type(value).__name__}; expected an object with {expected}")
    return value


def _reject_unknown(properties: Mapping[str, Any], known: frozenset[str], path: str) -> None:
    unknown = sorted(f"{path}{key}" for key in properties if key not in known)
    if unknown:
        expected = ", ".join(sorted(known - Property.CLOUDFORMATION_KEYS))
        raise RequestError(f"Unknown property {', '.join(unknown)}; expected only {expected}")


def parse_address(properties: object) -> dict[str, str]:
    """Only the channel group, channel and origin endpoint names (what Delete needs), checked."""
    values = _object(properties, "ResourceProperties", ", ".join(ADDRESS_KEYS))
    try:
        return {key: rules.check_name(key, _value(values, key)) for key in ADDRESS_KEYS}
    except rules.HarvestRuleError as error:
        raise RequestError(str(error)) from None


def parse_properties(properties: object) -> HarvestRequest:
    """Parse the resource's properties (strings, lists of strings, an object of strings) into a
    checked :class:`HarvestRequest`, with the rules the construct applies at synth time."""
    if not isinstance(properties, Mapping):
        raise RequestError("ResourceProperties is missing or not an object")
    _reject_unknown(properties, Property.KEYS, "")
    at = f"{Property.S3_DESTINATION}."
    destination = _object(
        _value(properties, Property.S3_DESTINATION),
        Property.S3_DESTINATION,
        ", ".join(Property.DESTINATION_KEYS),
    )
    _reject_unknown(destination, frozenset(Property.DESTINATION_KEYS), at)
    try:
        names = parse_address(properties)
        start = rules.parse_time(Property.START_TIME, _value(properties, Property.START_TIME))
        end = rules.parse_time(Property.END_TIME, _value(properties, Property.END_TIME))
        rules.check_window(start, end, start_name=Property.START_TIME, end_name=Property.END_TIME)
        manifests = {
            kind: rules.check_manifest_names(kind, _optional(properties, kind, []))
            for kind in Property.MANIFEST_KEYS
        }
        rules.check_some_manifest(manifests)
        bucket = _value(destination, Property.BUCKET_NAME, at)
        if not isinstance(bucket, str):
            raise RequestError(
                f"Property {at}{Property.BUCKET_NAME} is a {type(bucket).__name__}; expected a string"
            )
        name, description = properties.get(Property.HARVEST_JOB_NAME), properties.get(Property.DESCRIPTION)
        tags = properties.get(Property.TAGS)
        return HarvestRequest(
            names[Property.CHANNEL_GROUP_NAME],
            names[Property.CHANNEL_NAME],
            names[Property.ORIGIN_ENDPOINT_NAME],
            start_time=start,
            end_time=end,
            bucket_name=rules.check_bucket_name(f"{at}{Property.BUCKET_NAME}", bucket),
            destination_path=rules.check_destination_path(
                f"{at}{Property.DESTINATION_PATH}", _value(destination, Property.DESTINATION_PATH, at)
            ),
            manifests=manifests,
            harvest_job_name=None if name is None else rules.check_name(Property.HARVEST_JOB_NAME, name),
            description=None
            if description is None
            else rules.check_description(Property.DESCRIPTION, description),
            tags={} if tags is None else rules.check_tags(Property.TAGS, tags),
        )
    except rules.HarvestRuleError as error:
        raise RequestError(str(error)) from None


def _time(value: object) -> datetime | None:
    try:
        return rules.parse_time("", value) if isinstance(value, str | datetime) else None
    except rules.HarvestRuleError:
        return None


def as_request(job: HarvestJob) -> HarvestRequest:
    """What an existing job harvests, in the form of a request (names and times as MediaPackage has them)."""
    schedule = job.get("ScheduleConfiguration") or {}
    destination = (job.get("Destination") or {}).get("S3Destination") or {}
    harvested = job.get("HarvestedManifests") or {}
    manifests = {
        kind: tuple(str(item.get("ManifestName")) for item in harvested.get(member) or ())
        for kind, member in MANIFEST_MEMBERS.items()
    }
    return HarvestRequest(
        str(job.get(Property.CHANNEL_GROUP_NAME, "")),
        str(job.get(Property.CHANNEL_NAME, "")),
        str(job.get(Property.ORIGIN_ENDPOINT_NAME, "")),
        start_time=_time(schedule.get("StartTime")) or datetime.min,
        end_time=_time(schedule.get("EndTime")) or datetime.min,
        bucket_name=str(destination.get("BucketName", "")),
        destination_path=str(destination.get("DestinationPath", "")),
        manifests=manifests,
        harvest_job_name=str(job.get("HarvestJobName", "")),
        description=job.get("Description"),
        tags=dict(job.get("Tags") or {}),
    )


def differences(request: HarvestRequest, job: HarvestJob, old: HarvestRequest | None = None) -> list[str]:
    """The harvest properties in which an existing job differs from the request.

    A job whose answer has no ``Tags`` (or ``Description``) is taken to have the old properties' ones,
    so that an answer leaving them out never replaces a job.
    """
    existing = as_request(job)
    known = old or request
    existing = replace(
        existing,
        tags=existing.tags if "Tags" in job else known.tags,
        description=existing.description if "Description" in job else known.description,
    )
    wanted, found = _comparable(request), _comparable(existing)
    keys = {
        Property.CHANNEL_GROUP_NAME: "channel_group_name",
        Property.CHANNEL_NAME: "channel_name",
        Property.ORIGIN_ENDPOINT_NAME: "origin_endpoint_name",
        Property.START_TIME: "start_time",
        Property.END_TIME: "end_time",
        f"{Property.S3_DESTINATION}.{Property.BUCKET_NAME}": "bucket_name",
        f"{Property.S3_DESTINATION}.{Property.DESTINATION_PATH}": "destination_path",
        "HarvestedManifests": "manifests",
        Property.DESCRIPTION: "description",
        Property.TAGS: "tags",
    }
    return [key for key, attribute in keys.items() if getattr(wanted, attribute) != getattr(found, attribute)]
