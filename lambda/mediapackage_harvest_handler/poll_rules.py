"""The poller's EventBridge rules: their names, the scheduled poll's event, set-up and removal.

A job still running when its first invocation must stop is handed to a rule that invokes the
function every minute with a small event (crhelper's ``CrHelperPoll`` keys and the wait's state),
until a poll answers. Imports ``waiting`` (the wait's state), ``answering`` (RequestError), ``outbound``,
the contract module and the standard library; knows no job fields.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import cdk_mediapackage_harvest_contract as contract
from botocore.exceptions import ClientError

from mediapackage_harvest_handler import outbound
from mediapackage_harvest_handler.answering import RequestError
from mediapackage_harvest_handler.waiting import WAIT_KEY, PendingWait

logger = logging.getLogger(__name__)

TARGET_ID = "1"
#: crhelper's keys in a scheduled poll's event: it routes the event to the poll function on
#: ``POLL_KEY``; ``RULE_KEY`` holds the rule's ARN (crhelper's name; the rule is ours).
POLL_KEY = "CrHelperPoll"
RULE_KEY = "CrHelperRule"
#: What a scheduled poll keeps of the original event (what answering and logging need; no properties).
_KEPT_KEYS = (
    "RequestType",
    "ResponseURL",
    "StackId",
    "RequestId",
    "LogicalResourceId",
    "PhysicalResourceId",
    "ResourceType",
)


def prefix() -> str:
    """The function's rule-name prefix, from its environment (the construct sets it)."""
    variable = contract.Environment.POLL_RULE_PREFIX
    value = os.environ.get(variable, "")
    if not value or len(value) > contract.MAX_POLL_RULE_PREFIX_LENGTH:
        raise RequestError(
            f"environment variable {variable} is {value!r:.80}; expected the rule-name prefix of at most "
            f"{contract.MAX_POLL_RULE_PREFIX_LENGTH} characters that the function's policy allows"
        )
    return value


def rule_name(rule_prefix: str, job_id: str) -> str:
    """``prefix`` + a hex digest of the job's Id: at most 64 characters, and the same for every
    invocation about the job, so that its notification finds the rule that polls it."""
    digest = hashlib.sha256(job_id.encode("utf-8", errors="surrogatepass")).hexdigest()
    return rule_prefix + digest[: contract.POLL_RULE_DIGEST_LENGTH]


def poll_event(event: Mapping[str, Any], pending: PendingWait, rule_arn: str) -> dict[str, Any]:
    """A scheduled poll's event: what answering needs, and the wait's state.

    The properties stay out (a poll looks at the job again), so the input stays far under
    EventBridge's 8192 characters whatever the manifest key.
    """
    return {
        **{key: event[key] for key in _KEPT_KEYS if key in event},
        POLL_KEY: True,
        RULE_KEY: rule_arn,
        WAIT_KEY: pending.as_event(),
    }


def unqualified_function_arn(context: object) -> str:
    """The function's ARN without a version or alias: what the rule targets and the policy names."""
    return ":".join(str(getattr(context, "invoked_function_arn", "")).split(":")[:7])


def set_up(event: dict[str, Any], context: object, pending: PendingWait) -> str:
    """Create the rule and its target for a job still running; the rule's name.

    The rule's ARN is recorded in ``event`` at once, so that a failure after PutRule still removes it.
    """
    name = rule_name(prefix(), pending.job_id)
    logical_id = str(event.get("LogicalResourceId", ""))[:200]
    event[RULE_KEY] = outbound.events_client().put_rule(
        Name=name,
        ScheduleExpression=contract.POLL_SCHEDULE,
        State="ENABLED",
        Description=f"Polls MediaPackage harvest job {pending.job_id} ({logical_id}) until it finishes",
    )["RuleArn"]
    target_input = json.dumps(poll_event(event, pending, event[RULE_KEY]))
    if len(target_input) > contract.MAX_TARGET_INPUT:
        raise RequestError(
            f"the poller's input would be {len(target_input)} characters, over EventBridge's "
            f"{contract.MAX_TARGET_INPUT}"
        )
    _check_entries(
        "PutTargets",
        outbound.events_client().put_targets(
            Rule=name,
            Targets=[{"Id": TARGET_ID, "Arn": unqualified_function_arn(context), "Input": target_input}],
        ),
    )
    logger.info(
        {
            "message": "Harvest job still running: polling it every minute",
            "harvestJobId": pending.job_id,
            "rule": name,
        }
    )
    return name


def waiting_event(job_id: str) -> dict[str, Any] | None:
    """The poll event of the rule that polls this job, or None when no wait is on it (no such rule or
    target, or an input that is no poll event). Errors other than "not found" are raised."""
    try:
        answer = outbound.events_client().list_targets_by_rule(Rule=rule_name(prefix(), job_id))
    except ClientError as error:
        if outbound.error_code(error) == "ResourceNotFoundException":
            return None
        raise
    for target in answer.get("Targets", []):
        try:
            event = json.loads(target.get("Input") or "null")
        except ValueError:
            continue
        if target.get("Id") == TARGET_ID and isinstance(event, dict) and event.get(POLL_KEY) is True:
            state = event.get(WAIT_KEY)
            if isinstance(state, Mapping) and state.get("Id") == job_id:
                return event
    return None


def remove(event: Mapping[str, Any]) -> None:
    """Remove the rule's target, then the rule, if they exist; never raises.

    Each step is tried ``REMOVAL_ATTEMPTS`` times (EventBridge refuses concurrent changes of a
    rule). A target left behind fires again, and that poll answers again and retries this; a rule
    whose target is gone fires nothing and is only logged.
    """
    rule_arn = event.get(RULE_KEY)
    if not rule_arn:
        return
    name = str(rule_arn).rpartition("/")[2]
    steps: list[tuple[str, Callable[[], object]]] = [
        (
            "RemoveTargets",
            lambda: _check_entries(
                "RemoveTargets", outbound.events_client().remove_targets(Rule=name, Ids=[TARGET_ID])
            ),
        ),
        ("DeleteRule", lambda: outbound.events_client().delete_rule(Name=name)),
    ]
    for operation, step in steps:
        for attempt in range(1, contract.REMOVAL_ATTEMPTS + 1):
            try:
                step()
                break
            except ClientError as error:
                if outbound.error_code(error) == "ResourceNotFoundException":
                    break
                failure = outbound.error_text(error)
            except Exception as error:  # connection errors: logged, never the answer
                failure = f"{type(error).__name__}: {error}"
            logger.error(
                {"message": f"{operation} failed", "rule": name, "attempt": attempt, "error": failure}
            )
            if attempt < contract.REMOVAL_ATTEMPTS:
                time.sleep(contract.REMOVAL_PAUSE_SECONDS)
        else:
            logger.error({"message": f"Giving up: {operation}", "rule": name})
            return


def _check_entries(operation: str, answer: Mapping[str, Any]) -> None:
    """EventBridge reports a failed target in a successful answer: raise it."""
    if answer.get("FailedEntryCount"):
        entry = (answer.get("FailedEntries") or [{}])[0]
        raise RequestError(
            f"{operation} failed: {entry.get('ErrorCode', 'Error')}: {entry.get('ErrorMessage', '')}"
        )
