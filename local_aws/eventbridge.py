"""EventBridge's scheduler for the local AWS: what a scheduled rule's next tick would invoke.

moto stores rules, targets and Lambda resource policies but runs nothing. ``Scheduler.tick()`` does
what EventBridge would on the next minute: for every enabled scheduled rule whose target is a known
function, it invokes the function with the target's input, but only if the function's resource
policy lets ``events.amazonaws.com`` invoke it from that rule (as Lambda would refuse otherwise).
"""

from __future__ import annotations

import fnmatch
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from local_aws.lambda_runtime import Function, Invocation
from local_aws.server import LocalAws

_LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def register(aws: LocalAws, function: Function) -> None:
    """Create the function in the local AWS under its name, with its template's invoke permissions.

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
