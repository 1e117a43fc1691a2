"""The handler behind every HarvestJob of a stack: one function, its role, log group and policy.

Made of CloudFormation resources written here, in Python, rather than of the L2 constructs that
would write the same template: an L2 ``Function`` costs its module's import (about 0.2 s) and some
seventy round trips to the CDK's node process, which made a one-job stack slower to synthesize than
``AwsCustomResource``. The template is what those L2 constructs wrote: the same logical ids, paths,
properties and dependencies. Found per stack in Python, and what grows with the jobs (the roles to
pass) is kept in Python too.
"""

from __future__ import annotations

import hashlib
import weakref
from typing import Any

import cdk_mediapackage_harvest_contract as contract
from aws_cdk import CfnResource, RemovalPolicy, Stack, Token
from constructs import Construct, IConstruct, IDependable

from cdk_mediapackage_harvest._acknowledgments import acknowledge_wildcard_resources
from cdk_mediapackage_harvest._asset import stage_handler_code
from cdk_mediapackage_harvest._policy import Policy, statement, trust
from cdk_mediapackage_harvest._synth import is_unresolved, stack_of

MEDIAPACKAGE_PRINCIPAL = "mediapackage.amazonaws.com"
#: The handler reads its EventBridge rule-name prefix from this variable.
POLL_RULE_PREFIX_VARIABLE = contract.Environment.POLL_RULE_PREFIX
#: Public contract: the id of the function's permission for the poller's rules.
POLL_PERMISSION_ID = contract.POLL_PERMISSION_ID
#: The function's runtime and architecture (the runtime the handler is tested against locally is
#: the venv's Python; the handler is standard library, boto3 and crhelper only).
RUNTIME = "python3.14"
ARCHITECTURE = "arm64"
MEMORY_MB = 256
LOG_RETENTION_DAYS = 30
#: What the handler does with v2 harvest jobs: create one (idempotently), look one up by name
#: (adopting a job a redelivered Create made; waiting), cancel one still running on Delete.
V2_HARVEST_ACTIONS = (
    "mediapackagev2:CancelHarvestJob",
    "mediapackagev2:CreateHarvestJob",
    "mediapackagev2:GetHarvestJob",
)
#: CreateHarvestJob with Tags is also authorized as TagResource (Service Authorization Reference).
V2_TAG_ACTION = "mediapackagev2:TagResource"


class HarvestJobProvider(Construct):
    """A stack's single handler for ``Custom::MediaPackageHarvestJob`` and
    ``Custom::MediaPackageV2HarvestJob`` resources.

    Its settings are fixed, so every HarvestJob and HarvestJobV2 of the stack can share it; what
    differs per job (the v1 actions and destination roles to pass; the v2 actions on each origin
    endpoint's ARNs) is added to its one policy, which grows with the number of distinct roles and
    endpoints, not of jobs.

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
        #: The stack's partition, region and account, as its ``format_arn`` writes them into an ARN.
        self._arn_parts = (stack.partition, stack.region, stack.account)
        log_group = CfnResource(
            Construct(self, "LogGroup"),
            "Resource",
            type="AWS::Logs::LogGroup",
            properties={"RetentionInDays": LOG_RETENTION_DAYS},
        )
        log_group.apply_removal_policy(RemovalPolicy.DESTROY)
        # An own role instead of Lambda's default, which carries a managed policy.
        role = Construct(self, "ServiceRole")
        role_resource = CfnResource(
            role,
            "Resource",
            type="AWS::IAM::Role",
            properties={
                "AssumeRolePolicyDocument": trust("lambda.amazonaws.com"),
                "Description": "Runs the cdk-mediapackage-harvest custom resource handler",
            },
        )
        role_ref = role_resource.ref
        self._log_group_arn = log_group.get_att("Arn")
        log_writing = Policy(role, "DefaultPolicy", role_ref)
        log_writing.add(
            statement(["logs:CreateLogStream", "logs:PutLogEvents"], [log_group.get_att("Arn")]),
        )
        self.function = Construct(self, "Handler")
        code = stage_handler_code(self.function)
        function = CfnResource(
            self.function,
            "Resource",
            type="AWS::Lambda::Function",
            properties={
                "Architectures": [ARCHITECTURE],
                "Code": {"S3Bucket": code.bucket_name, "S3Key": code.object_key},
                "Description": f"Creates AWS Elemental MediaPackage harvest jobs ({contract.RESOURCE_TYPE})",
                "Environment": {"Variables": {POLL_RULE_PREFIX_VARIABLE: self.poll_rule_prefix}},
                "Handler": contract.HANDLER,
                "LoggingConfig": {"LogGroup": log_group.ref},
                "MemorySize": MEMORY_MB,
                "Role": role_resource.get_att("Arn"),
                "Runtime": RUNTIME,
                # Room for a Create to wait out the quota of concurrent jobs and then for its job
                # (polling every 5 s), keeping 2 minutes to hand a longer job to the poller and
                # answer; every call is bounded (at most 35 s each, botocore's retries included).
                "Timeout": contract.FUNCTION_TIMEOUT_SECONDS,
            },
        )
        for key, value in code.metadata.items():
            function.add_metadata(key, value)
        # The function waits for its role and the role's policy, as Lambda's L2 has it.
        function.node.add_dependency(role)
        self._function_resource = function
        self.policy = Policy(self, "Policy", role_ref)
        # The handler keeps its permissions until every job is gone: the jobs name the function,
        # so CloudFormation deletes them before it, and it before this policy.
        function.node.add_dependency(self.policy.construct)
        self._v1_granted = False
        self._pass_role: dict[str, Any] | None = None
        self._passed_roles: list[str] = []
        self._v2_harvest: dict[str, Any] | None = None
        self._v2_tagging: dict[str, Any] | None = None
        self._waited_for: set[int] = set()
        self._v2_acknowledged: set[str] = set()
        self._polls = False
        self._listens = False
        self._poll_rules_acknowledged = False
        #: The function's ARN, for every job's ServiceToken.
        self.service_token: str = Token.as_string(function.get_att("Arn"))

    def _arn(self, service: str, resource: str) -> str:
        """``arn:<partition>:<service>:<region>:<account>:<resource>``, as ``Stack.format_arn``."""
        partition, region, account = self._arn_parts
        return f"arn:{partition}:{service}:{region}:{account}:{resource}"

    def grant_v1_harvest(self) -> None:
        """Let the handler create and describe (v1) harvest jobs: once, with the stack's first HarvestJob."""
        if self._v1_granted:
            return
        self._v1_granted = True
        # CreateHarvestJob has no resource type: the Service Authorization Reference allows only "*".
        create = statement(["mediapackage:CreateHarvestJob"], ["*"])
        describe = statement(
            ["mediapackage:DescribeHarvestJob"], [self._arn("mediapackage", "harvest_jobs/*")]
        )
        self.policy.add(create, describe)
        acknowledge_wildcard_resources(
            self.policy.construct,
            [create["Resource"]],
            "mediapackage:CreateHarvestJob has no resource type: IAM accepts only * for it "
            "(Service Authorization Reference)",
        )
        acknowledge_wildcard_resources(
            self.policy.construct,
            [describe["Resource"]],
            "mediapackage:DescribeHarvestJob on this account's harvest jobs in this region only: "
            "a job's Id is generated when CloudFormation creates it, so it is not known at synthesis",
        )

    def grant_pass_role(self, arn: str, dependable: IDependable) -> None:
        """Let the handler pass the role whose ARN is ``arn`` to MediaPackage, and only to
        MediaPackage; and have the function, so every job, wait for ``dependable``: what must exist
        before MediaPackage writes with the role (its policies; nothing for an imported role)."""
        if arn in self._passed_roles:
            return
        self._passed_roles.append(arn)
        self._function_resource.node.add_dependency(dependable)
        if self._pass_role is None:
            self._pass_role = statement(
                ["iam:PassRole"],
                self._passed_roles,
                {"StringEquals": {"iam:PassedToService": MEDIAPACKAGE_PRINCIPAL}},
            )
            self.policy.add(self._pass_role)
        else:
            self._pass_role["Resource"] = list(self._passed_roles)
            self.policy.changed()

    def grant_v2_harvest(
        self,
        channel_group_name: str,
        channel_name: str,
        origin_endpoint_name: str,
        harvest_job_name: str | None,
        *,
        tagged: bool,
    ) -> str:
        """Let the handler create, get and cancel the v2 harvest jobs of one origin endpoint (and tag
        them, for a job with tags); return the endpoint's ARN.

        IAM asks for the channel group, channel, origin endpoint and harvest job ARNs of each of these
        actions (Service Authorization Reference): the names given, and ``harvestJob/*`` under the
        endpoint for a job whose name is generated per CloudFormation request. One statement for all
        the stack's v2 jobs, whose resources grow with distinct endpoints and names.
        """
        group = self._arn("mediapackagev2", f"channelGroup/{channel_group_name}")
        channel = f"{group}/channel/{channel_name}"
        endpoint = f"{channel}/originEndpoint/{origin_endpoint_name}"
        job = f"{endpoint}/harvestJob/{'*' if harvest_job_name is None else harvest_job_name}"
        count = self._v2_resource_count()
        self._v2_harvest = self._grow(
            self._v2_harvest, list(V2_HARVEST_ACTIONS), [group, channel, endpoint, job]
        )
        if tagged:
            self._v2_tagging = self._grow(self._v2_tagging, [V2_TAG_ACTION], [job])
        if self._v2_resource_count() != count:  # the CDK is told only of a change
            self.policy.changed()
        if harvest_job_name is None and job not in self._v2_acknowledged:
            self._v2_acknowledged.add(job)
            acknowledge_wildcard_resources(
                self.policy.construct,
                [job],
                "a v2 harvest job's name is generated when CloudFormation creates it, so it is not "
                "known at synthesis: any harvest job of this one origin endpoint only",
            )
        return endpoint

    def _v2_resource_count(self) -> int:
        return sum(
            len(held["Resource"]) if isinstance(held["Resource"], list) else 1
            for held in (self._v2_harvest, self._v2_tagging)
            if held is not None
        )

    def _grow(self, held: dict[str, Any] | None, actions: list[str], arns: list[str]) -> dict[str, Any]:
        """The policy's statement of ``actions`` (added on first use), with ``arns`` among its resources."""
        if held is None:
            held = statement(actions, arns[:1])
            self.policy.statements.append(held)
        resources = held["Resource"] if isinstance(held["Resource"], list) else [held["Resource"]]
        resources.extend(arn for arn in dict.fromkeys(arns) if arn not in resources)
        held["Resource"] = resources[0] if len(resources) == 1 else resources
        return held

    def wait_for(self, dependable: IDependable) -> None:
        """Have the function, so every job, wait for ``dependable`` (e.g. a bucket policy that lets
        MediaPackage v2 write): created before the jobs, deleted after them."""
        if id(dependable) in self._waited_for:
            return
        self._waited_for.add(id(dependable))
        self._function_resource.node.add_dependency(dependable)

    def enable_polling(self) -> None:
        """Let the handler poll a job that outlives its invocation: an EventBridge rule that invokes
        the function every minute, created and removed by the handler itself.

        The handler may manage only rules named with this provider's prefix, and only those rules
        may invoke the function: one permission for all of them, so that the handler never edits
        the function's resource policy at run time. CloudWatch Logs holds the claims and the reasons
        (``log_streams``), in the function's own log group only.
        """
        if self._polls:
            return
        self._polls = True
        rules = self._poll_rules_arn()
        poll_rules = statement(
            ["events:PutRule", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule"], [rules]
        )
        # Claims and reasons are log streams of the function's own log group: the role may already
        # create and write them there (as Lambda does); reading a reason back needs GetLogEvents.
        reasons = statement(["logs:GetLogEvents"], [self._log_group_arn])
        self.policy.add(poll_rules, reasons)
        CfnResource(
            self.function,
            POLL_PERMISSION_ID,
            type="AWS::Lambda::Permission",
            properties={
                "Action": "lambda:InvokeFunction",
                "FunctionName": self._function_resource.get_att("Arn"),
                "Principal": "events.amazonaws.com",
                "SourceArn": rules,
            },
        )

    def _poll_rules_arn(self) -> str:
        """``rule/<prefix>*``: the poll rules, which the handler manages (polling) and reads (a
        notification finds the wait of its job); acknowledged for cdk-nag once."""
        rules = self._arn("events", f"rule/{self.poll_rule_prefix}*")
        if not self._poll_rules_acknowledged:
            self._poll_rules_acknowledged = True
            acknowledge_wildcard_resources(
                self.policy.construct,
                [rules],
                "the handler names each poll rule at deploy time (a job that outlives its invocation); "
                "only rules with this stack's own prefix",
            )
        return rules

    def listen_to_notifications(self) -> None:
        """Hear MediaPackage's (v1) harvest job notifications, for every ``HarvestJob`` of the stack,
        waiting or not: one rule per stack, in the template, targeting the function with the event as
        it comes, and a permission that lets that rule (only) invoke it. The handler records each
        notification, and finds the wait of its job by reading that job's poll rule's target."""
        if self._listens:
            return
        self._listens = True
        self.policy.add(statement(["events:ListTargetsByRule"], [self._poll_rules_arn()]))
        function_arn = self._function_resource.get_att("Arn")
        notice = contract.Notification
        rule = CfnResource(
            Construct(self, contract.NOTIFICATION_RULE_ID),
            "Resource",
            type="AWS::Events::Rule",
            properties={
                "Description": "MediaPackage harvest job notifications, for the handler of this stack's jobs",
                "EventPattern": {"source": [notice.SOURCE], "detail-type": [notice.DETAIL_TYPE]},
                "State": "ENABLED",
                "Targets": [{"Arn": function_arn, "Id": "Target0"}],
            },
        )
        CfnResource(
            self.function,
            contract.NOTIFICATION_PERMISSION_ID,
            type="AWS::Lambda::Permission",
            properties={
                "Action": "lambda:InvokeFunction",
                "FunctionName": function_arn,
                "Principal": "events.amazonaws.com",
                "SourceArn": rule.get_att("Arn"),
            },
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
