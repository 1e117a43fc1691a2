"""Custom::MediaPackageHarvestJob: a CloudFormation custom resource that creates a harvest job.

Entry point ``mediapackage_harvest_handler.handler``. The crhelper entry points below are thin:
they parse the event, call the pure functions with a MediaPackage client, and put the job's
attributes in ``helper.Data``. Every property arrives as a string; the rules are the ones the
construct library checked at synth time (``cdk_mediapackage_harvest_rules``, copied into this
asset), checked again here on the resolved values.

Harvest jobs cannot be edited, cancelled or deleted, and MediaPackage keeps their Id for 90 days,
hence: Create is idempotent per CloudFormation request, Update keeps the job when its harvest
properties did not change and otherwise creates a new one, and Delete only answers.
"""

from __future__ import annotations

import dataclasses
import functools
import http.client
import json
import logging
import os
import random
import ssl
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import boto3
import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from crhelper import CfnResource
from crhelper.resource_helper import FAILED, SUCCESS

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_mediapackage import MediaPackageClient

logger = logging.getLogger(__name__)


class HarvestJobResource(CfnResource):
    """crhelper's ``CfnResource``, extended where its defaults do not fit this handler.

    Polling: crhelper, once a ``poll_*`` function is registered, always hands the event to an
    EventBridge rule and never answers in the first invocation. Here the first invocation waits for
    the job itself and answers at once when it is done; only a job still running when the
    invocation's time runs out (``pending``) is handed to crhelper's poller, through a rule whose
    name fits EventBridge's 64 characters whatever the logical id, with a small target input. The
    rule may invoke the function through one permission the stack grants to every rule of this
    function's prefix, so no invocation edits the function's policy (concurrent edits of one
    policy fail, and a policy is limited to 20 KB). The rule is removed however the wait ends.

    Answering: exactly one answer per invocation, through :func:`put_answer` (non-2xx is a
    failure, retried with backoff until shortly before the deadline), never to the URL of an
    earlier event; crhelper's timer answers FAILED ``TIMEOUT_ANSWER_SECONDS`` before the deadline
    with a Reason that says what happened. Events that cannot be answered are logged and dropped.
    """

    pending: PendingWait | None = None
    """Set by a Create or Update whose job is still running when its invocation has to stop."""
    # crhelper's own state, which its type stubs leave out.
    _event: dict[str, Any]
    _context: Any
    _send_response: bool
    _sam_local: Any
    _response_url: str
    _timer: threading.Timer | None

    def __init__(self, **settings: Any) -> None:
        # Held while an answer is decided and sent: the timer thread and the main thread race.
        self._answer_lock = threading.RLock()
        self._answered = False
        super().__init__(**settings)
        # Under ``sam local``, crhelper skips the poll set-up, and with it the answer; ours needs
        # none of crhelper's clients, and waits in the invocation like anywhere else.
        self._sam_local = None

    def __call__(self, event: Any, context: Any) -> None:
        self.pending = None
        if self._start_invocation(event, context):
            super().__call__(event, context)

    def _start_invocation(self, event: Any, context: Any) -> bool:
        """Forget the previous event, then drop or answer an event crhelper cannot handle.

        crhelper answers an early failure (a missing key) with the state of the *previous*
        invocation in a warm container, its ResponseURL included; here that state is replaced first.
        True when crhelper should handle the event.
        """
        with self._answer_lock:
            if self._timer is not None:  # an earlier invocation's timer must not answer this one
                self._timer.cancel()
                self._timer = None
            self._answered = False
            self._event = event if isinstance(event, dict) else {}
            self._context = context
            self._response_url = ""
            self.Status, self.Reason, self.PhysicalResourceId, self.Data = SUCCESS, "", "", {}
            self.StackId, self.RequestId, self.LogicalResourceId = (
                _envelope_text(self._event, key) for key in _ENVELOPE_KEYS
            )
        self._log_setup(self._event, context)
        unanswerable = response_url_problem(event)
        if unanswerable:
            logger.error({"message": f"Dropped an event that cannot be answered: {unanswerable}"})
            return False
        self._response_url = event["ResponseURL"]
        problem = envelope_problem(event)
        if problem is None:
            return True
        logger.error({"message": f"Malformed event: {problem}"})
        if event.get("RequestType") == "Delete":
            self._send()  # a Delete never fails, whatever else is wrong with it
        else:
            self._send(FAILED, reason(HarvestJobError(f"Malformed event: {problem}")))
        return False

    def _log_setup(self, event: Mapping[str, Any], context: Any) -> None:
        """crhelper's JSON log fields from the event, tolerating absent keys and ``%``."""
        fields = {
            key: _envelope_text(event, key).replace("%", "%%") for key in ("RequestType", *_ENVELOPE_KEYS)
        }
        cast(Any, super())._log_setup(fields, context)

    def _send(
        self,
        status: str | None = None,
        reason: str = "",
        send_response: Callable[[str, dict[str, Any], object], None] | None = None,
    ) -> None:
        """crhelper's answer (its body), at most once per invocation, through :func:`put_answer`."""
        with self._answer_lock:
            if self._answered:
                logger.warning(
                    {"message": "This event was answered already; not answering again", "status": status}
                )
                return
            self._answered = True
            if not (isinstance(self.PhysicalResourceId, str) and self.PhysicalResourceId):
                # CloudFormation rejects an answer without one (a timeout during Create, say).
                given = self._event.get("PhysicalResourceId")
                self.PhysicalResourceId = (
                    given if isinstance(given, str) and given else _generated_id(self._event)
                )
            try:
                cast(Any, super())._send(status, reason, send_response=send_response or self._put)
            except Exception as error:  # never let answering crash the invocation (Lambda would retry)
                logger.error({"message": "Could not answer CloudFormation", "error": type(error).__name__})

    def generate_physical_id(self, event: Any) -> str:
        """crhelper's id for a failed Create; ours where crhelper's fails (a StackId without ``/``)."""
        try:
            return str(super().generate_physical_id(event))
        except (IndexError, KeyError, TypeError, AttributeError):
            return _generated_id(event)

    def _put(self, url: str, body: dict[str, Any], _ssl_verify: object) -> None:
        remaining = getattr(self._context, "get_remaining_time_in_millis", lambda: 0)() / 1000
        put_answer(url, body, stop_at=time.monotonic() + remaining - SEND_DEADLINE_MARGIN_SECONDS)

    def _set_timeout(self) -> None:
        """crhelper's timer, started earlier than its 0.5 s before the deadline: time for retries."""
        remaining = self._context.get_remaining_time_in_millis() / 1000
        lead = min(TIMEOUT_ANSWER_SECONDS, remaining / 4)
        self._timer = threading.Timer(max(0.0, remaining - lead), self._timeout)
        self._timer.start()

    def _timeout(self) -> None:
        with self._answer_lock:
            if threading.current_thread() is not self._timer:
                return  # the timer of an earlier invocation, which ended without cancelling it in time
            logger.error({"message": "The function is about to time out: answering FAILED"})
            self._send(FAILED, timeout_reason(self._event, self._context))

    def _polling_init(self, event: dict[str, Any]) -> None:
        with self._answer_lock:  # waits for an answer the timer may be sending
            answered = self._answered
        if answered:
            # The timer answered FAILED while the work went on: no poller may answer again, so
            # none is set up, and a scheduled poll's rule is removed.
            if POLL_KEY in event:
                self._remove_polling()
            return
        if POLL_KEY in event:  # crhelper's scheduled poll: answer, and clean up, once done
            if self.PhysicalResourceId or self.Status == FAILED:
                self._remove_polling()
                self._send_response = True
            return
        if self.pending is None or self.Status == FAILED:  # done, or no waiting: answer now
            self._send_response = True
            return
        try:
            self._setup_polling()
        except Exception as error:
            logger.error({"message": "Could not set up the poller", "error": str(error)})
            self._remove_polling()
            self.Status = FAILED
            self.Reason = reason(
                HarvestJobError(
                    f"Harvest job {self.pending.job_id} is still IN_PROGRESS; polling it could not be "
                    f"set up: {reason(error)}"
                )
            )
            self.Data = {}
            # An Update keeps its old physical id: a new one in a FAILED answer would be recorded,
            # and the rollback would then replace that job with a third one.
            self.PhysicalResourceId = self._event.get("PhysicalResourceId") or self.PhysicalResourceId
            self._send_response = True

    def _setup_polling(self) -> None:
        pending = cast(PendingWait, self.pending)
        function_arn = unqualified_function_arn(self._context)
        name = poll_rule_name(poll_rule_prefix(), str(self._event.get("LogicalResourceId", "")))
        self._event[POLL_RULE_KEY] = _events_client().put_rule(
            Name=name,
            ScheduleExpression=POLL_SCHEDULE,
            State="ENABLED",
            Description=f"Polls MediaPackage harvest job {pending.job_id} until it finishes",
        )["RuleArn"]
        target_input = json.dumps(poll_event(self._event, pending, self._event[POLL_RULE_KEY]))
        if len(target_input) > MAX_TARGET_INPUT:
            raise HarvestJobError(
                f"the poller's input would be {len(target_input)} characters, over EventBridge's "
                f"{MAX_TARGET_INPUT}"
            )
        _check_entries(
            "PutTargets",
            _events_client().put_targets(
                Rule=name, Targets=[{"Id": POLL_TARGET_ID, "Arn": function_arn, "Input": target_input}]
            ),
        )
        logger.info(
            {
                "message": "Harvest job still running: polling it every minute",
                "harvestJobId": pending.job_id,
                "rule": name,
            }
        )

    def _remove_polling(self) -> None:
        """Remove the rule's target, then the rule, if they exist; never changes the answer.

        Each step is tried ``REMOVAL_ATTEMPTS`` times (EventBridge refuses concurrent changes of a
        rule). A target left behind fires again, and that poll answers again and retries this; a
        rule whose target is gone fires nothing and is only logged.
        """
        rule_arn = self._event.get(POLL_RULE_KEY)
        if not rule_arn:
            return
        name = str(rule_arn).rpartition("/")[2]
        steps: list[tuple[str, Callable[[], object]]] = [
            (
                "RemoveTargets",
                lambda: _check_entries(
                    "RemoveTargets", _events_client().remove_targets(Rule=name, Ids=[POLL_TARGET_ID])
                ),
            ),
            ("DeleteRule", lambda: _events_client().delete_rule(Name=name)),
        ]
        for operation, step in steps:
            for attempt in range(1, REMOVAL_ATTEMPTS + 1):
                try:
                    step()
                    break
                except ClientError as error:
                    if _error_code(error) == "ResourceNotFoundException":
                        break
                    failure = _error_text(error)
                except Exception as error:  # connection errors: logged, never the answer
                    failure = f"{type(error).__name__}: {error}"
                logger.error(
                    {"message": f"{operation} failed", "rule": name, "attempt": attempt, "error": failure}
                )
                if attempt < REMOVAL_ATTEMPTS:
                    time.sleep(REMOVAL_PAUSE_SECONDS)
            else:
                logger.error({"message": f"Giving up: {operation}", "rule": name})
                return


def _check_entries(operation: str, answer: Mapping[str, Any]) -> None:
    """EventBridge reports a failed target in a successful answer: raise it."""
    if answer.get("FailedEntryCount"):
        entry = (answer.get("FailedEntries") or [{}])[0]
        raise HarvestJobError(
            f"{operation} failed: {entry.get('ErrorCode', 'Error')}: {entry.get('ErrorMessage', '')}"
        )


# sleep_on_delete=0: crhelper would otherwise sleep 120 s before answering every Delete.
helper = HarvestJobResource(json_logging=True, log_level="INFO", boto_level="ERROR", sleep_on_delete=0)

#: crhelper keeps only the *last* 240 characters of a longer Reason; ours are cut at the end.
MAX_REASON_LENGTH = 256
DATA_KEYS = ("Arn", "Id", "Status", "ChannelId", "CreatedAt", "StartTime", "EndTime", "ManifestUri")
_DESTINATION_KEYS = ("BucketName", "ManifestKey", "RoleArn")
# ServiceToken and ServiceTimeout are CloudFormation's own; they reach the handler too.
_CLOUDFORMATION_KEYS = frozenset({"ServiceToken", "ServiceTimeout"})
_WAIT_KEYS = frozenset({"WaitForCompletion", "CompletionTimeout"})
_PROPERTY_KEYS = (
    _CLOUDFORMATION_KEYS | _WAIT_KEYS | {"OriginEndpointId", "StartTime", "EndTime", "S3Destination", "Id"}
)

#: CloudFormation's limit on the answer's body.
MAX_ANSWER_BYTES = 4096
#: Room kept for the ChannelId MediaPackage returns, when checking that an answer fits.
ANSWER_CHANNEL_ID_ALLOWANCE = 256
#: The error MediaPackage answers both for throttling and for a full quota of concurrent jobs.
THROTTLED = "TooManyRequestsException"
#: Status reported for a job whose record MediaPackage no longer keeps (after 90 days).
EXPIRED_STATUS = "EXPIRED"

HarvestJob = Mapping[str, Any]


@dataclass(frozen=True)
class Budget:
    """The time an event's work has: its wall-clock start, and the monotonic instant to stop by."""

    now: datetime
    stop_at: float

    @classmethod
    def of(cls, context: object) -> Budget:
        """This invocation's budget: the Lambda deadline less ``ANSWER_MARGIN_SECONDS``."""
        remaining = getattr(context, "get_remaining_time_in_millis", lambda: 0)() / 1000
        return cls(
            now=datetime.now(UTC),
            stop_at=time.monotonic() + max(0.0, remaining - ANSWER_MARGIN_SECONDS),
        )

    def left(self) -> float:
        """Seconds of work left (negative once past ``stop_at``)."""
        return self.stop_at - time.monotonic()


class HarvestJobError(Exception):
    """The request cannot be carried out; the message is the Reason CloudFormation shows."""


@dataclass(frozen=True)
class HarvestRequest:
    """The harvest properties of one resource, parsed and checked."""

    origin_endpoint_id: str
    start_time: datetime
    end_time: datetime
    bucket_name: str
    manifest_key: str
    role_arn: str
    harvest_job_id: str | None

    def create_arguments(self, job_id: str) -> dict[str, Any]:
        return {
            "Id": job_id,
            "OriginEndpointId": self.origin_endpoint_id,
            "StartTime": rules.format_time(self.start_time),
            "EndTime": rules.format_time(self.end_time),
            "S3Destination": {
                "BucketName": self.bucket_name,
                "ManifestKey": self.manifest_key,
                "RoleArn": self.role_arn,
            },
        }


def _string(properties: Mapping[str, Any], key: str, path: str = "") -> str:
    name = f"{path}{key}"
    if key not in properties:
        raise HarvestJobError(f"Missing property {name}")
    value = properties[key]
    if not isinstance(value, str):
        raise HarvestJobError(f"Property {name} is a {type(value).__name__}; expected a string")
    if not value:
        raise HarvestJobError(f"Property {name} is empty")
    return value


def _reject_unknown(properties: Mapping[str, Any], known: frozenset[str], path: str) -> None:
    unknown = sorted(f"{path}{key}" for key in properties if key not in known)
    if unknown:
        expected = ", ".join(sorted(known - _CLOUDFORMATION_KEYS))
        raise HarvestJobError(f"Unknown property {', '.join(unknown)}; expected only {expected}")


def parse_properties(properties: object) -> HarvestRequest:
    """Parse ResourceProperties (all strings) into a checked :class:`HarvestRequest`."""
    if not isinstance(properties, Mapping):
        raise HarvestJobError("ResourceProperties is missing or not an object")
    _reject_unknown(properties, _PROPERTY_KEYS, "")
    destination = properties.get("S3Destination")
    if destination is None:
        raise HarvestJobError("Missing property S3Destination")
    if not isinstance(destination, Mapping):
        raise HarvestJobError(
            f"Property S3Destination is a {type(destination).__name__}; "
            f"expected an object with {', '.join(_DESTINATION_KEYS)}"
        )
    _reject_unknown(destination, frozenset(_DESTINATION_KEYS), "S3Destination.")
    job_id = properties.get("Id")
    try:
        start = rules.parse_time("StartTime", _string(properties, "StartTime"))
        end = rules.parse_time("EndTime", _string(properties, "EndTime"))
        rules.check_window(start, end, start_name="StartTime", end_name="EndTime")
        return HarvestRequest(
            origin_endpoint_id=rules.check_identifier(
                "OriginEndpointId", _string(properties, "OriginEndpointId"), max_length=None
            ),
            start_time=start,
            end_time=end,
            bucket_name=rules.check_bucket_name(
                "S3Destination.BucketName", _string(destination, "BucketName", "S3Destination.")
            ),
            manifest_key=rules.check_manifest_key(
                "S3Destination.ManifestKey", _string(destination, "ManifestKey", "S3Destination.")
            ),
            role_arn=rules.check_role_arn(
                "S3Destination.RoleArn", _string(destination, "RoleArn", "S3Destination.")
            ),
            harvest_job_id=None if job_id is None else rules.check_identifier("Id", job_id),
        )
    except rules.HarvestRuleError as error:
        raise HarvestJobError(str(error)) from None


def _same_time(actual: object, expected: datetime) -> bool:
    try:
        return isinstance(actual, str) and rules.parse_time("", actual) == expected
    except rules.HarvestRuleError:
        return False


def differences(request: HarvestRequest, job: HarvestJob) -> list[str]:
    """The harvest properties in which an existing job differs from the request."""
    destination = job.get("S3Destination") or {}
    found = []
    if job.get("OriginEndpointId") != request.origin_endpoint_id:
        found.append("OriginEndpointId")
    if not _same_time(job.get("StartTime"), request.start_time):
        found.append("StartTime")
    if not _same_time(job.get("EndTime"), request.end_time):
        found.append("EndTime")
    for key, wanted in (
        ("BucketName", request.bucket_name),
        ("ManifestKey", request.manifest_key),
        ("RoleArn", request.role_arn),
    ):
        if destination.get(key) != wanted:
            found.append(f"S3Destination.{key}")
    return found


def job_data(job: HarvestJob) -> dict[str, str]:
    """The resource's attributes (``Fn::GetAtt``) from a CreateHarvestJob/DescribeHarvestJob answer."""
    destination = job.get("S3Destination") or {}
    data = {key: str(job.get(key, "")) for key in DATA_KEYS if key != "ManifestUri"}
    data["ManifestUri"] = f"s3://{destination.get('BucketName', '')}/{destination.get('ManifestKey', '')}"
    return data


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _error_text(error: ClientError) -> str:
    details = error.response.get("Error", {})
    code = details.get("Code") or "Error"
    message = details.get("Message") or str(error)
    return f"{code}: {message}"


def describe_job(client: MediaPackageClient, job_id: str) -> HarvestJob | None:
    """The job with this Id, or None when MediaPackage has no such job.

    Any other error (denied, throttled beyond botocore's retries, 5xx) is raised: taking it for
    "no such job" would make an Update harvest the same window again.
    """
    try:
        rules.check_identifier("Id", job_id)
    except rules.HarvestRuleError:
        return None  # not a harvest job Id at all, so MediaPackage cannot have it
    try:
        return client.describe_harvest_job(Id=job_id)
    except ClientError as error:
        if _error_code(error) == "NotFoundException":
            return None
        raise HarvestJobError(f"DescribeHarvestJob {job_id} failed: {_error_text(error)}") from error


def create_or_adopt(
    client: MediaPackageClient, request: HarvestRequest, job_id: str, budget: Budget
) -> HarvestJob:
    """CreateHarvestJob; when the Id already exists, adopt that job if it is the same harvest.

    TooManyRequestsException is waited out while the budget lasts (:func:`_create_while_throttled`).
    """
    started = time.monotonic()
    try:
        job = _create_while_throttled(client, request.create_arguments(job_id), budget)
    except ClientError as error:
        # A duplicate Id is not a modelled error (most likely 422), and an earlier call may have
        # created the job without its answer arriving (a timeout, or a crashed invocation that
        # Lambda retries): look the Id up instead of guessing from the error code.
        if _error_code(error) == THROTTLED:
            message = error.response.get("Error", {}).get("Message", "")
            failure = (
                f"CreateHarvestJob {job_id} failed: TooManyRequestsException for "
                f"{time.monotonic() - started:.0f} s until time ran out (quota of 10 concurrent "
                f"harvest jobs by default, or request rate): {message}"
            )
        else:
            failure = f"CreateHarvestJob {job_id} failed: {_error_text(error)}"
        try:
            existing = describe_job(client, job_id)
        except HarvestJobError as describe_error:
            raise HarvestJobError(f"{failure} ({describe_error})") from error
        if existing is None:
            raise HarvestJobError(failure) from error
        changed = differences(request, existing)
        if changed:
            raise HarvestJobError(
                f"Harvest job Id {job_id} already exists with a different {', '.join(changed)}; "
                "an Id cannot be reused for 90 days: set another Id, or none to get a generated one"
            ) from error
        logger.info({"message": "Adopted the existing harvest job with this Id", "harvestJobId": job_id})
        return existing
    logger.info({"message": "Created harvest job", "harvestJobId": job_id, "status": job.get("Status")})
    return job


def _create_while_throttled(
    client: MediaPackageClient, arguments: Mapping[str, Any], budget: Budget
) -> HarvestJob:
    """CreateHarvestJob, called again while it is refused with TooManyRequestsException.

    botocore's retries end after seconds; a full quota of concurrent jobs lasts until one of them
    finishes, minutes later. So wait, with capped exponential backoff and full jitter (resources
    created together do not call in step), as long as the budget still has room for the next call
    and for the lookup of the Id that follows a last refusal: 2 x ``CALL_SECONDS``. Then the last
    refusal is raised. The first call is always made.
    """
    attempt = 0
    while True:
        try:
            job: HarvestJob = client.create_harvest_job(**arguments)
            return job
        except ClientError as error:
            ceiling = min(QUOTA_BACKOFF_CAP, QUOTA_BACKOFF_BASE * 2**attempt)
            delay = random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography
            if _error_code(error) != THROTTLED or budget.left() < delay + 2 * CALL_SECONDS:
                raise
        logger.info(
            {
                "message": "CreateHarvestJob refused with TooManyRequestsException; calling again",
                "harvestJobId": arguments["Id"],
                "waitSeconds": round(delay, 1),
            }
        )
        time.sleep(delay)
        attempt += 1


def answer_size(event: Mapping[str, Any], physical_id: str, data: Mapping[str, str]) -> int:
    """Bytes of the SUCCESS body crhelper would send (JSON with non-ASCII escaped)."""
    body = {
        "Status": "SUCCESS",
        "PhysicalResourceId": physical_id,
        "StackId": str(event.get("StackId", "")),
        "RequestId": str(event.get("RequestId", "")),
        "LogicalResourceId": str(event.get("LogicalResourceId", "")),
        "Reason": "",
        "Data": data,
        "NoEcho": False,
    }
    return len(json.dumps(body).encode())


def _job_arn(event: Mapping[str, Any], job_id: str) -> str:
    """The ARN MediaPackage gives a job, from the stack's partition, region and account."""
    parts = (str(event.get("StackId", "")).split(":") + [""] * 5)[:5]
    return f"arn:{parts[1] or 'aws'}:mediapackage:{parts[3]}:{parts[4]}:harvest_jobs/{job_id}"


def _check_answer_fits(event: Mapping[str, Any], request: HarvestRequest, job_id: str) -> None:
    """Refuse, before creating anything, a request whose answer could not reach CloudFormation."""
    largest = {
        **request.create_arguments(job_id),
        "Arn": _job_arn(event, job_id),
        "ChannelId": "c" * ANSWER_CHANNEL_ID_ALLOWANCE,
        "CreatedAt": "2026-11-28T16:00:00.000+00:00",
        "Status": "IN_PROGRESS",
    }
    size = answer_size(event, job_id, job_data(largest))
    if size > MAX_ANSWER_BYTES:
        raise HarvestJobError(
            f"S3Destination.ManifestKey: too long for CloudFormation once JSON-escaped (the answer "
            f"would be {size} bytes, the limit is {MAX_ANSWER_BYTES}); use a shorter key or fewer "
            "non-ASCII characters"
        )


def create_harvest_job(
    client: MediaPackageClient, event: Mapping[str, Any], budget: Budget
) -> tuple[str, dict[str, str]]:
    """Create: the physical resource id (the job Id) and the attributes."""
    return _create(client, event, parse_properties(event.get("ResourceProperties")), budget)


def _create(
    client: MediaPackageClient, event: Mapping[str, Any], request: HarvestRequest, budget: Budget
) -> tuple[str, dict[str, str]]:
    """A new job for an already parsed request (Create, or Update with changed properties)."""
    try:
        rules.check_ended(request.end_time, budget.now, end_name="EndTime")
    except rules.HarvestRuleError as error:
        raise HarvestJobError(str(error)) from None
    job_id = request.harvest_job_id or _generated_id(event)
    _check_answer_fits(event, request, job_id)
    data = job_data(create_or_adopt(client, request, job_id, budget))
    if answer_size(event, job_id, data) > MAX_ANSWER_BYTES:
        raise HarvestJobError(
            f"Harvest job {job_id} was created, but its attributes exceed CloudFormation's "
            f"{MAX_ANSWER_BYTES}-byte answer"
        )
    return job_id, data


def _old_request(event: Mapping[str, Any]) -> HarvestRequest | None:
    try:
        return parse_properties(event.get("OldResourceProperties"))
    except HarvestJobError:
        return None


def _same_harvest(one: HarvestRequest, other: HarvestRequest) -> bool:
    return dataclasses.replace(one, harvest_job_id=None) == dataclasses.replace(other, harvest_job_id=None)


def update_harvest_job(
    client: MediaPackageClient, event: Mapping[str, Any], budget: Budget
) -> tuple[str, dict[str, str]]:
    """Update: keep the job when its harvest properties are unchanged, else create a new one.

    CloudFormation sends Update when any property changes, ServiceToken included (a new handler),
    and in rollback. A returned physical id that differs from the old one means replacement:
    CloudFormation then sends Delete for the old job, which Delete only acknowledges.
    """
    request = parse_properties(event.get("ResourceProperties"))
    physical_id = str(event.get("PhysicalResourceId") or "")
    keeps_id = request.harvest_job_id in (None, physical_id)
    current = describe_job(client, physical_id)
    if current is not None:
        changed = differences(request, current)
        if not changed and keeps_id:
            logger.info(
                {"message": "Harvest properties unchanged: keeping the job", "harvestJobId": physical_id}
            )
            return physical_id, job_data(current)
        if request.harvest_job_id == physical_id:
            raise HarvestJobError(
                f"Id {physical_id} is kept but {', '.join(changed)} changed: a harvest job cannot be "
                "changed and its Id cannot be reused for 90 days; "
                "set a new Id, or none to get a generated one"
            )
    else:
        old = _old_request(event)
        if old is not None and keeps_id and _same_harvest(request, old):
            # MediaPackage forgets a job after 90 days; re-harvesting that old window would fail.
            logger.info(
                {"message": "Job record expired, harvest unchanged: keeping it", "harvestJobId": physical_id}
            )
            return physical_id, expired_job_data(event, request, physical_id)
    return _create(client, event, request, budget)


def expired_job_data(event: Mapping[str, Any], request: HarvestRequest, job_id: str) -> dict[str, str]:
    """The attributes of a job whose record MediaPackage no longer keeps: what is still known."""
    arguments = request.create_arguments(job_id)
    return job_data({**arguments, "Arn": _job_arn(event, job_id), "Status": EXPIRED_STATUS})


def _generated_id(event: Mapping[str, Any]) -> str:
    return rules.generated_harvest_job_id(
        str(event.get("StackId", "")),
        str(event.get("LogicalResourceId", "")),
        str(event.get("RequestId", "")),
    )


#: botocore's settings for every MediaPackage call (see :func:`mediapackage_client`).
MAX_ATTEMPTS, CONNECT_TIMEOUT, READ_TIMEOUT = 4, 2, 5
#: The longest one call can take: every attempt timing out, with botocore's throttling backoff
#: (at most 1, 2, 4 s) between them: 4 x (2 + 5) + 7 = 35 s.
CALL_SECONDS = MAX_ATTEMPTS * (CONNECT_TIMEOUT + READ_TIMEOUT) + sum(2**n for n in range(MAX_ATTEMPTS - 1))
#: The wait between CreateHarvestJob calls still refused with TooManyRequestsException after
#: botocore's attempts: random between 0 and a ceiling that doubles from 2 s up to 60 s. A slot
#: freed by a finishing job is taken within about a minute, and 40 resources waiting together make
#: about 40 x 4 attempts / (30 s mean wait + 3.5 s of botocore backoff) = 5 requests a second.
QUOTA_BACKOFF_BASE, QUOTA_BACKOFF_CAP = 2.0, 60.0
#: Seconds of an invocation kept for finishing: no wait is started that could end later than
#: ``remaining time - ANSWER_MARGIN_SECONDS``. The worst case after it: the DescribeHarvestJob
#: under way, then PutRule and PutTargets to hand over to the poller (3 x ``CALL_SECONDS``), and
#: the answer, all before crhelper's own timer (0.5 s before the deadline) answers FAILED.
ANSWER_MARGIN_SECONDS = 3 * CALL_SECONDS + 15.0


@functools.cache
def mediapackage_client() -> MediaPackageClient:
    """One client per container, created the standard way (``AWS_ENDPOINT_URL_MEDIAPACKAGE`` works).

    botocore's standard retry mode handles what passes in seconds: a burst of throttling
    (TooManyRequestsException, backoff up to 1, 2, 4 s) and of 5xx. 4 attempts: a burst of 3
    errors is survived, and with 30% of requests throttled a call gives up less than 1% of the
    time. 2 s to connect (an AWS endpoint connects in milliseconds; this covers a lost packet)
    and 5 s to read (MediaPackage answers these calls in well under a second). Bounded: one call
    takes at most ``CALL_SECONDS`` (35 s).

    What does not pass in seconds is MediaPackage's quota of concurrent harvest jobs (10 by
    default): CreateHarvestJob answers TooManyRequestsException, like throttling, until a running
    job finishes, minutes later. :func:`create_or_adopt` waits for that within the event's budget:
    in the 10-minute function, the budget (8 minutes: ``ANSWER_MARGIN_SECONDS`` is kept) less room
    for two more calls (70 s) leaves about 6.8 minutes of waiting before a FAILED answer that names
    the quota.
    """
    return boto3.client("mediapackage", config=_bounded_config())


def _bounded_config() -> Config:
    """botocore's settings for every call the handler makes: at most ``CALL_SECONDS`` a call."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        user_agent_extra="cdk-mediapackage-harvest",
    )


#: Seconds between two DescribeHarvestJob calls while waiting.
POLL_INTERVAL_SECONDS = 5.0
#: Seconds one scheduled poll keeps polling: under the rule's one minute, so polls do not usually
#: overlap (when they do, both answer the same, and removing a removed rule is not an error).
POLLER_INVOCATION_SECONDS = 45.0
POLL_SCHEDULE = "rate(1 minute)"
DEFAULT_COMPLETION_TIMEOUT_SECONDS = contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS
MAX_COMPLETION_TIMEOUT_SECONDS = 3600
#: EventBridge's limits on a rule name and on a target's input.
MAX_RULE_NAME = 64
MAX_TARGET_INPUT = 8192
#: The environment variable holding the rule-name prefix the function's policy allows.
POLL_RULE_PREFIX_VARIABLE = contract.Environment.POLL_RULE_PREFIX
POLL_TARGET_ID = "1"
#: crhelper's keys in a scheduled poll's event, and ours.
POLL_KEY = "CrHelperPoll"
POLL_RULE_KEY = "CrHelperRule"
REMOVAL_ATTEMPTS = 3
REMOVAL_PAUSE_SECONDS = 1.0
POLL_DATA_KEY = "CrHelperData"
WAIT_KEY = "HarvestJobWait"
#: What a scheduled poll keeps of the original event (crhelper needs these to answer and log).
_POLL_EVENT_KEYS = (
    "RequestType",
    "ResponseURL",
    "StackId",
    "RequestId",
    "LogicalResourceId",
    "PhysicalResourceId",
    "ResourceType",
)
FAILED_JOB_HINT = (
    "MediaPackage gives the cause only in the 'MediaPackage HarvestJob Notification' event "
    "(EventBridge, source aws.mediapackage)"
)


@dataclass(frozen=True)
class PendingWait:
    """A job being waited for: its Id, the wall-clock deadline (epoch seconds) and the timeout."""

    job_id: str
    deadline: float
    timeout_seconds: int

    def as_event(self) -> dict[str, Any]:
        return {"Id": self.job_id, "Deadline": self.deadline, "TimeoutSeconds": self.timeout_seconds}

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> PendingWait:
        state = event.get(WAIT_KEY)
        if isinstance(state, Mapping):
            job_id, deadline, timeout = state.get("Id"), state.get("Deadline"), state.get("TimeoutSeconds")
            if isinstance(job_id, str) and isinstance(deadline, int | float) and isinstance(timeout, int):
                return cls(job_id, float(deadline), timeout)
        raise HarvestJobError(f"The poll event has no valid {WAIT_KEY} (Id, Deadline and TimeoutSeconds)")


def completion_timeout(properties: object) -> int | None:
    """The seconds to wait for the job (``WaitForCompletion``, ``CompletionTimeout``); None: no wait.

    Both are optional: without ``WaitForCompletion`` the handler does not wait.
    """
    if not isinstance(properties, Mapping):
        return None
    wait = properties.get("WaitForCompletion", "false")
    if wait not in ("true", "false"):
        raise HarvestJobError(f"Property WaitForCompletion is {wait!r}; expected 'true' or 'false'")
    timeout = properties.get("CompletionTimeout", str(DEFAULT_COMPLETION_TIMEOUT_SECONDS))
    whole = isinstance(timeout, str) and timeout.isascii() and timeout.isdigit() and len(timeout) <= 4
    if not whole or not 1 <= int(timeout) <= MAX_COMPLETION_TIMEOUT_SECONDS:
        raise HarvestJobError(
            f"Property CompletionTimeout is {timeout!r}; expected whole seconds from 1 to "
            f"{MAX_COMPLETION_TIMEOUT_SECONDS}"
        )
    return int(timeout) if wait == "true" else None


def wait_for_job(
    client: MediaPackageClient,
    pending: PendingWait,
    budget: Budget,
    *,
    first_look_after: float = 0.0,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> HarvestJob | None:
    """Poll DescribeHarvestJob every ``POLL_INTERVAL_SECONDS``: the job once SUCCEEDED, or None
    when the budget ends first (the caller hands over to the poller).

    FAILED, the deadline passing and a job that no longer exists raise :class:`HarvestJobError`.
    """
    sleep = sleep or time.sleep
    clock = clock or time.time
    job_id = pending.job_id
    if first_look_after > 0:
        if budget.left() < first_look_after:
            return None
        sleep(min(first_look_after, max(0.0, pending.deadline - clock())))
    while True:
        try:
            job = describe_job(client, job_id)
        except (HarvestJobError, BotoCoreError) as error:
            if not _transient(error.__cause__ if isinstance(error, HarvestJobError) else error):
                raise
            # Throttled or 5xx past botocore's retries: the job runs on; look again next time.
            logger.warning({"message": "DescribeHarvestJob failed; polling on", "error": str(error)})
            job = {"Status": "not known (DescribeHarvestJob failing)"}
        if job is None:
            raise HarvestJobError(f"Harvest job {job_id} was not found while waiting for it")
        status = job.get("Status")
        if status == "SUCCEEDED":
            logger.info({"message": "Harvest job succeeded", "harvestJobId": job_id})
            return job
        if status == "FAILED":
            raise HarvestJobError(f"Harvest job {job_id} failed. {FAILED_JOB_HINT}")
        until_deadline = pending.deadline - clock()
        if until_deadline <= 0:
            raise HarvestJobError(
                f"Harvest job {job_id} was still {status} when the completion timeout of "
                f"{pending.timeout_seconds} s ended; it goes on in MediaPackage. Raise "
                "completion_timeout, or set wait_for_completion=False"
            )
        pause = min(POLL_INTERVAL_SECONDS, until_deadline)
        if budget.left() < pause:
            return None
        sleep(pause)


def _transient(error: BaseException | None) -> bool:
    """Throttling, a 5xx or a connection failure: worth asking again later."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return _error_code(error) == THROTTLED or status >= 500
    return isinstance(error, BotoCoreError)


def poll_rule_prefix() -> str:
    """The function's rule-name prefix, from its environment (the construct sets it)."""
    prefix = os.environ.get(POLL_RULE_PREFIX_VARIABLE, "")
    if not prefix or len(prefix) > MAX_RULE_NAME - 20:
        raise HarvestJobError(
            f"environment variable {POLL_RULE_PREFIX_VARIABLE} is {prefix!r}; expected the rule-name "
            f"prefix of at most {MAX_RULE_NAME - 20} characters that the function's policy allows"
        )
    return prefix


def poll_rule_name(prefix: str, logical_id: str) -> str:
    """``prefix`` + as much of the logical id as fits + ``-`` + 8 random characters: at most 64."""
    # Not a secret: only unique among the stack's rules, as crhelper's own suffix.
    suffix = "-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=8))  # noqa: S311
    readable = "".join(character for character in logical_id if character.isascii() and character.isalnum())
    return prefix + readable[: MAX_RULE_NAME - len(prefix) - len(suffix)] + suffix


def poll_event(event: Mapping[str, Any], pending: PendingWait, rule_arn: str) -> dict[str, Any]:
    """A scheduled poll's event: what crhelper needs to answer, and the job to wait for.

    The properties stay out (a poll describes the job again), so the input stays well under
    EventBridge's 8192 characters whatever the manifest key.
    """
    return {
        **{key: event[key] for key in _POLL_EVENT_KEYS if key in event},
        POLL_KEY: True,
        POLL_RULE_KEY: rule_arn,
        POLL_DATA_KEY: {},
        WAIT_KEY: pending.as_event(),
    }


def unqualified_function_arn(context: object) -> str:
    """The function's ARN without a version or alias: what the rule targets and the policy names."""
    return ":".join(str(getattr(context, "invoked_function_arn", "")).split(":")[:7])


@functools.cache
def _events_client() -> EventBridgeClient:
    """EventBridge, for the poller's rule: bounded like MediaPackage (``CALL_SECONDS`` a call)."""
    return boto3.client("events", config=_bounded_config())


#: Seconds before the Lambda deadline at which crhelper's timer answers FAILED (at most a quarter
#: of the invocation's time); crhelper's own 0.5 s leaves no room to retry that answer.
TIMEOUT_ANSWER_SECONDS = 3.0
#: Answering stops trying this long before the deadline, so the invocation ends by itself.
SEND_DEADLINE_MARGIN_SECONDS = 0.1
#: One PUT's socket timeout, and the exponential backoff (full jitter) between PUTs.
SEND_ATTEMPT_TIMEOUT_SECONDS = 5.0
SEND_BACKOFF_BASE_SECONDS = 0.2
SEND_BACKOFF_MAX_SECONDS = 5.0
#: What every CloudFormation event carries besides RequestType and ResponseURL.
_ENVELOPE_KEYS = ("StackId", "RequestId", "LogicalResourceId")
_REQUEST_TYPES = ("Create", "Update", "Delete")


def _envelope_text(event: Mapping[str, Any], key: str) -> str:
    value = event.get(key)
    return value if isinstance(value, str) else ""


def response_url_problem(event: object) -> str | None:
    """Why an event cannot be answered at all (never quoting the URL, a credential), or None."""
    if not isinstance(event, dict):
        return f"the event is a {type(event).__name__}, not an object"
    url = event.get("ResponseURL")
    if not isinstance(url, str):
        return "it has no ResponseURL" if url is None else f"its ResponseURL is a {type(url).__name__}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme != "https"
        or not parts.hostname
        or not url.isascii()
        or not url.isprintable()
        or " " in url
    ):
        return "its ResponseURL is not an https URL"
    return None


def envelope_problem(event: Mapping[str, Any]) -> str | None:
    """What is missing or wrong among the keys every CloudFormation event has, or None."""
    problems = []
    request_type = event.get("RequestType")
    if request_type not in _REQUEST_TYPES:
        shown = f"{request_type!r:.40}" if "RequestType" in event else "missing"
        problems.append(f"RequestType {shown} is not one of {', '.join(_REQUEST_TYPES)}")
    for key in _ENVELOPE_KEYS:
        value = event.get(key)
        if key not in event:
            problems.append(f"{key} is missing")
        elif not isinstance(value, str):
            problems.append(f"{key} is a {type(value).__name__}; expected a string")
        elif not value:
            problems.append(f"{key} is empty")
    return "; ".join(problems) or None


def timeout_reason(event: Mapping[str, Any], context: object) -> str:
    """The Reason sent when the function is about to run out of time."""
    request_type = _envelope_text(event, "RequestType") or "request"
    function = getattr(context, "function_name", "") or "the handler function"
    return reason(
        HarvestJobError(
            f"Timed out: the handler ran out of time during this {request_type} (MediaPackage slow, "
            f"throttled or unreachable?). Retry the deployment; the log group of {function} shows "
            "the last step"
        )
    )


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context per container: crhelper builds one per answer, loading the CA bundle each time."""
    return ssl.create_default_context()


def put_answer(url: str, body: Mapping[str, Any], *, stop_at: float) -> bool:
    """PUT crhelper's answer body to the ResponseURL; True once CloudFormation's S3 took it (2xx).

    Connection errors, 408, 429 and 5xx are retried with exponential backoff and full jitter until
    ``stop_at`` (a ``time.monotonic()`` instant); another status ends at once (a 403 stays a 403).
    The URL is a credential: only its host is ever logged.
    """
    payload = json.dumps(body, default=str)  # ASCII, as crhelper sends it
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"content-type": "", "content-length": str(len(payload))}
    attempts, problem = 0, "no time left"
    while (timeout := min(SEND_ATTEMPT_TIMEOUT_SECONDS, stop_at - time.monotonic())) > 0:
        attempts += 1
        connection = http.client.HTTPSConnection(parts.netloc, timeout=timeout, context=_ssl_context())
        try:
            connection.request("PUT", target, body=payload, headers=headers)
            status = connection.getresponse().status
        except OSError as error:  # refused, reset, timed out, TLS: messages without the URL
            problem = f"{type(error).__name__}: {error}"
        except http.client.HTTPException as error:
            problem = type(error).__name__
        else:
            if 200 <= status < 300:
                logger.info(
                    {"message": "Answered CloudFormation", "status": body.get("Status"), "attempts": attempts}
                )
                return True
            problem = f"HTTP {status}"
            if status < 500 and status not in (408, 429):
                break
        finally:
            connection.close()
        ceiling = min(SEND_BACKOFF_MAX_SECONDS, SEND_BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))
        pause = random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography
        if time.monotonic() + pause >= stop_at:
            break
        time.sleep(pause)
    logger.error(
        {
            "message": "Could not answer CloudFormation; it will wait for its timeout",
            "host": parts.hostname,
            "status": body.get("Status"),
            "attempts": attempts,
            "lastProblem": problem,
        }
    )
    return False


def reason(error: BaseException) -> str:
    """The Reason for a FAILED answer: the useful part first, cut to what crhelper keeps whole."""
    if isinstance(error, HarvestJobError):
        text = str(error)
    elif isinstance(error, ClientError):
        text = _error_text(error)
    else:
        text = f"{type(error).__name__}: {error}"
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 3] + "..."


def _respond(
    action: Callable[[MediaPackageClient, Mapping[str, Any], Budget], tuple[str, dict[str, str]]],
    event: Mapping[str, Any],
    context: object,
) -> str:
    """Run Create or Update; with waiting on, wait for a new job until done or out of time."""
    try:
        timeout = completion_timeout(event.get("ResourceProperties"))
        budget = Budget.of(context)
        client = mediapackage_client()
        physical_id, data = action(client, event, budget)
        # A new job: every Create, and an Update that replaced the job. A kept job never waits.
        replaced = physical_id != str(event.get("PhysicalResourceId") or "")
        if timeout is not None and replaced and data.get("Status") != EXPIRED_STATUS:
            pending = PendingWait(physical_id, budget.now.timestamp() + timeout, timeout)
            # Just created: look after one interval (a job takes longer; a read right after the
            # create could also miss it). An adopted job that already finished: look at once.
            finished = data.get("Status") in ("SUCCEEDED", "FAILED")
            first_look = 0.0 if finished else POLL_INTERVAL_SECONDS
            job = wait_for_job(client, pending, budget, first_look_after=first_look)
            if job is None:
                helper.pending = pending
            else:
                data = job_data(job)
    except Exception as error:
        raise HarvestJobError(reason(error)) from error
    helper.Data.update(data)
    return physical_id


@helper.create
def create(event: Mapping[str, Any], context: object) -> str:
    return _respond(create_harvest_job, event, context)


@helper.update
def update(event: Mapping[str, Any], context: object) -> str:
    return _respond(update_harvest_job, event, context)


@helper.poll_create
@helper.poll_update
def poll(event: Mapping[str, Any], context: object) -> str | None:
    """A scheduled poll: the job's Id once it succeeded, None while it runs (crhelper polls again)."""
    helper.Data.clear()  # crhelper's own bookkeeping from CrHelperData
    try:
        pending = PendingWait.from_event(event)
        budget = Budget.of(context)
        budget = dataclasses.replace(
            budget, stop_at=min(budget.stop_at, time.monotonic() + POLLER_INVOCATION_SECONDS)
        )
        job = wait_for_job(mediapackage_client(), pending, budget)
    except Exception as error:
        raise HarvestJobError(reason(error)) from error
    if job is None:
        return None
    helper.Data.update(job_data(job))
    return pending.job_id


@helper.delete
def delete(event: Mapping[str, Any], _context: object) -> None:
    # Harvest jobs cannot be deleted: MediaPackage keeps the record for 90 days. Answering at
    # once (no API call) also lets the Delete after a failed Create succeed for any physical id.
    logger.info(
        {
            "message": "Harvest jobs cannot be deleted; nothing to do",
            "harvestJobId": event.get("PhysicalResourceId"),
        }
    )


def handler(event: Any, context: object) -> None:
    """The Lambda entry point: any event, answered once or, when it has no ResponseURL, logged."""
    helper(event, context)
