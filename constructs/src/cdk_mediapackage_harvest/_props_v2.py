"""The checks of HarvestJobV2's props: every concrete value against the shared rules, at synth time.

The same style as ``_props`` (whose time, timeout and reference checks it reuses): plain Python, tokens
pass through for the handler to check once resolved; a value of the wrong type is a ``TypeError``, a
value that breaks a rule a ``HarvestRuleError`` (a ``ValueError``), each naming the prop, the value and
what is expected. May import aws-cdk-lib, the shared contract and rules modules, ``_props`` and ``_synth``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import cdk_mediapackage_harvest_rules as rules
from aws_cdk import Duration
from aws_cdk import aws_s3 as s3

from cdk_mediapackage_harvest._props import (
    _checked_time,
    _completion_timeout_seconds,
    checked_bucket_name,
)
from cdk_mediapackage_harvest._synth import is_unresolved

#: What a list token's element looks like (``Token.as_list``): ``#{Token[TOKEN.123]}``.
_LIST_TOKEN_MARKER = "#{Token["  # noqa: S105 - not a password
START_IN_FUTURE = "cdk-mediapackage-harvest:startTimeInFuture"


def _is_token(value: object) -> bool:
    return is_unresolved(value) or (isinstance(value, str) and _LIST_TOKEN_MARKER in value)


@dataclass(frozen=True)
class CheckedPropsV2:
    """The props as the resource needs them, once every concrete value has passed the rules."""

    start_time: str
    end_time: str
    bucket_name: str
    #: Each kind's manifest names (the property key's order), as given.
    manifest_names: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
    tags: dict[str, str] | None
    #: Seconds, when waiting; else None.
    completion_timeout: int | None
    #: (id, message) of each warning for the construct.
    warnings: tuple[tuple[str, str], ...]

    @classmethod
    def of(
        cls,
        *,
        channel_group_name: str,
        channel_name: str,
        origin_endpoint_name: str,
        start_time: str | datetime,
        end_time: str | datetime,
        destination_bucket: s3.IBucket,
        destination_path: str,
        hls_manifest_names: Sequence[str],
        dash_manifest_names: Sequence[str],
        low_latency_hls_manifest_names: Sequence[str],
        harvest_job_name: str | None,
        description: str | None,
        tags: Mapping[str, str] | None,
        wait_for_completion: bool,
        completion_timeout: Duration | None,
    ) -> CheckedPropsV2:
        """Check every concrete prop (tokens pass through)."""
        timeout = _completion_timeout_seconds(wait_for_completion, completion_timeout)
        for prop, name in (
            ("channel_group_name", channel_group_name),
            ("channel_name", channel_name),
            ("origin_endpoint_name", origin_endpoint_name),
            ("harvest_job_name", harvest_job_name),
        ):
            if name is None and prop == "harvest_job_name":
                continue
            _check_str(prop, name)
            if not _is_token(name):
                rules.check_name(prop, name)
        start = _checked_time("start_time", start_time)
        end = _checked_time("end_time", end_time)
        warnings: list[tuple[str, str]] = []
        if isinstance(start, datetime) and isinstance(end, datetime):
            rules.check_window(start, end, start_name="start_time", end_name="end_time")
        if isinstance(start, datetime) and start > datetime.now(UTC):
            warnings.append(
                (
                    START_IN_FUTURE,
                    f"start_time {rules.format_time(start)} is still in the future: deploy after it has "
                    "passed, or MediaPackage v2 refuses the harvest job (its start time must be in the past)",
                )
            )
        _check_str("destination_path", destination_path)
        if not _is_token(destination_path):
            rules.check_destination_path("destination_path", destination_path)
        manifest_names = _checked_manifest_names(
            {
                "hls_manifest_names": hls_manifest_names,
                "dash_manifest_names": dash_manifest_names,
                "low_latency_hls_manifest_names": low_latency_hls_manifest_names,
            }
        )
        if description is not None:
            _check_str("description", description)
            if not _is_token(description):
                rules.check_description("description", description)
        bucket_name = checked_bucket_name(destination_bucket)
        return cls(
            start_time=rules.format_time(start) if isinstance(start, datetime) else start,
            end_time=rules.format_time(end) if isinstance(end, datetime) else end,
            bucket_name=bucket_name,
            manifest_names=manifest_names,
            tags=_checked_tags(tags),
            completion_timeout=timeout,
            warnings=tuple(warnings),
        )


def _check_str(prop: str, value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{prop}: {value!r} is a {type(value).__name__}; expected a string")


def _checked_manifest_names(
    given: dict[str, Sequence[str]],
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Each kind a sequence of names (tokens pass), each concrete one a name, none twice in a kind, and
    at least one name in all."""
    checked: dict[str, tuple[str, ...]] = {}
    for prop, names in given.items():
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise TypeError(
                f"{prop}: {names!r} is a {type(names).__name__}; expected a list of manifest names, "
                "e.g. ['index']"
            )
        for index, name in enumerate(names):
            _check_str(f"{prop}[{index}]", name)
        rules.check_manifest_names(prop, [name for name in names if not _is_token(name)])
        checked[prop] = tuple(names)
    rules.check_some_manifest(checked)
    hls, dash, low_latency = checked.values()
    return hls, dash, low_latency


def _checked_tags(tags: Mapping[str, str] | None) -> dict[str, str] | None:
    """The tags as a dict; concrete keys and values checked (a token stands in as a valid one)."""
    if tags is None:
        return None
    if not isinstance(tags, Mapping):
        raise TypeError(
            f"tags: {tags!r} is a {type(tags).__name__}; expected a mapping of tag keys to values"
        )
    concrete: dict[str, str] = {}
    for index, (key, value) in enumerate(tags.items()):
        for what, item in (("key", key), (f"value of {key!r}", value)):
            if not isinstance(item, str):
                raise TypeError(f"tags: tag {what} {item!r} is a {type(item).__name__}; expected a string")
        concrete[f"token{index}" if _is_token(key) else key] = "" if _is_token(value) else value
    rules.check_tags("tags", concrete)
    return dict(tags)
