"""EventBridge for the local AWS: what a scheduled rule's next tick would invoke, and where an event
a service sends goes.

moto stores rules, targets and Lambda resource policies but runs nothing. ``Scheduler.tick()`` does
what EventBridge would on the next minute: for every enabled scheduled rule whose target is a known
function, it invokes the function with the target's input, but only if the function's resource
policy lets ``events.amazonaws.com`` invoke it from that rule (as Lambda would refuse otherwise).
``Bus.put(event)`` does what EventBridge does with a service's event: every enabled rule whose event
pattern matches it (the subset of patterns used here: exact values, ``prefix``, ``exists``, nested
objects) invokes its function targets asynchronously, as Lambda runs an asynchronous invocation,
with the event itself (or the target's ``Input``), under the same resource policy check.
"""

from __future__ import annotations

import fnmatch
import io
import json
import threading
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local_aws.lambda_runtime import Function, Invocation
from local_aws.server import LocalAws

_LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def register(aws: LocalAws, function: Function, rules: Iterable[TemplateRule] = ()) -> None:
    """Create the function in the local AWS under its name, with its template's invoke permissions,
    its log group, and the template's rules that target it (``rules``).

    Its code there is a placeholder: invocations run ``function`` from its asset (``Scheduler``).
    """
    role = aws.client("iam").create_role(
        RoleName=f"{function.name[:40]}-role", AssumeRolePolicyDocument=json.dumps(_LAMBDA_TRUST)
    )
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("placeholder.py", "")
    client = aws.client("lambda")
    client.create_function(
        FunctionName=function.name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="placeholder.handler",
        Code={"ZipFile": code.getvalue()},
    )
    for number, (principal, source_arn) in enumerate(function.invoke_permissions):
        client.add_permission(
            FunctionName=function.name,
            StatementId=f"template-{number}",
            Action="lambda:InvokeFunction",
            Principal=principal,
            SourceArn=source_arn,
        )
    aws.client("logs").create_log_group(logGroupName=function.log_group)
    events = aws.client("events")
    for rule in rules:
        events.put_rule(Name=rule.name, EventPattern=json.dumps(rule.pattern), State="ENABLED")
        events.put_targets(Rule=rule.name, Targets=[{"Id": rule.target_id, "Arn": function.arn}])


@dataclass(frozen=True)
class TemplateRule:
    """A rule of the template (CloudFormation names it), with its pattern and its function target."""

    name: str
    pattern: Mapping[str, Any]
    target_id: str


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether ``event`` matches an EventBridge event pattern (exact values, ``prefix``, ``exists``,
    nested objects; a list in the event matches when one of its items does)."""
    for key, wanted in pattern.items():
        present = key in event
        value = event.get(key)
        if isinstance(wanted, Mapping):
            if not (isinstance(value, Mapping) and matches(wanted, value)):
                return False
            continue
        values = value if isinstance(value, list) else [value]
        if not any(_matches_one(option, item, present) for option in wanted for item in values):
            return False
    return True


def _matches_one(option: Any, value: Any, present: bool) -> bool:
    if isinstance(option, Mapping):
        if "prefix" in option:
            return isinstance(value, str) and value.startswith(option["prefix"])
        if "exists" in option:
            return bool(option["exists"]) == present
        raise ValueError(f"pattern operator not supported locally: {option}")
    return present and option == value


@dataclass(frozen=True)
class Tick:
    """One rule's invocation of one target."""

    rule: str
    event: dict[str, Any]
    invocation: Invocation


class Scheduler:
    """Ticks of every scheduled rule in the local AWS's default event bus, for the given functions."""

    def __init__(self, aws: LocalAws, functions: Iterable[Function]) -> None:
        self.aws = aws
        self.functions = {function.arn: function for function in functions}

    def rules(self, prefix: str = "") -> list[dict[str, Any]]:
        events = self.aws.client("events")
        found: list[dict[str, Any]] = []
        for page in events.get_paginator("list_rules").paginate(**({"NamePrefix": prefix} if prefix else {})):
            found.extend(page["Rules"])
        return found

    def targets(self, rule: str) -> list[dict[str, Any]]:
        targets: list[dict[str, Any]] = self.aws.client("events").list_targets_by_rule(Rule=rule)["Targets"]
        return targets

    def statements(self, function: Function) -> list[dict[str, Any]]:
        """The function's resource policy statements (none when it has no policy)."""
        client = self.aws.client("lambda")
        try:
            policy = client.get_policy(FunctionName=function.name)["Policy"]
        except client.exceptions.ResourceNotFoundException:
            return []
        statements: list[dict[str, Any]] = json.loads(policy)["Statement"]
        return statements

    def allowed(self, function: Function, rule_arn: str) -> bool:
        """Whether the function's resource policy lets EventBridge invoke it for this rule (ArnLike)."""
        return any(
            statement.get("Effect") == "Allow"
            and statement.get("Action") == "lambda:InvokeFunction"
            and statement.get("Principal") == {"Service": "events.amazonaws.com"}
            and fnmatch.fnmatchcase(
                rule_arn, statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn", "")
            )
            for statement in self.statements(function)
        )

    def tick(self) -> list[Tick]:
        """Invoke every target of every enabled scheduled rule once, as the next minute would."""
        ticks = []
        for rule in self.rules():
            if rule.get("State") != "ENABLED" or not rule.get("ScheduleExpression"):
                continue
            for target in self.targets(rule["Name"]):
                function = self.functions.get(target["Arn"])
                if function is None:
                    continue
                if not self.allowed(function, rule["Arn"]):
                    raise PermissionError(f"{function.name} does not allow rule {rule['Name']} to invoke it")
                event = json.loads(target.get("Input", "{}"))
                ticks.append(
                    Tick(
                        rule["Name"],
                        event,
                        function.invoke(event, invocation_id=event.get("RequestId", "tick")),
                    )
                )
        return ticks


@dataclass
class Bus:
    """The default event bus: a service's events delivered to the functions whose rules match them."""

    aws: LocalAws
    functions: Iterable[Function]
    deliveries: list[Tick] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, event: Mapping[str, Any]) -> None:
        """Deliver ``event`` to every matching rule's function targets, each in a thread of its own."""
        scheduler = Scheduler(self.aws, self.functions)
        for rule in scheduler.rules():
            pattern = rule.get("EventPattern")
            if rule.get("State") != "ENABLED" or not pattern or not matches(json.loads(pattern), event):
                continue
            for target in scheduler.targets(rule["Name"]):
                function = scheduler.functions.get(target["Arn"])
                if function is None:
                    continue
                if not scheduler.allowed(function, rule["Arn"]):
                    raise PermissionError(f"{function.name} does not allow rule {rule['Name']} to invoke it")
                delivered = json.loads(target["Input"]) if "Input" in target else dict(event)
                thread = threading.Thread(
                    target=self._invoke, args=(function, rule["Name"], delivered), daemon=True
                )
                with self._lock:
                    self._threads.append(thread)
                thread.start()

    def _invoke(self, function: Function, rule: str, event: dict[str, Any]) -> None:
        invocation = function.invoke(event, invocation_id=str(event.get("id", "event")))
        with self._lock:
            self.deliveries.append(Tick(rule, event, invocation))

    def wait(self, timeout: float = 60.0) -> list[Tick]:
        """Wait for every delivery started so far to end; all deliveries so far."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        with self._lock:
            return list(self.deliveries)
