"""The poller's EventBridge rules: their names, the scheduled poll's event, set-up and removal.

A job still running when its first invocation must stop is handed to a rule that invokes the
function every minute with a small event (crhelper's ``CrHelperPoll`` keys and the wait's state),
until a poll answers. Imports ``waiting`` (the wait's state), ``answering`` (RequestError), ``outbound``,
the contract module and the standard library; knows no job fields.
"""

from __future__ import annotations

import json
import logging
import os
import random
import string
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


def rule_name(rule_prefix: str, logical_id: str) -> str:
    """``prefix`` + as much of the logical id as fits + ``-`` + 8 random characters: at most 64."""
    # Not a secret: only unique among the stack's rules, as crhelper's own suffix.
    suffix = "-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=8))  # noqa: S311
    readable = "".join(character for character in logical_id if character.isascii() and character.isalnum())
    return rule_prefix + readable[: contract.MAX_RULE_NAME - len(rule_prefix) - len(suffix)] + suffix


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
    name = rule_name(prefix(), str(event.get("LogicalResourceId", "")))
    event[RULE_KEY] = outbound.events_client().put_rule(
        Name=name,
        ScheduleExpression=contract.POLL_SCHEDULE,
        State="ENABLED",
        Description=f"Polls MediaPackage harvest job {pending.job_id} until it finishes",
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
