"""IAM policy documents written as aws-cdk-lib's L2 ``PolicyStatement`` and ``Policy`` write them, for the
handler's role, its policy and trust, without the L2's round trips to the CDK. May import aws-cdk-lib.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource
from constructs import Construct

POLICY_VERSION = "2012-10-17"


def statement(
    actions: list[str], resources: list[Any], conditions: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An IAM policy statement as the L2 ``PolicyStatement`` renders it (keys sorted, one action or
    resource as a string)."""
    rendered: dict[str, Any] = {"Action": actions[0] if len(actions) == 1 else actions}
    if conditions:
        rendered["Condition"] = conditions
    rendered["Effect"] = "Allow"
    rendered["Resource"] = resources[0] if len(resources) == 1 else resources
    return rendered


def trust(service: str) -> dict[str, Any]:
    """A role's trust policy: ``service`` may assume it."""
    return {
        "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": service}}],
        "Version": POLICY_VERSION,
    }


class Policy:
    """An ``AWS::IAM::Policy`` at ``<scope>/<id>/Resource`` attached to one role, whose statements
    can be added to; the CDK is told once per change (one round trip), not per statement built."""

    def __init__(self, scope: Construct, id: str, role_ref: str) -> None:
        self.construct = Construct(scope, id)
        self.statements: list[dict[str, Any]] = []
        self.resource = CfnResource(
            self.construct,
            "Resource",
            type="AWS::IAM::Policy",
            properties={
                "PolicyDocument": {"Statement": [], "Version": POLICY_VERSION},
                "PolicyName": "",
                "Roles": [role_ref],
            },
        )
        # The L2 names a policy after its own logical id.
        self.resource.add_property_override("PolicyName", self.resource.logical_id)

    def add(self, *statements: dict[str, Any]) -> None:
        self.statements.extend(statements)
        self.changed()

    def changed(self) -> None:
        self.resource.add_property_override("PolicyDocument.Statement", self.statements)
