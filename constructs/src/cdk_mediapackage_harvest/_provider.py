"""The handler behind every HarvestJob of a stack: one function, its role, log group and policy.

Found per stack in Python (no lookup in the construct tree per job), and what grows with the jobs
(the roles to pass) is kept in Python too, so that a job costs the CDK as few round trips as possible.
"""

from __future__ import annotations

import hashlib
import weakref
from typing import cast

import cdk_mediapackage_harvest_contract as contract
from aws_cdk import ArnFormat, CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct, IDependable

from cdk_mediapackage_harvest._acknowledgments import acknowledge_wildcard_resources
from cdk_mediapackage_harvest._asset import RUNTIME, handler_code
from cdk_mediapackage_harvest._synth import is_unresolved, stack_of

MEDIAPACKAGE_PRINCIPAL = "mediapackage.amazonaws.com"
#: The handler reads its EventBridge rule-name prefix from this variable.
POLL_RULE_PREFIX_VARIABLE = contract.Environment.POLL_RULE_PREFIX
#: Public contract: the id of the function's permission for the poller's rules.
POLL_PERMISSION_ID = contract.POLL_PERMISSION_ID


class HarvestJobProvider(Construct):
    """A stack's single handler for ``Custom::MediaPackageHarvestJob`` resources.

    Its settings are fixed, so every HarvestJob of the stack can share it; what differs per job
    (the destination roles to pass) is added to its one policy, which grows with the number of
    distinct roles, not of jobs.

    Deployment order: the function depends on that policy and on each destination role's policies,
    and every job's resource names the function (``ServiceToken``) and its role (``RoleArn``). So a
    job is created only once the handler may create it and MediaPackage may write to the bucket,
    and deleted while the handler still has its permissions, with no ``DependsOn`` of its own.
    """

    #: Public contract: changing it would replace every user's handler.
    ID = contract.PROVIDER_ID

    @classmethod
    def of(cls, scope: IConstruct) -> HarvestJobProvider:
        """The stack's provider, created on first use."""
        stack = stack_of(scope)
        provider = _PROVIDERS.get(stack)
        if provider is None:
            existing = stack.node.try_find_child(cls.ID)
            provider = existing if isinstance(existing, cls) else cls(stack, cls.ID)
            _PROVIDERS[stack] = provider
        return provider

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        stack = stack_of(scope)
        self.poll_rule_prefix = _poll_rule_prefix(self)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # An own role instead of Lambda's default, which carries a managed policy.
        role = iam.Role(
            self,
            "ServiceRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Runs the cdk-mediapackage-harvest custom resource handler",
        )
        self.log_group.grant_write(role)
        self.function = lambda_.Function(
            self,
            "Handler",
            description=f"Creates AWS Elemental MediaPackage harvest jobs ({contract.RESOURCE_TYPE})",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=contract.HANDLER,
            code=handler_code(),
            # Room for a Create to wait out the quota of concurrent jobs and then for its job
            # (polling every 5 s), keeping 2 minutes to hand a longer job to the poller and answer;
            # every call is bounded (at most 35 s each, botocore's retries included).
            timeout=Duration.seconds(contract.FUNCTION_TIMEOUT_SECONDS),
            memory_size=256,
            role=role,
            log_group=self.log_group,
            environment={POLL_RULE_PREFIX_VARIABLE: self.poll_rule_prefix},
        )
        # CreateHarvestJob has no resource type: the Service Authorization Reference allows only "*".
        create = iam.PolicyStatement(actions=["mediapackage:CreateHarvestJob"], resources=["*"])
        describe = iam.PolicyStatement(
            actions=["mediapackage:DescribeHarvestJob"],
            resources=[
                stack.format_arn(
                    service="mediapackage",
                    resource="harvest_jobs",
                    resource_name="*",
                    arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                )
            ],
        )
        self.policy = iam.Policy(self, "Policy", statements=[create, describe])
        role.attach_inline_policy(self.policy)
        # The function's own resource, not the Function construct: a dependency of the construct
        # would also hold back its children (the poll rules' permission).
        self._function_resource = cast(CfnResource, self.function.node.default_child)
        # The handler keeps its permissions until every job is gone: the jobs name the function,
        # so CloudFormation deletes them before it, and it before this policy.
        self._function_resource.node.add_dependency(self.policy)
        acknowledge_wildcard_resources(
            self.policy,
            create,
            "mediapackage:CreateHarvestJob has no resource type: IAM accepts only * for it "
            "(Service Authorization Reference)",
        )
        acknowledge_wildcard_resources(
            self.policy,
            describe,
            "mediapackage:DescribeHarvestJob on this account's harvest jobs in this region only: "
            "a job's Id is generated when CloudFormation creates it, so it is not known at synthesis",
        )
        self._pass_role: iam.PolicyStatement | None = None
        self._passed_roles: set[str] = set()
        self._polls = False
        #: The function's ARN, read once for every job's ServiceToken.
        self.service_token: str = self.function.function_arn

    def grant_pass_role(self, arn: str, dependable: IDependable) -> None:
        """Let the handler pass the role whose ARN is ``arn`` to MediaPackage, and only to
        MediaPackage; and have the function, so every job, wait for ``dependable``: what must exist
        before MediaPackage writes with the role (its policies; nothing for an imported role)."""
        if arn in self._passed_roles:
            return
        self._passed_roles.add(arn)
        self._function_resource.node.add_dependency(dependable)
        if self._pass_role is None:
            self._pass_role = iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[arn],
                conditions={"StringEquals": {"iam:PassedToService": MEDIAPACKAGE_PRINCIPAL}},
            )
            self.policy.add_statements(self._pass_role)
        else:
            self._pass_role.add_resources(arn)

    def enable_polling(self) -> None:
        """Let the handler poll a job that outlives its invocation: an EventBridge rule that invokes
        the function every minute, created and removed by the handler itself.

        The handler may manage only rules named with this provider's prefix, and only those rules
        may invoke the function: one permission for all of them, so that the handler never edits
        the function's resource policy at run time.
        """
        if self._polls:
            return
        self._polls = True
        rules = stack_of(self).format_arn(
            service="events",
            resource="rule",
            resource_name=f"{self.poll_rule_prefix}*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        poll_rules = iam.PolicyStatement(
            actions=["events:PutRule", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule"],
            resources=[rules],
        )
        self.policy.add_statements(poll_rules)
        acknowledge_wildcard_resources(
            self.policy,
            poll_rules,
            "the handler names each poll rule at deploy time (a job that outlives its invocation); "
            "only rules with this stack's own prefix",
        )
        self.function.add_permission(
            POLL_PERMISSION_ID,
            principal=iam.ServicePrincipal("events.amazonaws.com"),
            action="lambda:InvokeFunction",
            source_arn=rules,
        )


#: ``HarvestJobPoll-`` + the hex digits + ``-``.
_POLL_RULE_PREFIX_HEX = contract.POLL_RULE_PREFIX_LENGTH - len(contract.POLL_RULE_PREFIX_START) - 1
#: Each stack's provider. Weak keys: an entry lives as long as its stack, and an app's stacks are
#: its own, so apps never share or see another's provider.
_PROVIDERS: weakref.WeakKeyDictionary[Stack, HarvestJobProvider] = weakref.WeakKeyDictionary()


def _poll_rule_prefix(provider: Construct) -> str:
    """``HarvestJobPoll-<10 hex>-``: 26 characters, distinct per stack name and provider path.

    Rule names are per account and region; the hash keeps one stack's policy off another's rules.
    """
    stack_name = stack_of(provider).stack_name
    owner = provider.node.path if is_unresolved(stack_name) else f"{stack_name}/{provider.node.path}"
    digest = hashlib.sha256(owner.encode()).hexdigest()[:_POLL_RULE_PREFIX_HEX]
    return f"{contract.POLL_RULE_PREFIX_START}{digest}-"
