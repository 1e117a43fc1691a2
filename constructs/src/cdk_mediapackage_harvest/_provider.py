"""The handler behind every HarvestJob of a stack: one function, its role, log group and policy."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_mediapackage_harvest._acknowledgments import acknowledge_wildcard_resources
from cdk_mediapackage_harvest._asset import HANDLER_MODULE, RUNTIME, handler_code

MEDIAPACKAGE_PRINCIPAL = "mediapackage.amazonaws.com"


class HarvestJobProvider(Construct):
    """A stack's single handler for ``Custom::MediaPackageHarvestJob`` resources.

    Its settings are fixed, so every HarvestJob of the stack can share it; what differs per job
    (the destination roles to pass) is added to its one policy, which grows with the number of
    distinct roles, not of jobs.
    """

    #: Public contract: changing it would replace every user's handler.
    ID = "MediaPackageHarvestJobProvider"

    @classmethod
    def of(cls, scope: Construct) -> HarvestJobProvider:
        """The stack's provider, created on first use."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.ID)
        if isinstance(existing, cls):
            return existing
        return cls(stack, cls.ID)

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
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
            description="Creates AWS Elemental MediaPackage harvest jobs (Custom::MediaPackageHarvestJob)",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=f"{HANDLER_MODULE}.handler",
            code=handler_code(),
            # CreateHarvestJob answers in about a second; the rest is room for botocore's bounded
            # retries under throttling (at most about 110 s per call, 3 calls per event).
            timeout=Duration.minutes(10),
            memory_size=256,
            role=role,
            log_group=self.log_group,
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

    @property
    def service_token(self) -> str:
        return self.function.function_arn

    def grant_pass_role(self, role: iam.IRole) -> None:
        """Let the handler pass ``role`` to MediaPackage, and only to MediaPackage."""
        arn = role.role_arn
        if arn in self._passed_roles:
            return
        self._passed_roles.add(arn)
        if self._pass_role is None:
            self._pass_role = iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[arn],
                conditions={"StringEquals": {"iam:PassedToService": MEDIAPACKAGE_PRINCIPAL}},
            )
            self.policy.add_statements(self._pass_role)
        else:
            self._pass_role.add_resources(arn)
