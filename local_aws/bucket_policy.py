"""Whether an S3 bucket policy lets an AWS service principal write objects: the check a local MediaPackage
v2 harvest job makes against the bucket's real policy in moto's S3 before it writes anything.

MediaPackage v2's harvest request carries no role: the service writes as the service principal
``mediapackagev2.amazonaws.com``, so the destination bucket's policy must allow it ``s3:PutObject``
(https://docs.aws.amazon.com/mediapackage/latest/userguide/live-to-vod.html; for the confused-deputy
conditions ``aws:SourceAccount``/``aws:SourceArn`` see
https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html). The evaluation follows IAM's
logic for a resource policy alone (https://docs.aws.amazon.com/IAM/latest/UserGuide/
reference_policies_evaluation-logic.html): a matching ``Deny`` wins, otherwise a matching ``Allow``
is needed, otherwise the request is implicitly denied. Understood: ``Principal``/``NotPrincipal`` (``*``,
``{"Service": ...}``, ``{"AWS": "*"}``), ``Action``/``NotAction`` and ``Resource``/``NotResource`` with
``*`` and ``?`` wildcards (actions case-insensitive), and the condition operators ``String(Not)Equals``,
``String(Not)EqualsIgnoreCase``, ``String(Not)Like``, ``Arn(Not)Equals``, ``Arn(Not)Like``, ``Bool`` and
``Null``, each with ``IfExists``, on the keys the request carries (``aws:SourceAccount``,
``aws:SourceArn``, ``aws:SecureTransport`` = true, ``aws:PrincipalServiceName``; keys are
case-insensitive). A condition on a key the request does not carry is false (true with ``IfExists``,
and for the negated operators), as in IAM. Anything else (another operator, ``ForAnyValue:`` or
``ForAllValues:``) is not guessed at: :class:`PolicyNotUnderstoodError` is raised, and the job fails
saying so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class PolicyNotUnderstoodError(ValueError):
    """The policy uses something this evaluator does not implement."""


@dataclass(frozen=True)
class Request:
    """One call a service principal makes on a resource, with its request context."""

    principal_service: str
    action: str
    resource: str
    context: Mapping[str, str]
    """Condition keys (lower-case names) and their values."""


def service_request(
    service: str, action: str, resource: str, source_account: str, source_arn: str
) -> Request:
    context = {
        "aws:sourceaccount": source_account,
        "aws:sourcearn": source_arn,
        "aws:securetransport": "true",
        "aws:principalservicename": service,
    }
    return Request(service, action, resource, context)


def decision(policy: str | bytes | None, request: Request) -> str:
    """``"ALLOW"``, ``"EXPLICIT_DENY"`` or ``"IMPLICIT_DENY"`` (also for no policy at all)."""
    if not policy:
        return "IMPLICIT_DENY"
    try:
        document = json.loads(policy)
    except ValueError as error:
        raise PolicyNotUnderstoodError(f"the bucket policy is not JSON ({error})") from None
    statements = _listed(document.get("Statement") if isinstance(document, dict) else None)
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict):
            raise PolicyNotUnderstoodError(f"a statement is not an object: {statement!r}")
        if not _applies(statement, request):
            continue
        if statement.get("Effect") == "Deny":
            return "EXPLICIT_DENY"
        allowed = allowed or statement.get("Effect") == "Allow"
    return "ALLOW" if allowed else "IMPLICIT_DENY"


def _applies(statement: dict[str, Any], request: Request) -> bool:
    return (
        _principal_matches(statement, request.principal_service)
        and _element_matches(statement, "Action", request.action, ignore_case=True)
        and _element_matches(statement, "Resource", request.resource, ignore_case=False)
        and _conditions_hold(statement.get("Condition") or {}, request.context)
    )


def _principal_matches(statement: dict[str, Any], service: str) -> bool:
    if "NotPrincipal" in statement:
        return not _names_principal(statement["NotPrincipal"], service)
    return _names_principal(statement.get("Principal"), service)


def _names_principal(principal: Any, service: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return "*" in _listed(principal.get("AWS")) or service in _listed(principal.get("Service"))


def _element_matches(statement: dict[str, Any], name: str, value: str, *, ignore_case: bool) -> bool:
    if f"Not{name}" in statement:
        return not any(_like(p, value, ignore_case) for p in _listed(statement[f"Not{name}"]))
    return any(_like(p, value, ignore_case) for p in _listed(statement.get(name)))


def _like(pattern: Any, value: str, ignore_case: bool) -> bool:
    """IAM's wildcard match: ``*`` any run of characters, ``?`` one character."""
    if not isinstance(pattern, str):
        return False
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six colon-separated parts matched on its own (the resource part keeps colons)."""
    pattern_parts, value_parts = pattern.split(":", 5), value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return False
    return all(_like(p, v, ignore_case=False) for p, v in zip(pattern_parts, value_parts, strict=True))


_TESTS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda expected, actual: expected == actual,
    "StringEqualsIgnoreCase": lambda expected, actual: expected.lower() == actual.lower(),
    "StringLike": lambda expected, actual: _like(expected, actual, ignore_case=False),
    "ArnEquals": lambda expected, actual: _arn_like(expected, actual),
    "ArnLike": lambda expected, actual: _arn_like(expected, actual),
    "Bool": lambda expected, actual: expected.lower() == actual.lower(),
}


def _conditions_hold(conditions: Any, context: Mapping[str, str]) -> bool:
    if not isinstance(conditions, dict):
        raise PolicyNotUnderstoodError(f"a Condition is not an object: {conditions!r}")
    return all(
        _condition_holds(operator, key, values, context)
        for operator, tests in conditions.items()
        for key, values in _pairs(operator, tests)
    )


def _pairs(operator: str, tests: Any) -> Iterable[tuple[str, Any]]:
    if not isinstance(tests, dict):
        raise PolicyNotUnderstoodError(f"condition {operator}: not an object of keys: {tests!r}")
    return tests.items()


def _condition_holds(operator: str, key: str, values: Any, context: Mapping[str, str]) -> bool:
    base, if_exists = (
        (operator[: -len("IfExists")], True) if operator.endswith("IfExists") else (operator, False)
    )
    expected = [str(v).lower() if isinstance(v, bool) else str(v) for v in _listed(values)]
    actual = context.get(key.lower())
    if base == "Null":  # true: the key must be absent; false: present
        return any((actual is None) == (value.lower() == "true") for value in expected)
    negated = base.replace("Not", "", 1) if base.startswith(("StringNot", "ArnNot")) else None
    test = _TESTS.get(negated or base)
    if test is None:
        raise PolicyNotUnderstoodError(f"the condition operator {operator!r} is not understood locally")
    if actual is None:  # as in IAM: a negated operator holds, any other does not (unless IfExists)
        return if_exists or negated is not None
    matched = any(test(value, actual) for value in expected)
    return not matched if negated else matched


def _listed(value: Any) -> list[Any]:
    """A policy element that may be one value or a list, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
