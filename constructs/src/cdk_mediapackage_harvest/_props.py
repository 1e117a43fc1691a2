"""The checks of HarvestJob's props: every concrete value against the shared rules, at synth time.

Plain Python on the props (tokens pass through for the handler to check at deploy time), so a job
costs the CDK no round trip to be validated; errors name the prop, the value and what is expected.
May import aws-cdk-lib, the shared contract and rules modules, and ``_synth``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules
from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from cdk_mediapackage_harvest._synth import ObjectCache, is_unresolved

_EXAMPLE_TIME = datetime(2026, 11, 28, 10, tzinfo=UTC)


@dataclass(frozen=True)
class CheckedProps:
    """The props as the resource needs them, once every concrete value has passed the rules."""

    start_time: str
    end_time: str
    bucket_name: str
    #: The given role's ARN; empty when a role is to be created.
    role_arn: str
    #: Seconds, when waiting; else None.
    completion_timeout: int | None
    #: (id, message) of each warning for the construct.
    warnings: tuple[tuple[str, str], ...]

    @classmethod
    def of(
        cls,
        *,
        origin_endpoint_id: str,
        start_time: str | datetime,
        end_time: str | datetime,
        destination_bucket: s3.IBucket,
        manifest_key: str,
        destination_role: iam.IRole | None,
        harvest_job_id: str | None,
        wait_for_completion: bool,
        completion_timeout: Duration | None,
    ) -> CheckedProps:
        """Check every concrete prop (tokens pass through); errors name the prop, the value and
        what is expected."""
        for name, value in (
            ("origin_endpoint_id", origin_endpoint_id),
            ("manifest_key", manifest_key),
            ("harvest_job_id", "" if harvest_job_id is None else harvest_job_id),
        ):
            _check_type(name, value, str, "expected a string")
        timeout = _completion_timeout_seconds(wait_for_completion, completion_timeout)
        start = _checked_time("start_time", start_time)
        end = _checked_time("end_time", end_time)
        warnings: list[tuple[str, str]] = []
        if isinstance(start, datetime) and isinstance(end, datetime):
            rules.check_window(start, end, start_name="start_time", end_name="end_time")
        if isinstance(end, datetime) and end > datetime.now(UTC):
            warnings.append(
                (
                    "cdk-mediapackage-harvest:endTimeInFuture",
                    f"end_time {rules.format_time(end)} is still in the future: deploy after it has "
                    "passed, or the harvest job fails (MediaPackage harvests only past content)",
                )
            )
        if not is_unresolved(origin_endpoint_id):
            rules.check_identifier("origin_endpoint_id", origin_endpoint_id, max_length=None)
        if not is_unresolved(manifest_key):
            rules.check_manifest_key("manifest_key", manifest_key)
            warning = rules.manifest_key_warning("manifest_key", manifest_key)
            if warning:
                warnings.append(("cdk-mediapackage-harvest:manifestKeyExtension", warning))
        if harvest_job_id is not None and not is_unresolved(harvest_job_id):
            rules.check_identifier("harvest_job_id", harvest_job_id)
        bucket_name = checked_bucket_name(destination_bucket)
        role_arn = ""
        if destination_role is not None:
            _check_reference(
                "destination_role",
                destination_role,
                ("role_arn", "grant_pass_role"),
                "an iam.IRole, e.g. iam.Role.from_role_arn(self, 'HarvestRole', role_arn)",
            )
            role_arn = _role_arn(destination_role)
            if not is_unresolved(role_arn):
                rules.check_role_arn("destination_role", role_arn)
        return cls(
            start_time=rules.format_time(start) if isinstance(start, datetime) else start,
            end_time=rules.format_time(end) if isinstance(end, datetime) else end,
            bucket_name=bucket_name,
            role_arn=role_arn,
            completion_timeout=timeout,
            warnings=tuple(warnings),
        )


def checked_bucket_name(destination_bucket: object) -> str:
    """``destination_bucket``'s name, once it is checked to be a bucket (and its name, when concrete,
    an S3 bucket name): the check both constructs make of the prop."""
    _check_reference(
        "destination_bucket",
        destination_bucket,
        ("bucket_name", "arn_for_objects"),
        "an s3.IBucket, e.g. s3.Bucket.from_bucket_name(self, 'Clips', 'my-bucket')",
    )
    bucket_name = _bucket_name(destination_bucket)  # type: ignore[arg-type]
    if not is_unresolved(bucket_name):
        rules.check_bucket_name("destination_bucket", bucket_name)
    return bucket_name


def _minutes(seconds: int) -> str:
    minutes = seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}" if minutes < 60 else f"{minutes // 60} hour"


def _completion_timeout_seconds(wait_for_completion: bool, completion_timeout: Duration | None) -> int | None:
    """The checked completion timeout in seconds when waiting, else None."""
    if not isinstance(wait_for_completion, bool):
        raise TypeError(f"wait_for_completion: {wait_for_completion!r}; expected True or False")
    if completion_timeout is None:
        return contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS if wait_for_completion else None
    if not isinstance(completion_timeout, Duration):
        raise TypeError(
            f"completion_timeout: {completion_timeout!r}; expected a Duration, e.g. Duration.minutes(30)"
        )
    if completion_timeout.is_unresolved():
        raise ValueError(
            "completion_timeout: a token; expected a concrete Duration, e.g. Duration.minutes(30)"
        )
    if not wait_for_completion:
        raise ValueError(
            f"completion_timeout: {completion_timeout.to_human_string()} is set, but wait_for_completion "
            "is False; expected no completion_timeout, or wait_for_completion=True"
        )
    milliseconds = completion_timeout.to_milliseconds()
    seconds = milliseconds / 1000
    shortest, longest = contract.MIN_COMPLETION_TIMEOUT_SECONDS, contract.MAX_COMPLETION_TIMEOUT_SECONDS
    if not (shortest <= seconds <= longest) or not seconds.is_integer():
        raise ValueError(
            f"completion_timeout: {completion_timeout.to_human_string()} ({milliseconds:.0f} ms); "
            f"expected whole seconds from {_minutes(shortest)} to {_minutes(longest)} (CloudFormation "
            f"waits at most {_minutes(contract.MAX_SERVICE_TIMEOUT_SECONDS)}, "
            f"{_minutes(contract.SERVICE_TIMEOUT_MARGIN_SECONDS)} of which are kept for polling and "
            "answering)"
        )
    return int(seconds)


def _check_type(name: str, value: object, types: type | tuple[type, ...], expected: str) -> None:
    """A value of the wrong type is a ``TypeError`` (the rules' own checks raise a ``ValueError``)."""
    if not isinstance(value, types):
        raise TypeError(f"{name}: {value!r} is a {type(value).__name__}; {expected}")


def _checked_time(name: str, value: str | datetime) -> str | datetime:
    """A concrete time parsed (aware, UTC); a token passed through for the handler to check."""
    _check_type(
        name,
        value,
        (str, datetime),
        f"expected an ISO-8601 string such as {rules.format_time(_EXAMPLE_TIME)!r} "
        "or a timezone-aware datetime",
    )
    if isinstance(value, str) and is_unresolved(value):
        return value
    return rules.parse_time(name, value)


def _check_reference(name: str, value: object, attributes: tuple[str, ...], expected: str) -> None:
    """An object reference where an ARN or a name is easy to pass by mistake (jsii interfaces are
    not runtime-checkable protocols, so the check is on what the construct uses).

    Looked up on the class first: on the object, a property would be read, a call into the CDK.
    """
    if all(hasattr(type(value), attribute) for attribute in attributes):
        return
    if not all(hasattr(value, attribute) for attribute in attributes):
        raise TypeError(f"{name}: {value!r} is a {type(value).__name__}; expected {expected}")


#: A bucket's name and a role's ARN never change: read once per object, however many jobs use it.
_bucket_name: ObjectCache[s3.IBucket, str] = ObjectCache(lambda bucket: bucket.bucket_name)
_role_arn: ObjectCache[iam.IRole, str] = ObjectCache(lambda role: role.role_arn)
