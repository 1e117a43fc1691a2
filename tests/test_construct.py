"""The HarvestJob construct at synth time: its custom resource, the shared handler, IAM and validation.

Bundling is skipped (context ``aws:cdk:bundling-stacks``); the asset has its own tests. Resources are
found by type and properties, never by hard-coded logical ids.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, cast

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from cdk_mediapackage_harvest import HarvestJob
from mediapackage_harvest_handler import jobs_v1, poll_rules, waiting

NO_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}
ENV = cdk.Environment(account="123456789012", region="eu-west-1")
RESOURCE_TYPE = "Custom::MediaPackageHarvestJob"
MEDIAPACKAGE = "mediapackage.amazonaws.com"
START = "2025-03-01T10:00:00Z"
END = "2025-03-01T10:30:00Z"
GIVEN_ROLE_ARN = "arn:aws:iam::123456789012:role/harvest-writer"
PROVIDER_ID = "MediaPackageHarvestJobProvider"
POLL_RULE_ACTIONS = [
    "events:PutRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:DeleteRule",
]


@pytest.fixture(scope="module", autouse=True)
def app_context(cdk_flags: dict[str, Any]) -> None:
    """Every test here runs without feature flags, then with the ones ``cdk init`` writes."""
    NO_BUNDLING.clear()
    NO_BUNDLING.update({"aws:cdk:bundling-stacks": [], **cdk_flags})


def new_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(context=NO_BUNDLING), "Stack", env=ENV)


def add_job(stack: cdk.Stack, id_: str = "Job", **props: Any) -> HarvestJob:
    """A valid job in ``stack``; ``props`` override the defaults."""
    settings: dict[str, Any] = {
        "origin_endpoint_id": "my-hls-endpoint",
        "start_time": START,
        "end_time": END,
        "manifest_key": "clips/final/index.m3u8",
    }
    settings.update(props)
    if "destination_bucket" not in settings:
        existing = stack.node.try_find_child("Bucket")
        settings["destination_bucket"] = (
            existing if isinstance(existing, s3.Bucket) else s3.Bucket(stack, "Bucket")
        )
    return HarvestJob(stack, id_, **settings)


def resources(template: Template, type_: str, props: Any = None) -> dict[str, Mapping[str, Any]]:
    found = template.find_resources(type_, {"Properties": props} if props is not None else None)
    return dict(found)


def only(found: Mapping[str, Mapping[str, Any]]) -> tuple[str, Mapping[str, Any]]:
    assert len(found) == 1, f"expected exactly one resource, found {sorted(found)}"
    return next(iter(found.items()))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def canonical(values: list[Any]) -> list[str]:
    """Order-insensitive comparison of lists of (possibly intrinsic) values."""
    return sorted(json.dumps(value, sort_keys=True) for value in values)


def actions(node: Any) -> Iterator[str]:
    """Every IAM action anywhere in a template fragment (Action and NotAction)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in ("Action", "NotAction"):
                yield from as_list(value)
            else:
                yield from actions(value)
    elif isinstance(node, list):
        for item in node:
            yield from actions(item)


def provider_policy(template: Template) -> tuple[str, Mapping[str, Any]]:
    """The handler's own policy: the one that allows CreateHarvestJob."""
    policies = {
        logical_id: resource
        for logical_id, resource in resources(template, "AWS::IAM::Policy").items()
        if "mediapackage:CreateHarvestJob" in actions(resource)
    }
    return only(policies)


def mediapackage_roles(template: Template) -> dict[str, Mapping[str, Any]]:
    """Roles that MediaPackage may assume."""
    return resources(
        template,
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": Match.array_with([Match.object_like({"Principal": {"Service": MEDIAPACKAGE}})])
            }
        },
    )


def pass_role_statement(template: Template) -> Mapping[str, Any]:
    _, policy = provider_policy(template)
    statements: list[Mapping[str, Any]] = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Action"] == "iam:PassRole"
    ]
    assert len(statements) == 1
    return statements[0]


def custom_resource_id(template: Template, props: Mapping[str, Any]) -> str:
    logical_id, _ = only(resources(template, RESOURCE_TYPE, props))
    return logical_id


@dataclass(frozen=True)
class ThreeJobs:
    stack: cdk.Stack
    template: Template
    first_bucket: s3.Bucket
    second_bucket: s3.Bucket
    with_id: HarvestJob
    without_id: HarvestJob
    other_bucket: HarvestJob


@pytest.fixture(scope="module")
def three_jobs(app_context: None) -> ThreeJobs:
    """Three jobs, two buckets: one job with an Id and times given with offsets, two plain ones."""
    stack = new_stack()
    first = s3.Bucket(stack, "First")
    second = s3.Bucket(stack, "Second")
    with_id = add_job(
        stack,
        "WithId",
        harvest_job_id="clip-2025_03",
        start_time="2025-03-01T12:00:00+02:00",
        end_time=datetime(2025, 3, 1, 5, 30, tzinfo=timezone(timedelta(hours=-5))),
        destination_bucket=first,
        manifest_key="clips/one/index.m3u8",
    )
    without_id = add_job(stack, "WithoutId", destination_bucket=first, manifest_key="clips/two/index.m3u8")
    other = add_job(stack, "OtherBucket", destination_bucket=second, manifest_key="clips/three/index.mpd")
    return ThreeJobs(stack, Template.from_stack(stack), first, second, with_id, without_id, other)


def test_resource_properties_mirror_the_api(three_jobs: ThreeJobs) -> None:
    resolve = three_jobs.stack.resolve
    three_jobs.template.has_resource_properties(
        RESOURCE_TYPE,
        {
            "OriginEndpointId": "my-hls-endpoint",
            "StartTime": "2025-03-01T10:00:00Z",
            "EndTime": "2025-03-01T10:30:00Z",
            "S3Destination": Match.exact(
                {
                    "BucketName": resolve(three_jobs.first_bucket.bucket_name),
                    "ManifestKey": "clips/one/index.m3u8",
                    "RoleArn": resolve(three_jobs.with_id.destination_role.role_arn),
                }
            ),
            "Id": "clip-2025_03",
        },
    )


def test_times_are_sent_as_utc_with_z() -> None:
    stack = new_stack()
    add_job(
        stack,
        start_time="2025-03-01T12:00:00+02:00",
        end_time=datetime(2025, 3, 1, 10, 30, 15, tzinfo=UTC),
    )
    add_job(
        stack,
        "Second",
        start_time=datetime(2025, 3, 1, 3, 0, tzinfo=timezone(timedelta(hours=-7))),
        end_time="2025-03-01T10:45:00.500+00:00",
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        RESOURCE_TYPE, {"StartTime": "2025-03-01T10:00:00Z", "EndTime": "2025-03-01T10:30:15Z"}
    )
    template.has_resource_properties(
        RESOURCE_TYPE, {"StartTime": "2025-03-01T10:00:00Z", "EndTime": "2025-03-01T10:45:00.500000Z"}
    )


def test_id_is_sent_only_when_given(three_jobs: ThreeJobs) -> None:
    template = three_jobs.template
    for key in ("clips/two/index.m3u8", "clips/three/index.mpd"):
        template.has_resource_properties(
            RESOURCE_TYPE, {"S3Destination": {"ManifestKey": key}, "Id": Match.absent()}
        )
    assert len(resources(template, RESOURCE_TYPE, {"Id": Match.any_value()})) == 1


@pytest.mark.parametrize(
    ("attribute", "name"),
    [
        ("harvest_job_arn", "Arn"),
        ("harvest_job_id", "Id"),
        ("harvest_job_status", "Status"),
        ("harvest_job_channel_id", "ChannelId"),
        ("harvest_job_created_at", "CreatedAt"),
    ],
)
def test_attributes_are_get_att_of_the_custom_resource(
    three_jobs: ThreeJobs, attribute: str, name: str
) -> None:
    logical_id = custom_resource_id(three_jobs.template, {"Id": "clip-2025_03"})
    value = getattr(three_jobs.with_id, attribute)
    assert cdk.Token.is_unresolved(value)
    assert three_jobs.stack.resolve(value) == {"Fn::GetAtt": [logical_id, name]}


def test_attributes_are_made_once_and_only_when_read(three_jobs: ThreeJobs) -> None:
    job = three_jobs.without_id
    assert job.harvest_job_status is job.harvest_job_status
    assert job.harvest_job_arn != job.harvest_job_status


def test_manifest_uri_is_known_at_synth(three_jobs: ThreeJobs) -> None:
    """s3://<bucket>/<key> from the props, not from the handler: a plain string when both are concrete."""
    bucket_ref = three_jobs.stack.resolve(three_jobs.first_bucket.bucket_name)
    assert three_jobs.stack.resolve(three_jobs.with_id.manifest_uri) == {
        "Fn::Join": ["", ["s3://", bucket_ref, "/clips/one/index.m3u8"]]
    }
    stack = new_stack()
    job = add_job(stack, destination_bucket=s3.Bucket.from_bucket_name(stack, "Named", "my-clips"))
    assert job.manifest_uri == "s3://my-clips/clips/final/index.m3u8"


def test_one_function_serves_every_job(three_jobs: ThreeJobs) -> None:
    template = three_jobs.template
    template.resource_count_is(RESOURCE_TYPE, 3)
    function_id, function = only(resources(template, "AWS::Lambda::Function"))
    props = function["Properties"]
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    tokens = {
        json.dumps(resource["Properties"]["ServiceToken"])
        for resource in resources(template, RESOURCE_TYPE).values()
    }
    assert tokens == {json.dumps({"Fn::GetAtt": [function_id, "Arn"]})}


def test_each_stack_has_its_own_function() -> None:
    app = cdk.App(context=NO_BUNDLING)
    stacks = [cdk.Stack(app, name, env=ENV) for name in ("First", "Second")]
    for stack in stacks:
        add_job(stack)
        add_job(stack, "Another", manifest_key="clips/another/index.m3u8")
    for stack in stacks:
        template = Template.from_stack(stack)
        template.resource_count_is("AWS::Lambda::Function", 1)
        template.resource_count_is(RESOURCE_TYPE, 2)


def test_function_has_its_own_log_group_with_retention(three_jobs: ThreeJobs) -> None:
    template = three_jobs.template
    _, function = only(resources(template, "AWS::Lambda::Function"))
    log_group_ref = function["Properties"]["LoggingConfig"]["LogGroup"]
    assert set(log_group_ref) == {"Ref"}
    log_group = resources(template, "AWS::Logs::LogGroup")[log_group_ref["Ref"]]
    assert log_group["Properties"]["RetentionInDays"] > 0
    template.resource_count_is("Custom::LogRetention", 0)


def test_no_managed_policies(three_jobs: ThreeJobs) -> None:
    template = three_jobs.template
    _, function = only(resources(template, "AWS::Lambda::Function"))
    function_role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    roles = resources(template, "AWS::IAM::Role")
    assert function_role_id in roles
    for logical_id, role in roles.items():
        assert "ManagedPolicyArns" not in role["Properties"], logical_id
    template.resource_count_is("AWS::IAM::ManagedPolicy", 0)


def arn(rest: str) -> Any:
    """An ARN in the stack's account and region as the CDK writes it: the partition is a literal when
    the region is concrete and the flag ``@aws-cdk/core:enablePartitionLiterals`` is on."""
    if NO_BUNDLING.get("@aws-cdk/core:enablePartitionLiterals"):
        return f"arn:aws{rest}"
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, rest]]}


def test_provider_policy_has_exactly_these_statements(three_jobs: ThreeJobs) -> None:
    template = three_jobs.template
    _, policy = provider_policy(template)
    _, function = only(resources(template, "AWS::Lambda::Function"))
    assert policy["Properties"]["Roles"] == [{"Ref": function["Properties"]["Role"]["Fn::GetAtt"][0]}]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_action = {json.dumps(statement["Action"]): statement for statement in statements}
    assert len(by_action) == len(statements) == 6
    prefix = three_jobs.stack.node.find_child(PROVIDER_ID).poll_rule_prefix  # type: ignore[attr-defined]
    assert by_action[json.dumps(POLL_RULE_ACTIONS)] == {
        "Action": POLL_RULE_ACTIONS,
        "Effect": "Allow",
        "Resource": arn(f":events:eu-west-1:123456789012:rule/{prefix}*"),
    }
    # A notification reads its job's poll rule (read only, the same rules): every stack with a HarvestJob.
    assert by_action['"events:ListTargetsByRule"'] == {
        "Action": "events:ListTargetsByRule",
        "Effect": "Allow",
        "Resource": arn(f":events:eu-west-1:123456789012:rule/{prefix}*"),
    }
    # The poller's rules invoke the function through one permission in the template: the handler
    # never edits the function's resource policy (no lambda:AddPermission/RemovePermission).
    function_id, _ = only(resources(template, "AWS::Lambda::Function"))
    poll_rules = by_action[json.dumps(POLL_RULE_ACTIONS)]["Resource"]
    (permission,) = [
        permission
        for permission in resources(template, "AWS::Lambda::Permission").values()
        if permission["Properties"]["SourceArn"] == poll_rules
    ]
    assert permission["Properties"] == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Fn::GetAtt": [function_id, "Arn"]},
        "Principal": "events.amazonaws.com",
        "SourceArn": by_action[json.dumps(POLL_RULE_ACTIONS)]["Resource"],
    }
    assert by_action['"mediapackage:CreateHarvestJob"'] == {
        "Action": "mediapackage:CreateHarvestJob",
        "Effect": "Allow",
        "Resource": "*",
    }
    assert by_action['"mediapackage:DescribeHarvestJob"'] == {
        "Action": "mediapackage:DescribeHarvestJob",
        "Effect": "Allow",
        "Resource": arn(":mediapackage:eu-west-1:123456789012:harvest_jobs/*"),
    }
    pass_role = dict(by_action['"iam:PassRole"'])
    passed = as_list(pass_role.pop("Resource"))
    assert pass_role == {
        "Action": "iam:PassRole",
        "Effect": "Allow",
        "Condition": {"StringEquals": {"iam:PassedToService": MEDIAPACKAGE}},
    }
    expected = [
        three_jobs.stack.resolve(job.destination_role.role_arn)
        for job in (three_jobs.with_id, three_jobs.other_bucket)
    ]
    assert canonical(passed) == canonical(expected)


def test_pass_role_grows_with_distinct_roles_not_jobs(three_jobs: ThreeJobs) -> None:
    passed = as_list(pass_role_statement(three_jobs.template)["Resource"])
    assert len(passed) == 2
    assert all(set(arn) == {"Fn::GetAtt"} for arn in passed)
    role_ids = {arn["Fn::GetAtt"][0] for arn in passed}
    assert role_ids == set(mediapackage_roles(three_jobs.template))


def test_given_role_is_passed_once_and_no_role_is_created() -> None:
    stack = new_stack()
    role = iam.Role.from_role_arn(stack, "Given", GIVEN_ROLE_ARN, mutable=False)
    same_role_again = iam.Role.from_role_arn(stack, "GivenAgain", GIVEN_ROLE_ARN, mutable=False)
    first = add_job(stack, "First", destination_role=role)
    add_job(stack, "Second", destination_role=role, manifest_key="clips/2/index.m3u8")
    add_job(stack, "Third", destination_role=same_role_again, manifest_key="clips/3/index.m3u8")
    assert first.destination_role is role
    template = Template.from_stack(stack)
    assert as_list(pass_role_statement(template)["Resource"]) == [GIVEN_ROLE_ARN]
    assert mediapackage_roles(template) == {}
    for resource in resources(template, RESOURCE_TYPE).values():
        assert resource["Properties"]["S3Destination"]["RoleArn"] == GIVEN_ROLE_ARN


def test_no_wildcard_actions(three_jobs: ThreeJobs) -> None:
    found = list(actions(three_jobs.template.to_json()))
    assert "mediapackage:CreateHarvestJob" in found
    assert [action for action in found if "*" in action] == []


def test_created_role_per_bucket_writes_only_to_that_bucket(three_jobs: ThreeJobs) -> None:
    template = three_jobs.template
    roles = mediapackage_roles(template)
    assert len(roles) == 2
    resolve = three_jobs.stack.resolve
    for job, bucket in (
        (three_jobs.with_id, three_jobs.first_bucket),
        (three_jobs.other_bucket, three_jobs.second_bucket),
    ):
        role_id = resolve(job.destination_role.role_arn)["Fn::GetAtt"][0]
        assert roles[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
            {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": MEDIAPACKAGE}}
        ]
        _, policy = only(resources(template, "AWS::IAM::Policy", {"Roles": [{"Ref": role_id}]}))
        assert policy["Properties"]["PolicyDocument"]["Statement"] == [
            {"Action": "s3:PutObject", "Effect": "Allow", "Resource": resolve(bucket.arn_for_objects("*"))},
            {
                "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                "Effect": "Allow",
                "Resource": resolve(bucket.bucket_arn),
            },
        ]
    # Both jobs that write to the first bucket share its role.
    assert three_jobs.with_id.destination_role is three_jobs.without_id.destination_role
    assert three_jobs.with_id.destination_role is not three_jobs.other_bucket.destination_role


def test_created_role_may_use_the_buckets_kms_key() -> None:
    stack = new_stack()
    bucket = s3.Bucket(stack, "Encrypted", encryption=s3.BucketEncryption.KMS)
    job = add_job(stack, destination_bucket=bucket)
    assert bucket.encryption_key is not None
    template = Template.from_stack(stack)
    role_id = stack.resolve(job.destination_role.role_arn)["Fn::GetAtt"][0]
    _, policy = only(resources(template, "AWS::IAM::Policy", {"Roles": [{"Ref": role_id}]}))
    kms = [
        statement
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(action.startswith("kms:") for action in as_list(statement["Action"]))
    ]
    assert len(kms) == 1
    assert "kms:GenerateDataKey" in as_list(kms[0]["Action"])
    assert kms[0]["Resource"] == stack.resolve(bucket.encryption_key.key_arn)


def function_depends_on(template: Template) -> list[str]:
    _, function = only(resources(template, "AWS::Lambda::Function"))
    depends_on: list[str] = function.get("DependsOn", [])
    return depends_on


def test_custom_resources_come_after_the_provider_policy_through_the_function(three_jobs: ThreeJobs) -> None:
    """Each job names the function (ServiceToken), and the function depends on the handler's policy:
    created after it, deleted before it, with no DependsOn per job."""
    policy_id, _ = provider_policy(three_jobs.template)
    function_id, _ = only(resources(three_jobs.template, "AWS::Lambda::Function"))
    assert policy_id in function_depends_on(three_jobs.template)
    custom = three_jobs.template.find_resources(RESOURCE_TYPE)
    assert len(custom) == 3
    for logical_id, resource in custom.items():
        assert resource["Properties"]["ServiceToken"] == {"Fn::GetAtt": [function_id, "Arn"]}, logical_id
        assert "DependsOn" not in resource, logical_id
    # The poll rules' permission does not wait for them: only the function's own resource does.
    for permission in resources(three_jobs.template, "AWS::Lambda::Permission").values():
        assert "DependsOn" not in permission


def test_custom_resources_wait_for_their_destination_roles_policies(three_jobs: ThreeJobs) -> None:
    """The role by its RoleArn GetAtt, its policy (S3, KMS) through the function."""
    stack = three_jobs.stack
    depends_on = function_depends_on(three_jobs.template)
    for job in (three_jobs.with_id, three_jobs.without_id, three_jobs.other_bucket):
        role = job.destination_role
        assert isinstance(role, iam.Role)
        role_policy = role.node.find_child("DefaultPolicy").node.find_child("Resource")
        assert isinstance(role_policy, cdk.CfnResource)
        assert stack.get_logical_id(role_policy) in depends_on
        role_id = stack.get_logical_id(cast(cdk.CfnElement, role.node.default_child))
        assert job_resource(stack, job)["Properties"]["S3Destination"]["RoleArn"] == {
            "Fn::GetAtt": [role_id, "Arn"]
        }


def test_a_given_role_in_the_stack_is_waited_for_by_the_function() -> None:
    stack = new_stack()
    role = iam.Role(stack, "Writer", assumed_by=iam.ServicePrincipal(MEDIAPACKAGE))
    role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=["*"]))
    add_job(stack, destination_role=role)
    role_policy = role.node.find_child("DefaultPolicy").node.find_child("Resource")
    depends_on = function_depends_on(Template.from_stack(stack))
    assert stack.get_logical_id(cast(cdk.CfnElement, role_policy)) in depends_on


def test_synthesized_properties_are_what_the_handler_accepts(three_jobs: ThreeJobs) -> None:
    """What CloudFormation sends the handler: the resource's properties, every intrinsic resolved
    to a string (ServiceToken and ServiceTimeout included, as CloudFormation sends them)."""

    def as_deployed(node: Any) -> Any:
        if isinstance(node, Mapping):
            if len(node) == 1 and next(iter(node)).startswith(("Fn::", "Ref")):
                return "resolved-at-deploy-time"
            return {key: as_deployed(value) for key, value in node.items()}
        return node

    logical_id = custom_resource_id(three_jobs.template, {"Id": "clip-2025_03"})
    properties = as_deployed(three_jobs.template.to_json()["Resources"][logical_id]["Properties"])
    # What the bucket's Ref and the role's Fn::GetAtt resolve to.
    assert properties["S3Destination"]["BucketName"] == properties["S3Destination"]["RoleArn"]
    properties["S3Destination"].update(
        BucketName="stack-first1234-abcdef",
        RoleArn="arn:aws:iam::123456789012:role/Stack-FirstHarvestRole-ABC",
    )
    request = jobs_v1.parse_properties(properties)
    assert request.origin_endpoint_id == "my-hls-endpoint"
    assert request.start_time == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert request.end_time == datetime(2025, 3, 1, 10, 30, tzinfo=UTC)
    assert request.manifest_key == "clips/one/index.m3u8"
    assert request.harvest_job_id == "clip-2025_03"


NAIVE = datetime(2025, 3, 1, 10, 0)
LETTERS = "letters, digits, '_' and '-'"


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        pytest.param(
            {"end_time": START},
            ["end_time", START, "start_time", "expected the window to end"],
            id="end-equals-start",
        ),
        pytest.param(
            {"end_time": "2025-03-01T09:59:59Z"},
            ["end_time", "2025-03-01T09:59:59Z", "expected the window to end after it starts"],
            id="end-before-start",
        ),
        pytest.param(
            {"end_time": "2025-03-02T10:00:01Z"},
            ["end_time", "2025-03-02T10:00:01Z", "24 hours"],
            id="over-24h",
        ),
        pytest.param(
            {"start_time": NAIVE},
            ["start_time", "2025-03-01 10:00:00", "time zone", "expected a UTC offset"],
            id="naive-datetime",
        ),
        pytest.param(
            {"end_time": datetime(2025, 3, 1, 10, 30)},
            ["end_time", "2025-03-01 10:30:00", "time zone"],
            id="naive-end-datetime",
        ),
        pytest.param(
            {"start_time": "2025-03-01T10:00:00"},
            ["start_time", "'2025-03-01T10:00:00'", "time zone"],
            id="naive-str",
        ),
        pytest.param(
            {"end_time": "yesterday"},
            ["end_time", "'yesterday'", "ISO-8601", "expected e.g."],
            id="unparsable",
        ),
        pytest.param({"start_time": ""}, ["start_time", "''", "expected e.g."], id="empty-time"),
        pytest.param({"harvest_job_id": "clip 1"}, ["harvest_job_id", "'clip 1'", LETTERS], id="id-space"),
        pytest.param({"harvest_job_id": "clips/1"}, ["harvest_job_id", "'clips/1'", LETTERS], id="id-slash"),
        pytest.param(
            {"harvest_job_id": "clip-ü"}, ["harvest_job_id", "'clip-ü'", LETTERS], id="id-non-ascii"
        ),
        pytest.param({"harvest_job_id": "a" * 65}, ["harvest_job_id", "a" * 65, "64"], id="id-65-chars"),
        pytest.param({"harvest_job_id": ""}, ["harvest_job_id", "empty", LETTERS], id="id-empty"),
        pytest.param(
            {"origin_endpoint_id": ""}, ["origin_endpoint_id", "empty", LETTERS], id="endpoint-empty"
        ),
        pytest.param(
            {"origin_endpoint_id": "my endpoint!"},
            ["origin_endpoint_id", "'my endpoint!'", LETTERS],
            id="endpoint-chars",
        ),
        pytest.param({"manifest_key": ""}, ["manifest_key", "empty", "expected the S3 key"], id="key-empty"),
        pytest.param(
            {"manifest_key": "/clips/index.m3u8"},
            ["manifest_key", "'/clips/index.m3u8'", "'/'"],
            id="key-slash",
        ),
        pytest.param(
            {"manifest_key": "k" * 1025},
            ["manifest_key", "1025 bytes", "expected at most 1024"],
            id="key-1025-bytes",
        ),
        pytest.param({"manifest_key": "é" * 513}, ["manifest_key", "1026 bytes", "'éé"], id="key-multibyte"),
    ],
)
def test_invalid_props_raise_value_error_naming_prop_and_value(
    props: dict[str, Any], expected: list[str]
) -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match=re.escape(expected[0])) as caught:
        add_job(stack, **props)
    message = str(caught.value)
    for fragment in expected:
        assert fragment in message
    assert message.startswith(f"Stack/Job: {expected[0]}")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        pytest.param("origin_endpoint_id", 12, "expected a string", id="endpoint-number"),
        pytest.param("origin_endpoint_id", None, "expected a string", id="endpoint-none"),
        pytest.param("start_time", 1_740_823_200, "expected an ISO-8601 string", id="start-epoch-number"),
        pytest.param("end_time", date(2025, 3, 1), "or a timezone-aware datetime", id="end-date"),
        pytest.param("start_time", None, "expected an ISO-8601 string", id="start-none"),
        pytest.param("manifest_key", 5, "expected a string", id="key-number"),
        pytest.param("harvest_job_id", 5, "expected a string", id="id-number"),
        pytest.param("destination_bucket", "my-bucket", "expected an s3.IBucket", id="bucket-name"),
        pytest.param("destination_bucket", None, "expected an s3.IBucket", id="bucket-none"),
        pytest.param("destination_role", GIVEN_ROLE_ARN, "expected an iam.IRole", id="role-arn"),
        pytest.param("destination_role", "harvest-writer", "expected an iam.IRole", id="role-name"),
    ],
)
def test_props_of_the_wrong_type_name_the_prop_the_value_and_the_type_expected(
    name: str, value: Any, expected: str
) -> None:
    stack = new_stack()
    with pytest.raises(TypeError) as caught:
        add_job(stack, **{name: value})
    message = str(caught.value)
    assert message.startswith(f"Stack/Job: {name}: {value!r}")
    assert f"is a {type(value).__name__}" in message
    assert expected in message


@pytest.mark.parametrize(
    "props",
    [
        pytest.param({"end_time": "2025-03-02T10:00:00Z"}, id="exactly-24h"),
        pytest.param({"end_time": "2025-03-01T10:00:01Z"}, id="one-second"),
        pytest.param({"harvest_job_id": "A" * 64}, id="id-64-chars"),
        pytest.param({"harvest_job_id": "Clip_2025-03-01"}, id="id-all-kinds"),
        pytest.param({"origin_endpoint_id": "e" * 200}, id="endpoint-id-no-length-limit"),
        pytest.param({"manifest_key": "é" * 512}, id="key-1024-bytes"),
        pytest.param({"manifest_key": "k" * 1019 + ".m3u8"}, id="key-1024-ascii"),
    ],
)
def test_values_at_the_limits_are_accepted(props: dict[str, Any]) -> None:
    stack = new_stack()
    add_job(stack, **props)
    Template.from_stack(stack).resource_count_is(RESOURCE_TYPE, 1)


def test_manifest_key_without_manifest_extension_is_a_warning() -> None:
    stack = new_stack()
    job = add_job(stack, manifest_key="clips/final/video.mp4")
    template = Template.from_stack(stack)
    template.has_resource_properties(
        RESOURCE_TYPE, {"S3Destination": {"ManifestKey": "clips/final/video.mp4"}}
    )
    Annotations.from_stack(stack).has_warning(
        f"/{job.node.path}", Match.string_like_regexp(r"manifest_key.*clips/final/video\.mp4.*\.m3u8.*\.mpd")
    )


def test_end_time_in_the_future_is_a_warning() -> None:
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=400)
    stack = new_stack()
    job = add_job(stack, start_time=end - timedelta(hours=1), end_time=end)
    annotations = Annotations.from_stack(stack)
    annotations.has_warning(
        f"/{job.node.path}",
        Match.string_like_regexp(f"end_time.*{end.strftime('%Y-%m-%dT%H:%M:%S')}Z.*future"),
    )
    annotations.has_no_error("*", Match.any_value())


def test_past_window_and_manifest_keys_give_no_warning() -> None:
    stack = new_stack()
    add_job(stack, manifest_key="clips/a/index.m3u8")
    add_job(stack, "Dash", manifest_key="clips/b/manifest.mpd")
    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())


def test_tokens_pass_through_unchecked() -> None:
    stack = new_stack()
    parameters = {
        name: cdk.CfnParameter(stack, name, type="String").value_as_string
        for name in ("Start", "End", "Endpoint", "Key", "JobId")
    }
    job = add_job(
        stack,
        origin_endpoint_id=parameters["Endpoint"],
        start_time=parameters["Start"],
        end_time=parameters["End"],
        manifest_key=parameters["Key"],
        harvest_job_id=parameters["JobId"],
    )
    ref = {name: stack.resolve(value) for name, value in parameters.items()}
    Template.from_stack(stack).has_resource_properties(
        RESOURCE_TYPE,
        {
            "OriginEndpointId": ref["Endpoint"],
            "StartTime": ref["Start"],
            "EndTime": ref["End"],
            "S3Destination": {"ManifestKey": ref["Key"]},
            "Id": ref["JobId"],
        },
    )
    annotations = Annotations.from_stack(stack)
    annotations.has_no_warning("*", Match.any_value())
    annotations.has_no_error("*", Match.any_value())
    assert cdk.Token.is_unresolved(job.harvest_job_arn)


def test_token_inside_a_manifest_key_passes_through() -> None:
    stack = new_stack()
    clip = cdk.CfnParameter(stack, "Clip", type="String").value_as_string
    add_job(stack, manifest_key=f"clips/{clip}/index.m3u8")
    Template.from_stack(stack).has_resource_properties(
        RESOURCE_TYPE,
        {
            "S3Destination": {
                "ManifestKey": {"Fn::Join": ["", ["clips/", stack.resolve(clip), "/index.m3u8"]]}
            }
        },
    )


def test_tokens_inside_strings_and_references_by_token_pass_through_unparsed() -> None:
    stack = new_stack()
    hour = cdk.CfnParameter(stack, "Hour", type="String").value_as_string
    name = cdk.CfnParameter(stack, "Name", type="String").value_as_string
    role_arn = cdk.CfnParameter(stack, "RoleArn", type="String").value_as_string
    add_job(
        stack,
        # Unparsable and reversed once resolved as they stand: a token is never parsed.
        start_time=f"2025-03-01T{hour}:30:00Z",
        end_time=f"{hour}",
        origin_endpoint_id=f"endpoint {name}",
        harvest_job_id=f"clip/{name}",
        destination_bucket=s3.Bucket.from_bucket_name(stack, "Imported", name),
        destination_role=iam.Role.from_role_arn(stack, "Role", role_arn),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        RESOURCE_TYPE,
        {
            "StartTime": {"Fn::Join": ["", ["2025-03-01T", stack.resolve(hour), ":30:00Z"]]},
            "EndTime": stack.resolve(hour),
            "OriginEndpointId": {"Fn::Join": ["", ["endpoint ", stack.resolve(name)]]},
            "Id": {"Fn::Join": ["", ["clip/", stack.resolve(name)]]},
            "S3Destination": {"BucketName": stack.resolve(name), "RoleArn": stack.resolve(role_arn)},
        },
    )
    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())


def test_concrete_time_is_checked_when_the_other_is_a_token() -> None:
    stack = new_stack()
    start = cdk.CfnParameter(stack, "Start", type="String").value_as_string
    with pytest.raises(ValueError, match="end_time") as caught:
        add_job(stack, start_time=start, end_time="not a time")
    assert "'not a time'" in str(caught.value)
    add_job(stack, "Valid", start_time=start, end_time="2025-03-01T12:00:00+02:00")
    Template.from_stack(stack).has_resource_properties(
        RESOURCE_TYPE, {"StartTime": stack.resolve(start), "EndTime": "2025-03-01T10:00:00Z"}
    )


def job_resource(stack: cdk.Stack, job: HarvestJob) -> Mapping[str, Any]:
    resource = cast(cdk.CfnResource, job.node.default_child)
    found: Mapping[str, Any] = Template.from_stack(stack).to_json()["Resources"][
        stack.get_logical_id(resource)
    ]
    return found


def poll_statements(stack: cdk.Stack) -> list[Mapping[str, Any]]:
    _, policy = provider_policy(Template.from_stack(stack))
    return [
        statement
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == POLL_RULE_ACTIONS
    ] + [
        permission
        for permission in resources(Template.from_stack(stack), "AWS::Lambda::Permission").values()
        if "Fn::GetAtt" not in permission["Properties"]["SourceArn"]  # not the notification rule's
    ]


def test_waiting_is_the_default_with_a_timeout_under_the_hour() -> None:
    stack = new_stack()
    resource = job_resource(stack, add_job(stack))
    assert resource["Properties"]["WaitForCompletion"] is True
    assert resource["Properties"]["CompletionTimeout"] == 55 * 60
    # CloudFormation waits the completion timeout, the poller's minute and answering: under an hour.
    assert resource["Properties"]["ServiceTimeout"] == str(58 * 60)
    assert len(poll_statements(stack)) == 2


@pytest.mark.parametrize(
    ("timeout", "seconds", "service_timeout"),
    [
        pytest.param(cdk.Duration.minutes(1), 60, 900, id="1-minute"),
        pytest.param(cdk.Duration.minutes(30), 1800, 1980, id="30-minutes"),
        pytest.param(cdk.Duration.seconds(3420), 3420, 3600, id="57-minutes"),
    ],
)
def test_service_timeout_follows_the_completion_timeout(
    timeout: cdk.Duration, seconds: int, service_timeout: int
) -> None:
    """ServiceTimeout: the completion timeout plus 3 minutes, never under the function's 10 minutes
    plus answering (15 minutes), never over CloudFormation's hour."""
    stack = new_stack()
    resource = job_resource(stack, add_job(stack, completion_timeout=timeout))
    assert resource["Properties"]["CompletionTimeout"] == seconds
    assert resource["Properties"]["ServiceTimeout"] == str(service_timeout)


def test_without_waiting_nothing_polls() -> None:
    stack = new_stack()
    resource = job_resource(stack, add_job(stack, wait_for_completion=False))
    assert resource["Properties"]["WaitForCompletion"] is False
    assert "CompletionTimeout" not in resource["Properties"]
    assert resource["Properties"]["ServiceTimeout"] == "900"
    assert poll_statements(stack) == []
    # One waiting job is enough for the poller's permissions, added once for any number of jobs.
    stack = new_stack()
    add_job(stack, "NoWait", wait_for_completion=False)
    add_job(stack, "Waits")
    add_job(stack, "AlsoWaits")
    assert len(poll_statements(stack)) == 2


def test_the_rule_prefix_is_set_on_the_function_and_distinct_per_stack() -> None:
    prefixes = []
    for name in ("One", "Two"):
        stack = cdk.Stack(cdk.App(context=NO_BUNDLING), name, env=ENV)
        add_job(stack)
        _, function = only(resources(Template.from_stack(stack), "AWS::Lambda::Function"))
        prefix = function["Properties"]["Environment"]["Variables"]["HARVEST_POLL_RULE_PREFIX"]
        assert re.fullmatch(r"HarvestJobPoll-[0-9a-f]{10}-", prefix)
        prefixes.append(prefix)
    assert prefixes[0] != prefixes[1]
    # A rule's name is the prefix and 20 hex digits of the job Id's digest, whatever the Id.
    assert len(poll_rules.rule_name(prefixes[0], "J" * 64)) == len(prefixes[0]) + 20 <= 64


def test_synthesized_wait_properties_are_what_the_handler_accepts() -> None:
    for props, expected in (
        ({"completion_timeout": cdk.Duration.minutes(20)}, 1200),
        ({"wait_for_completion": False}, None),
    ):
        stack = new_stack()
        properties = job_resource(stack, add_job(stack, **props))["Properties"]
        as_sent = {key: str(value).lower() for key, value in properties.items() if key in WAIT_KEYS}
        assert waiting.completion_timeout(as_sent) == expected


WAIT_KEYS = ("WaitForCompletion", "CompletionTimeout")


@pytest.mark.parametrize(
    ("props", "error", "expected"),
    [
        pytest.param(
            {"completion_timeout": cdk.Duration.seconds(59)},
            ValueError,
            ["completion_timeout", "59 seconds", "1 minute to 57 minutes"],
            id="too-short",
        ),
        pytest.param(
            {"completion_timeout": cdk.Duration.minutes(58)},
            ValueError,
            ["completion_timeout", "58 minutes", "57 minutes", "at most 1 hour"],
            id="too-long",
        ),
        pytest.param(
            {"completion_timeout": cdk.Duration.millis(61_500)},
            ValueError,
            ["completion_timeout", "61500 ms", "whole seconds"],
            id="fraction",
        ),
        pytest.param(
            {"completion_timeout": cdk.Duration.minutes(5), "wait_for_completion": False},
            ValueError,
            ["completion_timeout", "5 minutes", "wait_for_completion is False"],
            id="timeout-without-waiting",
        ),
        pytest.param(
            {"completion_timeout": cdk.Duration.seconds(cdk.Token.as_number(cdk.Aws.NO_VALUE))},
            ValueError,
            ["completion_timeout", "token", "concrete Duration"],
            id="token",
        ),
        pytest.param(
            {"completion_timeout": 600}, TypeError, ["completion_timeout", "600", "Duration"], id="int"
        ),
        pytest.param(
            {"wait_for_completion": "yes"},
            TypeError,
            ["wait_for_completion", "'yes'", "True or False"],
            id="str",
        ),
    ],
)
def test_invalid_wait_props_name_the_prop_and_value(
    props: dict[str, Any], error: type[Exception], expected: list[str]
) -> None:
    with pytest.raises(error) as caught:
        add_job(new_stack(), **props)
    message = str(caught.value)
    assert message.startswith(f"Stack/Job: {expected[0]}")
    for fragment in expected:
        assert fragment in message


def test_a_concrete_bucket_name_or_role_arn_is_checked_at_synth() -> None:
    stack = new_stack()
    bucket = s3.Bucket.from_bucket_name(stack, "Imported", "Clips_2026")
    with pytest.raises(
        ValueError, match=r"^Stack/Job: destination_bucket: 'Clips_2026' is not an S3 bucket name; expected"
    ):
        add_job(stack, destination_bucket=bucket)
    role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:user/harvest")
    with pytest.raises(
        ValueError,
        match=r"^Stack/Other: destination_role: 'arn:aws:iam::123456789012:user/harvest' is not an IAM role",
    ):
        add_job(stack, "Other", destination_role=role)
