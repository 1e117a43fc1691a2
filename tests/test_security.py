"""Security checks on synthesized templates: cdk-nag's AWS Solutions rules, cfn-lint, and an audit of
every IAM policy (the project's rules, then the parliament IAM linter on the policies with their
intrinsic functions resolved to plausible ARNs).

The templates: the example app's two stacks with cdk.json's context, the example app with an existing
bucket and role, a stack of several jobs writing to buckets with S3-managed and KMS encryption, an
imported bucket and an imported role, and a stack mixing v1 and MediaPackage v2 jobs (generated and
fixed names, tags, a KMS bucket, an imported bucket). Bundling is skipped: the asset does not change a
template's policies.
"""

from __future__ import annotations

import json
import re
import uuid
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cdk_mediapackage_harvest import HarvestJob, HarvestJobV2
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint
from support import ACCOUNT_ID, REGION

from app import build
from local_aws.intrinsics import Intrinsics

with warnings.catch_warnings():
    # parliament imports pkg_resources, which warns that it is deprecated.
    warnings.simplefilter("ignore")
    import parliament

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
NO_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}
RESOURCE_TYPE = "Custom::MediaPackageHarvestJob"
RESOURCE_TYPE_V2 = "Custom::MediaPackageV2HarvestJob"
MEDIAPACKAGE = "mediapackage.amazonaws.com"
MEDIAPACKAGE_V2 = "mediapackagev2.amazonaws.com"
LAMBDA = "lambda.amazonaws.com"
EXISTING_ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/existing-harvest-role"
ACCESS_LOGS_BY_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"
ACKNOWLEDGED = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY


def example_stack(**context: str) -> cdk.Stack:
    return build(cdk.App(context={**NO_BUNDLING, **CONTEXT, **context}))


def logged_bucket(scope: cdk.Stack, id_: str, logs: s3.IBucket, **props: Any) -> s3.Bucket:
    """A bucket that passes the AWS Solutions rules: no public access, TLS only, access logs."""
    return s3.Bucket(
        scope,
        id_,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        server_access_logs_bucket=logs,
        server_access_logs_prefix=f"{id_}/",
        **props,
    )


def many_jobs_stack() -> cdk.Stack:
    """Six jobs: two sharing a created role, one to a KMS bucket, two with an imported role (one of
    them to an imported bucket), one to the imported bucket with a role created for it."""
    stack = cdk.Stack(cdk.App(context=NO_BUNDLING), "ManyJobs")
    stack.node.set_context(ACCESS_LOGS_BY_POLICY, True)
    logs = s3.Bucket(
        stack,
        "AccessLogs",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    )
    cdk.Validations.of(logs).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-S1",
            reason="The access-log bucket itself: logging it would need yet another bucket",
        )
    )
    plain = logged_bucket(stack, "Plain", logs)
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    encrypted = logged_bucket(stack, "Encrypted", logs, encryption_key=key)
    imported_bucket = s3.Bucket.from_bucket_name(stack, "Imported", "existing-clips")
    imported_role = iam.Role.from_role_arn(stack, "ImportedRole", EXISTING_ROLE_ARN, mutable=False)
    destinations: list[tuple[s3.IBucket, iam.IRole | None]] = [
        (plain, None),
        (plain, None),
        (encrypted, None),
        (imported_bucket, imported_role),
        (plain, imported_role),
        (imported_bucket, None),
    ]
    for number, (bucket, role) in enumerate(destinations):
        HarvestJob(
            stack,
            f"Job{number}",
            origin_endpoint_id="my-hls-endpoint",
            start_time="2025-03-01T10:00:00Z",
            end_time="2025-03-01T10:30:00Z",
            destination_bucket=bucket,
            manifest_key=f"clips/{number}/index.m3u8",
            destination_role=role,
        )
    return stack


def example_v2_stack() -> cdk.Stack:
    app = cdk.App(context={**NO_BUNDLING, **CONTEXT})
    build(app)
    stack = app.node.find_child("HarvestV2Stack")
    assert isinstance(stack, cdk.Stack)
    return stack


def mixed_stack() -> cdk.Stack:
    """A v1 job and four v2 jobs on one handler: a generated name with tags, a fixed name on another
    channel, a KMS bucket, and an imported bucket (whose warning prints the statement to add)."""
    stack = cdk.Stack(cdk.App(context=NO_BUNDLING), "Mixed")
    stack.node.set_context(ACCESS_LOGS_BY_POLICY, True)
    logs = s3.Bucket(
        stack,
        "AccessLogs",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    )
    cdk.Validations.of(logs).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-S1",
            reason="The access-log bucket itself: logging it would need yet another bucket",
        )
    )
    plain = logged_bucket(stack, "Plain", logs)
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    encrypted = logged_bucket(stack, "Encrypted", logs, encryption_key=key)
    imported = s3.Bucket.from_bucket_name(stack, "Imported", "existing-clips")
    HarvestJob(
        stack,
        "V1",
        origin_endpoint_id="my-hls-endpoint",
        start_time="2025-03-01T10:00:00Z",
        end_time="2025-03-01T10:30:00Z",
        destination_bucket=plain,
        manifest_key="v1/index.m3u8",
    )
    for number, (bucket, channel, name, tags) in enumerate(
        [
            (plain, "main", None, {"team": "video"}),
            (plain, "backup", "fixed-clip", None),
            (encrypted, "main", None, None),
            (imported, "main", None, None),
        ]
    ):
        HarvestJobV2(
            stack,
            f"V2Job{number}",
            channel_group_name="live",
            channel_name=channel,
            origin_endpoint_name="hls",
            destination_bucket=bucket,
            destination_path=f"clips/{number}/",
            hls_manifest_names=["index"],
            harvest_job_name=name,
            tags=tags,
            start_time="2025-03-01T10:00:00Z",
            end_time="2025-03-01T10:30:00Z",
        )
    return stack


STACKS = {
    "example": example_stack,
    "example-v2": example_v2_stack,
    "mixed-v1-v2": mixed_stack,
    "example-existing-bucket-and-role": lambda: example_stack(
        bucket_name="existing-clips", role_arn=EXISTING_ROLE_ARN, harvest_job_id="clip-1"
    ),
    "many-jobs": many_jobs_stack,
}


@pytest.fixture(scope="module")
def stacks() -> dict[str, cdk.Stack]:
    return {name: make() for name, make in STACKS.items()}


@pytest.fixture(scope="module")
def templates(stacks: dict[str, cdk.Stack]) -> dict[str, dict[str, Any]]:
    return {name: dict(Template.from_stack(stack).to_json()) for name, stack in stacks.items()}


def violations(scope: cdk.Stack) -> list[str]:
    report = AwsSolutionsChecks().validate_scope(scope)
    return [
        f"{violation.rule_name} at {resource.construct_path}"
        for violation in report.violations
        for resource in violation.violating_resources
    ]


def acknowledgments(scope: cdk.Stack) -> Iterator[tuple[str, str, str]]:
    """(construct path, rule id, reason) of every acknowledgment in the tree."""
    for construct in scope.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == ACKNOWLEDGED:
                for rule, reason in entry.data.items():
                    yield construct.node.path, rule.removeprefix("Annotation::"), reason


# cdk-nag


@pytest.mark.parametrize("name", STACKS)
def test_cdk_nag_aws_solutions_has_no_unacknowledged_finding(stacks: dict[str, cdk.Stack], name: str) -> None:
    assert violations(stacks[name]) == []


def test_the_library_acknowledges_its_own_wildcards_granularly(stacks: dict[str, cdk.Stack]) -> None:
    """Each acknowledgment names one finding (a rule and, for IAM5, one resource), has a reason, and sits
    on the construct that holds the finding: never on a stack or the app."""
    stack = stacks["many-jobs"]
    found = list(acknowledgments(stack))

    def objects_of(bucket: str) -> tuple[str, str]:
        logical_id = stack.get_logical_id(stack.node.find_child(bucket).node.default_child)  # type: ignore[arg-type]
        return (
            f"ManyJobs/{bucket}/MediaPackageHarvestRole",
            f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/*]",
        )

    provider = "ManyJobs/MediaPackageHarvestJobProvider/Policy"
    assert {(path, rule) for path, rule, _ in found} == {
        ("ManyJobs/AccessLogs", "AwsSolutions-S1"),
        (provider, "AwsSolutions-IAM5[Resource::*]"),
        (
            provider,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:mediapackage:<AWS::Region>:"
            "<AWS::AccountId>:harvest_jobs/*]",
        ),
        objects_of("Plain"),
        objects_of("Encrypted"),
        (
            "ManyJobs/Imported/MediaPackageHarvestRole",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::existing-clips/*]",
        ),
    } | _issue_4_acknowledgments(found)
    for path, rule, reason in found:
        assert len(reason.split()) >= 6, f"{path} {rule}: {reason!r} is no reason"


def test_a_mixed_stacks_v2_wildcards_are_acknowledged_once_per_endpoint(stacks: dict[str, cdk.Stack]) -> None:
    """Three v2 jobs of generated names on one endpoint share one acknowledged ``harvestJob/*``; the
    fixed name has none; the v1 job's acknowledgments are v1's."""
    stack = stacks["mixed-v1-v2"]
    found = list(acknowledgments(stack))
    provider = "Mixed/MediaPackageHarvestJobProvider/Policy"
    plain_id = stack.get_logical_id(stack.node.find_child("Plain").node.default_child)  # type: ignore[arg-type]
    assert {(path, rule) for path, rule, _ in found} == {
        ("Mixed/AccessLogs", "AwsSolutions-S1"),
        (provider, "AwsSolutions-IAM5[Resource::*]"),
        (
            provider,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:mediapackage:<AWS::Region>:"
            "<AWS::AccountId>:harvest_jobs/*]",
        ),
        (
            provider,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:mediapackagev2:<AWS::Region>:"
            "<AWS::AccountId>:channelGroup/live/channel/main/originEndpoint/hls/harvestJob/*]",
        ),
        ("Mixed/Plain/MediaPackageHarvestRole", f"AwsSolutions-IAM5[Resource::<{plain_id}.Arn>/*]"),
    } | {
        (path.replace("ManyJobs", "Mixed"), rule)
        for path, rule in _issue_4_acknowledgments(
            [(path.replace("Mixed", "ManyJobs"), rule, reason) for path, rule, reason in found]
        )
    }
    for path, rule, reason in found:
        assert len(reason.split()) >= 6, f"{path} {rule}: {reason!r} is no reason"


def _issue_4_acknowledgments(found: list[tuple[str, str, str]]) -> set[tuple[str, str]]:
    """The provider's acknowledgment of its EventBridge poll rules (the names carry a hash), if any."""
    rule = re.compile(
        r"AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:"
        r"rule/HarvestJobPoll-[0-9a-f]{10}-\*\]"
    )
    return {
        (path, rule_id)
        for path, rule_id, _ in found
        if path == "ManyJobs/MediaPackageHarvestJobProvider/Policy" and rule.fullmatch(rule_id)
    }


def test_an_unmeant_wildcard_is_still_reported() -> None:
    """The library acknowledges exact resources: a wildcard added to its role or policy is a finding."""
    stack = many_jobs_stack()
    plain = stack.node.find_child("Plain")
    role = plain.node.find_child("MediaPackageHarvestRole")
    assert isinstance(plain, s3.Bucket)
    assert isinstance(role, iam.Role)
    role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:Get*"], resources=["*"]))
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:DeleteObject"], resources=[plain.arn_for_objects("other/*")])
    )
    logical_id = stack.get_logical_id(plain.node.default_child)  # type: ignore[arg-type]
    assert {finding.split(" at ")[0] for finding in violations(stack)} == {
        "AwsSolutions-IAM5[Action::s3:Get*]",
        "AwsSolutions-IAM5[Resource::*]",
        f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/other/*]",
    }


def test_the_example_app_fails_synthesis_on_a_finding() -> None:
    """app.py registers the checks on the app: a bucket without TLS enforcement or access logs stops it."""
    app = cdk.App(context={**NO_BUNDLING, **CONTEXT})
    stack = build(app)
    s3.Bucket(stack, "Careless")
    with pytest.raises(RuntimeError, match="ValidationFailed") as failed:
        app.synth()
    report = json.loads((Path(app.outdir) / "validation-report.json").read_text())
    reported = {
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }
    assert reported == {
        ("AwsSolutions-S1", "HarvestStack/Careless/Resource"),
        ("AwsSolutions-S10", "HarvestStack/Careless/Resource"),
    }, failed.value


# cfn-lint

# W3005: a DependsOn that a Ref or GetAtt already implies. CDK writes it when a construct depends on
# another construct: every resource under it becomes a DependsOn. The handler function depends on
# each destination role so that the role's policies exist before any job (which references the
# function) makes MediaPackage write, and the role itself comes along (already implied where the
# function's policy names the role's ARN); the same for the function and its own role. Redundant,
# never wrong.
ACCEPTED_WARNINGS = {"W3005"}


@pytest.mark.parametrize("name", STACKS)
def test_cfn_lint_finds_no_error(templates: dict[str, dict[str, Any]], name: str) -> None:
    matches = lint(
        json.dumps(templates[name]),
        config=ManualArgs(regions=["us-east-1", "eu-west-1", "ap-southeast-2"]),
    )
    found = [f"{match.rule.id} {'/'.join(map(str, match.path))}: {match.message}" for match in matches]
    assert [line for line in found if line.split()[0] not in ACCEPTED_WARNINGS] == []
    for match in matches:
        # The redundant dependency is always one on a role that the resource also names by GetAtt.
        assert re.fullmatch(r"'\w+' dependency already enforced by a 'GetAtt' at '.+'", match.message)
        depends_on = templates[name]["Resources"][match.path[1]]["DependsOn"][match.path[3]]
        assert templates[name]["Resources"][depends_on]["Type"] == "AWS::IAM::Role"


# The IAM audit


class Resolver(Intrinsics):
    """Intrinsic functions replaced by plausible values: names from logical ids, ARNs by resource type,
    the local account and region. An intrinsic it does not know is an error, not a pass."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        super().__init__()
        self.resources: Mapping[str, Any] = template["Resources"]

    def name(self, logical_id: str) -> str:
        return logical_id.lower() if self.type(logical_id) == "AWS::S3::Bucket" else logical_id

    def type(self, logical_id: str) -> str:
        return str(self.resources[logical_id]["Type"])

    def arn(self, logical_id: str) -> str:
        name = self.name(logical_id)
        return {
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}:*",
            "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{uuid.uuid5(uuid.NAMESPACE_OID, name)}",
        }[self.type(logical_id)]

    def ref(self, logical_id: str) -> str:
        return self.name(logical_id)

    def get_att(self, logical_id: str, attribute: str) -> str:
        assert attribute == "Arn", (logical_id, attribute)
        return self.arn(logical_id)


@dataclass(frozen=True)
class Statement:
    policy: str
    """The logical id of the policy (or role, for an inline policy) that holds it."""
    roles: tuple[str, ...]
    """The logical ids of the roles it applies to."""
    body: Mapping[str, Any]
    """Resolved."""

    @property
    def actions(self) -> list[str]:
        return as_list(self.body.get("Action", []))

    @property
    def resources(self) -> list[str]:
        return as_list(self.body.get("Resource", []))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def identity_policies(template: Mapping[str, Any]) -> Iterator[tuple[str, tuple[str, ...], Any]]:
    """(logical id, roles, resolved document) of every identity policy: AWS::IAM::Policy and inline."""
    resolve = Resolver(template)
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Policy":
            roles = tuple(role["Ref"] for role in properties["Roles"])
            assert set(properties) == {"PolicyDocument", "PolicyName", "Roles"}, logical_id
            yield logical_id, roles, resolve(properties["PolicyDocument"])
        elif resource["Type"] == "AWS::IAM::Role":
            for policy in properties.get("Policies", []):
                yield logical_id, (logical_id,), resolve(policy["PolicyDocument"])


def statements(template: Mapping[str, Any]) -> list[Statement]:
    return [
        Statement(policy, roles, body)
        for policy, roles, document in identity_policies(template)
        for body in document["Statement"]
    ]


@dataclass(frozen=True)
class Expected:
    """What the templates' resources say each permission may be used on."""

    handler_roles: set[str]
    destination_roles: set[str]
    destination_role_arns: set[str]
    buckets: set[str]
    keys: set[str]
    log_groups: set[str]
    v1_jobs: int
    #: The channel group, channel, origin endpoint and harvest job (name, or ``*`` when generated)
    #: ARNs of the v2 jobs, and those of the jobs with tags.
    v2_arns: set[str]
    v2_tagged_job_arns: set[str]


def expected(template: Mapping[str, Any]) -> Expected:
    resolve = Resolver(template)
    resources = template["Resources"]
    jobs = [resource for resource in resources.values() if resource["Type"] == RESOURCE_TYPE]
    jobs_v2 = [
        resource["Properties"] for resource in resources.values() if resource["Type"] == RESOURCE_TYPE_V2
    ]
    v2_arns: set[str] = set()
    v2_tagged: set[str] = set()
    for job_v2 in jobs_v2:
        group = f"arn:aws:mediapackagev2:{REGION}:{ACCOUNT_ID}:channelGroup/{job_v2['ChannelGroupName']}"
        channel = f"{group}/channel/{job_v2['ChannelName']}"
        endpoint = f"{channel}/originEndpoint/{job_v2['OriginEndpointName']}"
        job_arn = f"{endpoint}/harvestJob/{job_v2.get('HarvestJobName', '*')}"
        v2_arns |= {group, channel, endpoint, job_arn}
        if job_v2.get("Tags"):
            v2_tagged.add(job_arn)
    function_ids = {
        job["Properties"]["ServiceToken"]["Fn::GetAtt"][0] for job in [*jobs, *jobs_v2_resources(template)]
    }
    functions = [resources[function_id]["Properties"] for function_id in function_ids]
    destinations = [job["Properties"]["S3Destination"] for job in jobs]
    role_arns = {resolve(destination["RoleArn"]) for destination in destinations}
    bucket_names = {resolve(destination["BucketName"]) for destination in destinations}
    keys = {
        resolve(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"])
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::S3::Bucket" and resolve.name(logical_id) in bucket_names
        for rule in resource["Properties"]
        .get("BucketEncryption", {})
        .get("ServerSideEncryptionConfiguration", [])
        if "KMSMasterKeyID" in rule["ServerSideEncryptionByDefault"]
    }
    return Expected(
        handler_roles={function["Role"]["Fn::GetAtt"][0] for function in functions},
        destination_roles={
            logical_id
            for logical_id, resource in resources.items()
            if resource["Type"] == "AWS::IAM::Role" and resolve.arn(logical_id) in role_arns
        },
        destination_role_arns=role_arns,
        buckets={f"arn:aws:s3:::{name}" for name in bucket_names},
        keys=keys,
        log_groups={resolve.arn(function["LoggingConfig"]["LogGroup"]["Ref"]) for function in functions},
        v1_jobs=len(jobs),
        v2_arns=v2_arns,
        v2_tagged_job_arns=v2_tagged,
    )


def jobs_v2_resources(template: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [resource for resource in template["Resources"].values() if resource["Type"] == RESOURCE_TYPE_V2]


HARVEST_JOBS = re.compile(rf"arn:aws:mediapackage:{REGION}:{ACCOUNT_ID}:harvest_jobs/\*")
# Issue 4 (waiting for completion through crhelper's poller): rules named with a per-provider prefix.
POLL_RULES = re.compile(rf"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/HarvestJobPoll-[0-9a-f]{{10}}-\*")
PASS_ROLE_CONDITION = {"StringEquals": {"iam:PassedToService": MEDIAPACKAGE}}


def allowed_resources(action: str, want: Expected) -> tuple[str, Any]:
    """Who may hold ``action`` ("handler" or "destination") and what it may be used on: a set of ARNs or
    a pattern each resource must match."""
    handler: dict[str, Any] = {
        "mediapackage:CreateHarvestJob": {"*"},  # no resource type: "*" is the only resource IAM allows
        "mediapackage:DescribeHarvestJob": HARVEST_JOBS,
        "iam:PassRole": want.destination_role_arns,
        "logs:CreateLogStream": want.log_groups,
        "logs:PutLogEvents": want.log_groups,
        # Issue 14: reading a failed job's reason back from the function's own log group.
        "logs:GetLogEvents": want.log_groups,
        **dict.fromkeys(
            [
                "events:PutRule",
                "events:PutTargets",
                "events:RemoveTargets",
                "events:DeleteRule",
                "events:ListTargetsByRule",
            ],
            POLL_RULES,
        ),
        # MediaPackage v2: each action on the channel group, channel, endpoint and job ARNs IAM asks for.
        **dict.fromkeys(
            [
                "mediapackagev2:CreateHarvestJob",
                "mediapackagev2:GetHarvestJob",
                "mediapackagev2:CancelHarvestJob",
            ],
            want.v2_arns,
        ),
        "mediapackagev2:TagResource": want.v2_tagged_job_arns,
    }
    destination: dict[str, Any] = {
        "s3:PutObject": {f"{bucket}/*" for bucket in want.buckets},
        "s3:GetBucketLocation": want.buckets,
        "s3:ListBucket": want.buckets,
        "kms:GenerateDataKey": want.keys,
        "kms:Decrypt": want.keys,
    }
    if action in handler:
        return "handler", handler[action]
    if action in destination:
        return "destination", destination[action]
    raise AssertionError(f"{action} is in no list of what the project's roles may do")


@pytest.mark.parametrize("name", STACKS)
def test_every_permission_is_one_the_project_needs_on_what_it_needs(
    templates: dict[str, dict[str, Any]], name: str
) -> None:
    """No wildcard action; each action held only by the role that needs it, on the resources it needs:
    PassRole on the destination roles to MediaPackage only, DescribeHarvestJob on harvest jobs only."""
    template = templates[name]
    want = expected(template)
    holders = {"handler": want.handler_roles, "destination": want.destination_roles}
    found = statements(template)
    assert found
    for statement in found:
        where = f"{statement.policy}: {json.dumps(statement.body)}"
        assert set(statement.body) <= {"Action", "Effect", "Resource", "Condition"}, where
        assert statement.body["Effect"] == "Allow", where
        for action in statement.actions:
            assert "*" not in action, where
            holder, allowed = allowed_resources(action, want)
            assert set(statement.roles) <= holders[holder], f"{action} is held by {statement.roles}"
            for resource in statement.resources:
                if isinstance(allowed, re.Pattern):
                    assert allowed.fullmatch(resource), where
                else:
                    assert resource in allowed, where
        if "iam:PassRole" in statement.actions:
            assert statement.actions == ["iam:PassRole"], where
            assert statement.body["Condition"] == PASS_ROLE_CONDITION, where
            assert set(statement.resources) == want.destination_role_arns, where
        else:
            assert "Condition" not in statement.body, where
    granted = {action for statement in found for action in statement.actions}
    v1 = {"mediapackage:CreateHarvestJob", "mediapackage:DescribeHarvestJob", "iam:PassRole"}
    v2 = {
        "mediapackagev2:CreateHarvestJob",
        "mediapackagev2:GetHarvestJob",
        "mediapackagev2:CancelHarvestJob",
    }
    assert (v1 <= granted) == (want.v1_jobs > 0)
    assert not (v1 & granted) or want.v1_jobs > 0, "v1 permissions in a stack without v1 jobs"
    assert (v2 <= granted) == bool(want.v2_arns)
    assert not (v2 & granted) or want.v2_arns, "v2 permissions in a stack without v2 jobs"
    # Every ARN a v2 job needs is granted: the handler can create, look up and cancel each job.
    v2_granted = {r for statement in found if v2 <= set(statement.actions) for r in statement.resources}
    assert v2_granted == want.v2_arns
    assert {r for s in found if "mediapackagev2:TagResource" in s.actions for r in s.resources} == (
        want.v2_tagged_job_arns
    )


def test_mediapackage_v2_may_write_only_under_each_jobs_path_from_its_endpoint(
    templates: dict[str, dict[str, Any]],
) -> None:
    """The bucket policies and key policies grant the v2 service principal only what a job needs, on
    its bucket and path, for this account and its own origin endpoint."""
    for name in ("example-v2", "mixed-v1-v2"):
        template = templates[name]
        resolve = Resolver(template)
        granted: list[tuple[str, Any]] = []
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::S3::BucketPolicy":
                document = resolve(resource["Properties"]["PolicyDocument"])
            elif resource["Type"] == "AWS::KMS::Key":
                document = resolve(resource["Properties"]["KeyPolicy"])
            else:
                continue
            granted.extend(
                (resource["Type"], statement)
                for statement in document["Statement"]
                if statement.get("Principal") == {"Service": MEDIAPACKAGE_V2}
            )
        jobs = [job["Properties"] for job in jobs_v2_resources(template)]
        in_stack = [job for job in jobs if isinstance(job["S3Destination"]["BucketName"], dict)]
        assert len([g for g in granted if g[0] == "AWS::S3::BucketPolicy"]) == len(in_stack)
        for type_, statement in granted:
            assert statement["Effect"] == "Allow"
            assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT_ID}
            endpoint, children = statement["Condition"]["ArnLike"]["aws:SourceArn"]
            assert re.fullmatch(
                rf"arn:aws:mediapackagev2:{REGION}:{ACCOUNT_ID}:channelGroup/[\w-]+/channel/[\w-]+/originEndpoint/[\w-]+",
                endpoint,
            )
            assert children == f"{endpoint}/harvestJob/*"
            if type_ == "AWS::KMS::Key":
                assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
                assert statement["Resource"] == "*"  # in a key policy: this key
            else:
                # In any order: cdk.json's flags (``minimizePolicies``) sort them.
                assert sorted(statement["Action"]) == [
                    "s3:GetBucketLocation",
                    "s3:ListBucket",
                    "s3:PutObject",
                ]
                bucket, objects = statement["Resource"]
                assert re.fullmatch(r"arn:aws:s3:::[a-z0-9]+", bucket)
                assert re.fullmatch(rf"{bucket}/clips/[\w-]+/\*", objects)


@pytest.mark.parametrize("name", STACKS)
def test_the_notification_rule_hears_only_mediapackage_and_invokes_only_the_handler(
    templates: dict[str, dict[str, Any]], name: str
) -> None:
    """Issue 14: one rule per stack for MediaPackage's harvest job events, whose one target is the
    handler, and a permission that lets exactly that rule (not any rule) invoke the handler."""
    resources = templates[name]["Resources"]
    (function_id,) = [key for key, value in resources.items() if value["Type"] == "AWS::Lambda::Function"]
    rules = {
        key: value["Properties"] for key, value in resources.items() if value["Type"] == "AWS::Events::Rule"
    }
    if not any(value["Type"] == "Custom::MediaPackageHarvestJob" for value in resources.values()):
        assert rules == {}  # the rule hears MediaPackage v1's events: only for a stack with a HarvestJob
        return
    ((rule_id, rule),) = rules.items()
    assert rule["EventPattern"] == {
        "source": ["aws.mediapackage"],
        "detail-type": ["MediaPackage HarvestJob Notification"],
    }
    assert [target["Arn"] for target in rule["Targets"]] == [{"Fn::GetAtt": [function_id, "Arn"]}]
    assert all(set(target) == {"Arn", "Id"} for target in rule["Targets"]), "no role, no input transformer"
    permissions = [
        value["Properties"] for value in resources.values() if value["Type"] == "AWS::Lambda::Permission"
    ]
    for permission in permissions:
        assert permission["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
        assert permission["Principal"] == "events.amazonaws.com"
        assert "SourceAccount" not in permission
    sources = [permission["SourceArn"] for permission in permissions]
    assert {"Fn::GetAtt": [rule_id, "Arn"]} in sources
    assert len(sources) == 2  # the poll rules' prefix and this rule: nothing broader


@pytest.mark.parametrize("name", STACKS)
def test_roles_trust_only_their_service_and_carry_no_managed_policy(
    templates: dict[str, dict[str, Any]], name: str
) -> None:
    template = templates[name]
    want = expected(template)
    roles = {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    }
    assert set(roles) == want.handler_roles | want.destination_roles
    for logical_id, role in roles.items():
        service = LAMBDA if logical_id in want.handler_roles else MEDIAPACKAGE
        assert role["AssumeRolePolicyDocument"]["Statement"] == [
            {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": service}}
        ], logical_id
        assert "ManagedPolicyArns" not in role, logical_id
    assert not any(r["Type"] == "AWS::IAM::ManagedPolicy" for r in template["Resources"].values())


def parliament_findings(document: Any, *, community: bool = False) -> list[tuple[str, str]]:
    """(issue, detail or the actions concerned, sorted) of each finding of parliament on one policy."""
    policy = parliament.analyze_policy_string(json.dumps(document), include_community_auditors=community)
    return [
        (finding.issue, str(finding.detail or sorted(finding.location.get("actions", []))))
        for finding in policy.findings
    ]


def test_parliament_reports_what_it_is_here_for() -> None:
    """The linter is live: DescribeHarvestJob on "*" and s3:PutObject on a bucket (not its objects) are
    findings."""
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "mediapackage:DescribeHarvestJob", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::clips"},
        ],
    }
    assert {issue for issue, _ in parliament_findings(document)} == {"RESOURCE_STAR", "RESOURCE_MISMATCH"}


def linted_policies(template: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """Identity policies and bucket policies, resolved. Trust policies have no Resource element, which
    parliament (a linter of identity and resource policies) reports as malformed: the trust test above
    checks them whole instead."""
    for logical_id, _, document in identity_policies(template):
        yield logical_id, document
    resolve = Resolver(template)
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::S3::BucketPolicy":
            yield logical_id, resolve(resource["Properties"]["PolicyDocument"])


@pytest.mark.parametrize("name", STACKS)
def test_parliament_finds_nothing_in_the_policies(templates: dict[str, dict[str, Any]], name: str) -> None:
    """parliament's own auditors, as its command line runs them. Among them: an action used on a
    resource of a type it cannot take, and "*" for an action that has a resource type (CreateHarvestJob
    has none, so "*" is correct for it and parliament agrees)."""
    policies = list(linted_policies(templates[name]))
    assert policies
    found = {logical_id: parliament_findings(document) for logical_id, document in policies}
    assert found == {logical_id: [] for logical_id in found}


# What parliament's community auditors call permissions management, among the actions the project uses.
PERMISSIONS_MANAGEMENT = {"iam:passrole", "lambda:addpermission", "lambda:removepermission"}


def test_parliaments_community_auditors_flag_only_permissions_management(
    templates: dict[str, dict[str, Any]],
) -> None:
    """The optional community auditors flag every iam:PassRole as managing permissions, however it is
    scoped: the audit above checks that PassRole is limited to the destination roles and to
    MediaPackage. Nothing else is flagged (the handler has no lambda:AddPermission: the poller's rules
    invoke it through one permission in the template)."""
    for template in templates.values():
        for logical_id, document in linted_policies(template):
            used = {action.lower() for s in document["Statement"] for action in as_list(s["Action"])}
            flagged = sorted(used & PERMISSIONS_MANAGEMENT)
            expected = [("PERMISSIONS_MANAGEMENT_ACTIONS", str(flagged))] if flagged else []
            assert parliament_findings(document, community=True) == expected, logical_id
