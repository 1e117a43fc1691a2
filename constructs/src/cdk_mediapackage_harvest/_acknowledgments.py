"""Why the library's own IAM wildcards are needed, told to policy checkers where each arises.

cdk-nag's ``AwsSolutions-IAM5`` reports every wildcard in an IAM policy's resources as one finding,
``AwsSolutions-IAM5[Resource::<resource>]``, with intrinsic functions written as cdk-nag writes
them (``<Logical.Arn>``, ``<AWS::Region>``). The library acknowledges its own wildcards, each with
its reason, through aws-cdk-lib's ``Validations`` (cdk-nag is not a dependency), so that a user who
runs cdk-nag sees only the findings of their own resources. An acknowledgment names one exact
resource: a wildcard the library did not mean is still reported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import Construct

WILDCARD_RULE = "AwsSolutions-IAM5"


def acknowledge_wildcard_resources(scope: Construct, resources: Sequence[object], reason: str) -> None:
    """Acknowledge each wildcard among a statement's ``resources`` on ``scope``, the policy or role
    that holds it."""
    stack = Stack.of(scope)
    for resource in resources:
        written = as_cdk_nag_writes(stack.resolve(resource))
        if "*" in written:
            finding = f"{WILDCARD_RULE}[Resource::{written}]"
            Validations.of(scope).acknowledge(Acknowledgment(id=finding, reason=reason))


def as_cdk_nag_writes(value: Any) -> str:
    """A resolved policy resource flattened to one string, the way cdk-nag names it in a finding."""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(as_cdk_nag_writes(part) for part in parts)
        if function in ("Fn::Sub", "Fn::ImportValue"):
            return as_cdk_nag_writes(argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument
            return f"<{as_cdk_nag_writes(logical_id)}.{as_cdk_nag_writes(attribute)}>"
        if function == "Ref":
            return f"<{as_cdk_nag_writes(argument)}>"
    return json.dumps(value, separators=(",", ":"))
