"""The harvest-job rules, shared by synthesis and deployment.

Pure standard library on purpose: the construct library checks concrete values with these
functions at synth time, and the bundling step copies this very file into the Lambda asset so
the handler checks the resolved values at deploy time. One copy of each rule, no drift.

Every check takes ``name``, the property name to put in the error (``start_time`` at synth
time, ``StartTime`` in the handler), and raises :class:`HarvestRuleError` naming that property,
the bad value and what is expected.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

#: MediaPackage harvests at most this long a window.
MAX_WINDOW = timedelta(hours=24)
#: S3 object keys are at most 1024 bytes of UTF-8.
MAX_MANIFEST_KEY_BYTES = 1024
#: The API does not document a maximum Id length; 64 keeps ids, ARNs and responses small.
MAX_ID_LENGTH = 64
#: Manifest extensions MediaPackage writes (HLS, DASH).
MANIFEST_EXTENSIONS = (".m3u8", ".mpd")

_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
_ID_INVALID = re.compile(r"[^A-Za-z0-9_-]")
_ORIGIN_ENDPOINT_ARN = re.compile(
    r"arn:aws[a-z-]*:mediapackage:[^:]*:[^:]*:origin_endpoints/([A-Za-z0-9_-]+)"
)
_V2_ARN = re.compile(
    r"arn:aws[a-z-]*:mediapackagev2:[^:]*:[^:]*:channelGroup/([A-Za-z0-9_-]+)"
    r"(?:/channel/([A-Za-z0-9_-]+)(?:/originEndpoint/([A-Za-z0-9_-]+)(?:/harvestJob/([A-Za-z0-9_-]+))?)?)?"
)
_EXAMPLE_TIME = "2026-11-28T10:00:00Z"


class HarvestRuleError(ValueError):
    """A value breaks a MediaPackage harvest-job rule; the message names the property."""


def _show(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def parse_time(name: str, value: str | datetime) -> datetime:
    """Parse an ISO-8601 string or a timezone-aware datetime into an aware UTC datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise HarvestRuleError(
                f"{name}: {_show(value)} is not an ISO-8601 date and time; expected e.g. {_EXAMPLE_TIME!r}"
            ) from None
    else:
        raise HarvestRuleError(
            f"{name}: {_show(value)} is a {type(value).__name__}; "
            f"expected an ISO-8601 string such as {_EXAMPLE_TIME!r} or a timezone-aware datetime"
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise HarvestRuleError(
            f"{name}: {_show(value if isinstance(value, str) else str(value))} has no time zone; "
            f"expected a UTC offset or 'Z', e.g. {_EXAMPLE_TIME!r}"
        )
    return parsed.astimezone(UTC)


def format_time(value: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``, the form sent to MediaPackage."""
    utc = value.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="auto") + "Z"


def check_window(
    start: datetime,
    end: datetime,
    *,
    start_name: str,
    end_name: str,
) -> None:
    """End after start, and a window of at most 24 hours."""
    if end <= start:
        raise HarvestRuleError(
            f"{end_name}: {format_time(end)!r} is not after {start_name} "
            f"{format_time(start)!r}; expected the window to end after it starts"
        )
    if end - start > MAX_WINDOW:
        raise HarvestRuleError(
            f"{end_name}: the window {format_time(start)!r} to {format_time(end)!r} lasts "
            f"{end - start}; expected at most 24 hours (MediaPackage's limit)"
        )


def check_ended(end: datetime, now: datetime, *, end_name: str) -> None:
    """MediaPackage only harvests a window that has already ended."""
    if end > now:
        raise HarvestRuleError(
            f"{end_name}: {format_time(end)!r} is in the future (now {format_time(now)!r}); "
            "expected a window that has ended: MediaPackage harvests only past content"
        )


def check_started(start: datetime, now: datetime, *, start_name: str) -> None:
    """MediaPackage v2 harvests from a start in the past; the end may be in the future (its guide:
    "the start time of the harvest job must be in the past", and ongoing streams can be harvested)."""
    if start > now:
        raise HarvestRuleError(
            f"{start_name}: {format_time(start)!r} is in the future (now {format_time(now)!r}); "
            "expected a start in the past: MediaPackage v2 harvests from content it has received"
        )


def check_identifier(name: str, value: object, max_length: int | None = MAX_ID_LENGTH) -> str:
    """Letters, digits, ``_`` and ``-``: harvest job ids (at most 64) and origin endpoint ids.

    MediaPackage documents no length limit for either; ``max_length=None`` checks characters only
    (origin endpoints exist already, so their ids are whatever MediaPackage accepted).
    """
    if not isinstance(value, str):
        raise HarvestRuleError(f"{name}: {_show(value)} is a {type(value).__name__}; expected a string")
    if not value:
        raise HarvestRuleError(f"{name}: is empty; expected letters, digits, '_' and '-'")
    if max_length is not None and len(value) > max_length:
        raise HarvestRuleError(
            f"{name}: {_show(value)} has {len(value)} characters; expected at most {max_length}"
        )
    if not _ID_PATTERN.fullmatch(value):
        raise HarvestRuleError(
            f"{name}: {_show(value)} has characters other than letters, digits, '_' and '-'"
            f"; {_identifier_fix(value)}"
        )
    return value


def _identifier_fix(value: str) -> str:
    """What to pass instead: the Id in an origin endpoint's ARN, or the value with the rest replaced."""
    arn = _ORIGIN_ENDPOINT_ARN.fullmatch(value)
    if arn:
        return f"an ARN is not an Id: pass the endpoint's Id, e.g. {arn.group(1)!r}"
    v2_arn = _V2_ARN.fullmatch(value)
    if v2_arn:
        kind, name = [
            (kind, name)
            for kind, name in zip(
                ("channel group", "channel", "origin endpoint", "harvest job"), v2_arn.groups(), strict=True
            )
            if name
        ][-1]
        return f"an ARN is not a name: pass the {kind}'s name, e.g. {name!r}"
    fixed = _ID_INVALID.sub("-", value.strip()).strip("-")[:MAX_ID_LENGTH] or "clip-2026-11-28"
    return f"expected e.g. {fixed!r}"


_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")


def _check_pattern(name: str, value: str, pattern: re.Pattern[str], what: str, expected: str) -> str:
    if not pattern.fullmatch(value):
        raise HarvestRuleError(f"{name}: {_show(value)} is not {what}; expected {expected}")
    return value


def check_bucket_name(name: str, value: str) -> str:
    """An S3 (general purpose) bucket name: 3 to 63 lower-case letters, digits, '.' and '-',
    starting and ending with a letter or digit."""
    expected = "3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit"
    return _check_pattern(name, value, _BUCKET_NAME, "an S3 bucket name", expected)


def check_role_arn(name: str, value: str) -> str:
    """An IAM role ARN: ``arn:<partition>:iam::<account>:role/<path and name>``."""
    expected = "arn:<partition>:iam::<account>:role/<name>"
    return _check_pattern(name, value, _ROLE_ARN, "an IAM role ARN", expected)


def check_manifest_key(name: str, value: object) -> str:
    """A non-empty S3 key of at most 1024 bytes that does not start with ``/``."""
    if not isinstance(value, str):
        raise HarvestRuleError(f"{name}: {_show(value)} is a {type(value).__name__}; expected a string")
    if not value:
        raise HarvestRuleError(
            f"{name}: is empty; expected the S3 key of the manifest, e.g. 'clips/index.m3u8'"
        )
    if value.startswith("/"):
        raise HarvestRuleError(
            f"{name}: {_show(value)} starts with '/'; expected a key relative to the bucket, "
            f"e.g. {value.lstrip('/')!r}"
        )
    size = len(value.encode("utf-8", errors="surrogatepass"))
    if size > MAX_MANIFEST_KEY_BYTES:
        raise HarvestRuleError(
            f"{name}: {_show(value)} is {size} bytes long; "
            f"expected at most {MAX_MANIFEST_KEY_BYTES} bytes (UTF-8), S3's key limit"
        )
    return value


def manifest_key_warning(name: str, key: str) -> str | None:
    """A warning when the key does not look like a manifest (not an error: it is allowed)."""
    if key.endswith(MANIFEST_EXTENSIONS):
        return None
    return (
        f"{name}: {_show(key)} ends in neither '.m3u8' (HLS) nor '.mpd' (DASH); "
        "players and tools look for the manifest by that extension"
    )


def generated_harvest_job_id(stack_id: str, logical_id: str, request_id: str) -> str:
    """A harvest job Id for a request that names none.

    Readable (stack name and logical id), unique per CloudFormation request (a hash of the
    RequestId) and the same when that request is delivered again, so a redelivery adopts the
    job it created and a redeploy never collides with a job MediaPackage keeps for 90 days.
    """
    segments = stack_id.split("/")
    stack_name = segments[1] if len(segments) > 2 else "stack"
    digest = hashlib.sha256(request_id.encode("utf-8", errors="surrogatepass")).hexdigest()[:12]
    # At most 24 + 1 + 26 + 1 + 12 = 64 characters, all of them valid in an Id.
    parts = [_ID_INVALID.sub("", stack_name)[:24], _ID_INVALID.sub("", logical_id)[:26], digest]
    return "-".join(part for part in parts if part)


# --- MediaPackage v2 (``mediapackagev2`` 2022-12-25): the limits of botocore's service model. ---

#: Channel group, channel, origin endpoint, manifest and harvest job names: 1 to 256 of [A-Za-z0-9_-].
MAX_V2_NAME_LENGTH = 256
#: ``DestinationPath``: 1 to 1024 characters, no whitespace.
MAX_DESTINATION_PATH_LENGTH = 1024
#: ``Description``: at most 1024 characters.
MAX_DESCRIPTION_LENGTH = 1024
#: AWS tags: at most 50 per resource, keys of 1 to 128 and values of at most 256 characters, of
#: letters, digits, spaces and ``_ . : / = + - @``; keys starting with ``aws:`` are AWS's own.
MAX_TAGS = 50
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256
_WHITESPACE = re.compile(r"\s")
_TAG_TEXT = re.compile(r"[\w\s.:/=+\-@]*")


def check_name(name: str, value: object) -> str:
    """A MediaPackage v2 resource name: 1 to 256 letters, digits, ``_`` and ``-``."""
    return check_identifier(name, value, max_length=MAX_V2_NAME_LENGTH)


def check_manifest_names(name: str, values: object) -> tuple[str, ...]:
    """A list of v2 manifest names (possibly empty), each a name, none twice."""
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise HarvestRuleError(
            f"{name}: {_show(values)} is a {type(values).__name__}; expected a list of manifest names"
        )
    names = tuple(check_name(f"{name}[{index}]", value) for index, value in enumerate(values))
    repeated = sorted({value for value in names if names.count(value) > 1})
    if repeated:
        raise HarvestRuleError(f"{name}: {_show(repeated)} appear more than once; expected each name once")
    return names


def check_some_manifest(names: dict[str, tuple[str, ...]]) -> None:
    """At least one manifest in total, across the kinds named by the keys of ``names``."""
    if not any(names.values()):
        raise HarvestRuleError(
            f"{', '.join(names)}: all empty; expected at least one manifest name of the origin endpoint "
            "to harvest, e.g. ['index']"
        )


def check_destination_path(name: str, value: object) -> str:
    """A v2 ``DestinationPath``: 1 to 1024 characters, no whitespace."""
    if not isinstance(value, str):
        raise HarvestRuleError(f"{name}: {_show(value)} is a {type(value).__name__}; expected a string")
    if not value:
        raise HarvestRuleError(
            f"{name}: is empty; expected the S3 prefix to harvest into, e.g. 'clips/final/'"
        )
    if len(value) > MAX_DESTINATION_PATH_LENGTH:
        raise HarvestRuleError(
            f"{name}: {_show(value)} has {len(value)} characters; "
            f"expected at most {MAX_DESTINATION_PATH_LENGTH}"
        )
    if _WHITESPACE.search(value):
        raise HarvestRuleError(
            f"{name}: {_show(value)} contains whitespace; expected none, e.g. 'clips/final/'"
        )
    return value


def check_description(name: str, value: object) -> str:
    """A v2 ``Description``: a string of at most 1024 characters."""
    if not isinstance(value, str):
        raise HarvestRuleError(f"{name}: {_show(value)} is a {type(value).__name__}; expected a string")
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise HarvestRuleError(
            f"{name}: {_show(value)} has {len(value)} characters; expected at most {MAX_DESCRIPTION_LENGTH}"
        )
    return value


def check_tags(name: str, value: object) -> dict[str, str]:
    """AWS resource tags: a mapping of at most 50 string keys (1 to 128, not ``aws:``) to string values
    (at most 256), of letters, digits, spaces and ``_ . : / = + - @``."""
    if not isinstance(value, dict):
        raise HarvestRuleError(
            f"{name}: {_show(value)} is a {type(value).__name__}; expected a mapping of tag keys to values"
        )
    if len(value) > MAX_TAGS:
        raise HarvestRuleError(f"{name}: has {len(value)} tags; expected at most {MAX_TAGS}")
    for key, text in value.items():
        for what, item, lowest, highest in (
            ("key", key, 1, MAX_TAG_KEY_LENGTH),
            (f"value of {_show(key)}", text, 0, MAX_TAG_VALUE_LENGTH),
        ):
            if not isinstance(item, str):
                raise HarvestRuleError(
                    f"{name}: tag {what} {_show(item)} is a {type(item).__name__}; expected a string"
                )
            if not lowest <= len(item) <= highest or not _TAG_TEXT.fullmatch(item):
                raise HarvestRuleError(
                    f"{name}: tag {what} {_show(item)} is not a valid tag {what.split()[0]}; expected "
                    f"{lowest} to {highest} letters, digits, spaces and '_ . : / = + - @'"
                )
        if key.lower().startswith("aws:"):
            raise HarvestRuleError(f"{name}: tag key {_show(key)} starts with 'aws:', which AWS reserves")
    return dict(value)
