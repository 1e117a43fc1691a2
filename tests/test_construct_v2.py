"""The HarvestJobV2 construct at synth time (its props: ``test_construct_v2_props.py``): the resource
it writes, the one handler it shares with HarvestJob, the handler's v2 permissions, and the
bucket-policy statement (and KMS grant) that lets MediaPackage v2 write, or the warning that prints
it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import cdk_mediapackage_harvest_contract as contract
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from cdk_mediapackage_harvest import PROVIDER_ID, RESOURCE_TYPE, HarvestJob, HarvestJobV2
from cdk_mediapackage_harvest._bucket_access_v2 import POLICY_NOT_ADDED

NO_BUNDLING: dict[str, list[str]] = {"aws:cdk:bundling-stacks": []}
ENV = cdk.Environment(account="123456789012", region="eu-west-1")
V2 = contract.RESOURCE_TYPE_V2
PRINCIPAL = contract.V2_SERVICE_PRINCIPAL
ARN_PREFIX = "arn:aws:mediapackagev2:eu-west-1:123456789012:"
ENDPOINT = "channelGroup/live/channel/main/originEndpoint/hls"
PROPS: dict[str, Any] = {
    "channel_group_name": "live",
    "channel_name": "main",
    "origin_endpoint_name": "hls",
    "start_time": "2025-03-01T10:00:00Z",
    "end_time": "2025-03-01T10:30:00Z",
    "destination_path": "clips/one/",
    "hls_manifest_names": ["index"],
}
V2_ACTIONS = [
    "mediapackagev2:CancelHarvestJob",
    "mediapackagev2:CreateHarvestJob",
    "mediapackagev2:GetHarvestJob",
]


def new_stack(name: str = "Stack") -> tuple[cdk.Stack, s3.Bucket]:
    stack = cdk.Stack(cdk.App(context=NO_BUNDLING), name, env=ENV)
    return stack, s3.Bucket(stack, "Bucket")


def resolved_arn(stack: cdk.Stack, value: Any) -> str:
    """An ARN the stack wrote as ``Fn::Join`` of the partition and literals, as a string."""
    resolved = stack.resolve(value)
    if isinstance(resolved, str):
        return resolved
    parts = resolved["Fn::Join"][1]
    return "".join("aws" if part == {"Ref": "AWS::Partition"} else part for part in parts)


def properties_of(stack: cdk.Stack, job: HarvestJobV2) -> dict[str, Any]:
    logical_id = stack.get_logical_id(job.node.default_child)  # type: ignore[arg-type]
    properties: dict[str, Any] = Template.from_stack(stack).to_json()["Resources"][logical_id]["Properties"]
    return properties


def warnings_of(stack: cdk.Stack) -> list[tuple[str, str]]:
    return [
        (warning.id, str(warning.entry.data))
        for warning in Annotations.from_stack(stack).find_warning("*", Match.any_value())
    ]


@dataclass
class Jobs:
    stack: cdk.Stack
    template: dict[str, Any]
    plain: HarvestJobV2
    named: HarvestJobV2
    imported: HarvestJobV2
    v1: HarvestJob

    def resource(self, job: HarvestJobV2) -> Mapping[str, Any]:
        logical_id = self.stack.get_logical_id(job.node.default_child)  # type: ignore[arg-type]
        resource: Mapping[str, Any] = self.template["Resources"][logical_id]
        return resource

    def of_type(self, type_: str) -> dict[str, Any]:
        return {key: value for key, value in self.template["Resources"].items() if value["Type"] == type_}

    def provider_statements(self) -> list[dict[str, Any]]:
        provider = self.stack.node.find_child(PROVIDER_ID)
        policy = provider.node.find_child("Policy").node.find_child("Resource")
        logical_id = self.stack.get_logical_id(policy)  # type: ignore[arg-type]
        statements: list[dict[str, Any]] = self.template["Resources"][logical_id]["Properties"][
            "PolicyDocument"
        ]["Statement"]
        return statements


@pytest.fixture(scope="module")
def jobs() -> Jobs:
    """A mixed stack: three v2 jobs (generated name with tags and all three manifest kinds; a fixed
    name and a description, not waiting; an imported bucket) and one v1 job, on one handler."""
    stack, bucket = new_stack()
    plain = HarvestJobV2(
        stack,
        "Plain",
        destination_bucket=bucket,
        tags={"team": "video"},
        **{**PROPS, "dash_manifest_names": ("dash",), "low_latency_hls_manifest_names": ["ll"]},
    )
    named = HarvestJobV2(
        stack,
        "Named",
        destination_bucket=bucket,
        harvest_job_name="clip-2025_03",
        description="the final",
        wait_for_completion=False,
        **{**PROPS, "destination_path": "clips/two/", "hls_manifest_names": [], "dash_manifest_names": ["d"]},
    )
    imported = HarvestJobV2(
        stack,
        "Imported",
        destination_bucket=s3.Bucket.from_bucket_name(stack, "Existing", "existing-clips"),
        **{**PROPS, "channel_name": "backup"},
    )
    v1 = HarvestJob(
        stack,
        "V1",
        origin_endpoint_id="my-hls-endpoint",
        start_time="2025-03-01T10:00:00Z",
        end_time="2025-03-01T10:30:00Z",
        destination_bucket=bucket,
        manifest_key="v1/index.m3u8",
    )
    template = dict(Template.from_stack(stack).to_json())
    return Jobs(stack, template, plain, named, imported, v1)


def test_resource_properties_are_the_wire_contract(jobs: Jobs) -> None:
    bucket_ref = {"Ref": jobs.stack.get_logical_id(jobs.stack.node.find_child("Bucket").node.default_child)}  # type: ignore[arg-type]
    properties = dict(jobs.resource(jobs.plain)["Properties"])
    assert properties.pop("ServiceToken")["Fn::GetAtt"][1] == "Arn"
    assert properties == {
        "ServiceTimeout": str(contract.service_timeout_seconds(contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS)),
        "ChannelGroupName": "live",
        "ChannelName": "main",
        "OriginEndpointName": "hls",
        "StartTime": "2025-03-01T10:00:00Z",
        "EndTime": "2025-03-01T10:30:00Z",
        "S3Destination": {"BucketName": bucket_ref, "DestinationPath": "clips/one/"},
        "HlsManifestNames": ["index"],
        "DashManifestNames": ["dash"],
        "LowLatencyHlsManifestNames": ["ll"],
        "Tags": {"team": "video"},
        "WaitForCompletion": True,
        "CompletionTimeout": contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS,
    }
    assert set(properties) <= contract.PropertyV2.KEYS
    named = jobs.resource(jobs.named)["Properties"]
    assert named["HarvestJobName"] == "clip-2025_03"
    assert named["Description"] == "the final"
    assert named["WaitForCompletion"] is False
    # An empty kind's key is omitted; so are CompletionTimeout without waiting and the optional keys.
    for absent in ("HlsManifestNames", "LowLatencyHlsManifestNames", "CompletionTimeout", "Tags"):
        assert absent not in named
    assert named["ServiceTimeout"] == str(contract.BASE_SERVICE_TIMEOUT_SECONDS)
    assert jobs.resource(jobs.plain)["Type"] == V2
    assert "DependsOn" not in jobs.resource(jobs.plain)


def test_one_function_one_policy_serve_v1_and_v2_jobs(jobs: Jobs) -> None:
    assert len(jobs.of_type("AWS::Lambda::Function")) == 1
    assert len(jobs.of_type(V2)) == 3
    assert len(jobs.of_type(RESOURCE_TYPE)) == 1
    tokens = {json.dumps(resource["Properties"]["ServiceToken"]) for resource in jobs.of_type(V2).values()}
    tokens |= {
        json.dumps(resource["Properties"]["ServiceToken"])
        for resource in jobs.of_type(RESOURCE_TYPE).values()
    }
    assert len(tokens) == 1
    handler_policies = [
        policy
        for policy in jobs.of_type("AWS::IAM::Policy").values()
        if any(
            "mediapackage" in json.dumps(statement["Action"])
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        )
    ]
    assert len(handler_policies) == 1


def test_the_handler_may_use_exactly_the_v2_actions_on_the_arns_iam_allows(jobs: Jobs) -> None:
    by_action = {json.dumps(statement["Action"]): statement for statement in jobs.provider_statements()}
    harvest = by_action[json.dumps(V2_ACTIONS)]
    assert set(harvest) == {"Action", "Effect", "Resource"}
    arns = [resolved_arn(jobs.stack, resource) for resource in harvest["Resource"]]
    expected = [
        "channelGroup/live",
        "channelGroup/live/channel/main",
        ENDPOINT,
        f"{ENDPOINT}/harvestJob/*",  # Plain: its name is generated per request
        f"{ENDPOINT}/harvestJob/clip-2025_03",
        "channelGroup/live/channel/backup",
        "channelGroup/live/channel/backup/originEndpoint/hls",
        "channelGroup/live/channel/backup/originEndpoint/hls/harvestJob/*",
    ]
    assert arns == [ARN_PREFIX + arn for arn in expected]
    # Only the tagged job's create is also authorized as TagResource.
    tagging = by_action['"mediapackagev2:TagResource"']
    assert resolved_arn(jobs.stack, tagging["Resource"]) == f"{ARN_PREFIX}{ENDPOINT}/harvestJob/*"
    # No v2 action needs a role: PassRole only for the v1 job's created role.
    (pass_role,) = [s for s in jobs.provider_statements() if s["Action"] == "iam:PassRole"]
    assert pass_role["Resource"] == jobs.stack.resolve(jobs.v1.destination_role.role_arn)
    assert not any("ListHarvestJobs" in json.dumps(s["Action"]) for s in jobs.provider_statements())


def test_generated_names_wildcards_are_acknowledged_one_by_one(jobs: Jobs) -> None:
    policy = jobs.stack.node.find_child(PROVIDER_ID).node.find_child("Policy")
    acknowledged = {
        rule.removeprefix("Annotation::")
        for entry in policy.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule in entry.data
    }
    v2_findings = {rule for rule in acknowledged if "mediapackagev2" in rule}
    assert v2_findings == {
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:mediapackagev2:eu-west-1:123456789012:"
        f"channelGroup/live/channel/{channel}/originEndpoint/hls/harvestJob/*]"
        for channel in ("main", "backup")
    }


def test_a_v2_only_stack_grants_no_v1_action_and_no_pass_role() -> None:
    stack, bucket = new_stack()
    HarvestJobV2(stack, "Clip", destination_bucket=bucket, harvest_job_name="fixed", **PROPS)
    template = Template.from_stack(stack).to_json()
    policies = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    used = {
        action
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {a for a in used if a.startswith(("mediapackage", "iam:"))} == set(V2_ACTIONS)
    provider_policy = stack.node.find_child(PROVIDER_ID).node.find_child("Policy")
    assert not any(
        "mediapackagev2" in str(e.data) for e in provider_policy.node.metadata
    )  # a fixed name: no wildcard


def test_the_bucket_policy_lets_mediapackage_v2_write_under_the_paths_from_these_endpoints(
    jobs: Jobs,
) -> None:
    """One statement per origin endpoint, whose resources grow with its jobs' paths (S3 allows a bucket
    policy 20 KB); each job's own statement is exposed whole."""
    (policy,) = jobs.of_type("AWS::S3::BucketPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": PRINCIPAL}
    assert statement["Action"] == ["s3:PutObject", "s3:GetBucketLocation", "s3:ListBucket"]
    bucket_arn, *objects = statement["Resource"]
    assert bucket_arn["Fn::GetAtt"][1] == "Arn"
    assert [arn["Fn::Join"][1][1] for arn in objects] == ["/clips/one/*", "/clips/two/*"]
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    arns = [resolved_arn(jobs.stack, arn) for arn in statement["Condition"]["ArnLike"]["aws:SourceArn"]]
    assert arns == [f"{ARN_PREFIX}{ENDPOINT}", f"{ARN_PREFIX}{ENDPOINT}/harvestJob/*"]
    for job, path in ((jobs.plain, "/clips/one/*"), (jobs.named, "/clips/two/*")):
        own = jobs.stack.resolve(job.destination_policy_statement.to_statement_json())
        assert own == {**statement, "Resource": [bucket_arn, objects[0 if path.endswith("one/*") else 1]]}


def test_another_endpoint_gets_its_own_statement() -> None:
    stack, bucket = new_stack()
    HarvestJobV2(stack, "One", destination_bucket=bucket, **PROPS)
    HarvestJobV2(stack, "Two", destination_bucket=bucket, **{**PROPS, "destination_path": "clips/one/"})
    HarvestJobV2(stack, "Other", destination_bucket=bucket, **{**PROPS, "origin_endpoint_name": "dash"})
    (policy,) = Template.from_stack(stack).find_resources("AWS::S3::BucketPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert [len(statement["Resource"]) for statement in statements] == [2, 2]  # the same path once
    sources = [statement["Condition"]["ArnLike"]["aws:SourceArn"][0] for statement in statements]
    assert [resolved_arn(stack, arn).rsplit("/", 1)[1] for arn in sources] == ["hls", "dash"]


def test_the_function_and_so_every_job_waits_for_the_bucket_policy(jobs: Jobs) -> None:
    ((function_id, function),) = jobs.of_type("AWS::Lambda::Function").items()
    (policy_id,) = jobs.of_type("AWS::S3::BucketPolicy")
    assert policy_id in function["DependsOn"]
    for resource in jobs.of_type(V2).values():
        assert resource["Properties"]["ServiceToken"] == {"Fn::GetAtt": [function_id, "Arn"]}


def test_an_imported_bucket_gets_a_warning_with_the_exact_statement(jobs: Jobs) -> None:
    found = [(i, text) for i, text in warnings_of(jobs.stack) if i.endswith("Imported")]
    assert len(found) == 1
    text = found[0][1]
    assert POLICY_NOT_ADDED in text
    printed = json.loads(text[text.index("{") : text.rindex("}") + 1])
    # Ready to paste: plain JSON, what the deployment fills in (the partition) as <AWS::Partition>.
    pasted = json.loads(json.dumps(printed).replace("<AWS::Partition>", "aws"))
    statement = jobs.stack.resolve(jobs.imported.destination_policy_statement.to_statement_json())
    assert pasted["Resource"] == [resolved_arn(jobs.stack, r) for r in statement["Resource"]]
    assert pasted["Condition"]["ArnLike"]["aws:SourceArn"] == [
        resolved_arn(jobs.stack, arn) for arn in statement["Condition"]["ArnLike"]["aws:SourceArn"]
    ]
    assert (pasted["Action"], pasted["Effect"]) == (statement["Action"], statement["Effect"])
    assert pasted["Condition"]["StringEquals"] == statement["Condition"]["StringEquals"]
    assert "Fn::" not in text
    assert '"Ref"' not in text
    assert printed["Principal"] == {"Service": PRINCIPAL}
    assert pasted["Resource"] == [
        "arn:aws:s3:::existing-clips",
        "arn:aws:s3:::existing-clips/clips/one/*",
    ]
    # No other job warns: their bucket's policy holds the statement.
    assert [i for i, _ in warnings_of(jobs.stack)] == [found[0][0]]


def test_the_warning_can_be_acknowledged() -> None:
    stack, _ = new_stack()
    job = HarvestJobV2(
        stack, "Clip", destination_bucket=s3.Bucket.from_bucket_name(stack, "E", "clips-x"), **PROPS
    )
    cdk.Annotations.of(job).acknowledge_warning(POLICY_NOT_ADDED, "the bucket's owner added the statement")
    assert warnings_of(stack) == []


def test_a_kms_bucket_key_lets_mediapackage_v2_make_data_keys() -> None:
    stack = cdk.Stack(cdk.App(context=NO_BUNDLING), "Kms", env=ENV)
    key = kms.Key(stack, "Key")
    bucket = s3.Bucket(stack, "Bucket", encryption_key=key)
    HarvestJobV2(stack, "Clip", destination_bucket=bucket, **PROPS)
    imported_key = kms.Key.from_key_arn(
        stack, "Imported", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    other = s3.Bucket(stack, "Other", encryption_key=imported_key)
    HarvestJobV2(stack, "OtherClip", destination_bucket=other, **{**PROPS, "destination_path": "o/"})
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": PRINCIPAL},
                                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                                "Resource": "*",
                                "Condition": Match.object_like(
                                    {"StringEquals": {"aws:SourceAccount": "123456789012"}}
                                ),
                            }
                        )
                    ]
                )
            }
        },
    )
    ((_, function),) = template.find_resources("AWS::Lambda::Function").items()
    assert stack.get_logical_id(key.node.default_child) in function["DependsOn"]  # type: ignore[arg-type]
    (warning,) = warnings_of(stack)
    assert warning[0] == "/Kms/OtherClip"
    assert "kms:GenerateDataKey" in warning[1]
    assert "1234abcd" in warning[1]


def test_attributes_are_get_att_of_the_resource(jobs: Jobs) -> None:
    logical_id = jobs.stack.get_logical_id(jobs.plain.node.default_child)  # type: ignore[arg-type]
    for value, attribute in (
        (jobs.plain.harvest_job_arn, "Arn"),
        (jobs.plain.harvest_job_name, "HarvestJobName"),
        (jobs.plain.harvest_job_status, "Status"),
        (jobs.plain.harvest_job_created_at, "CreatedAt"),
    ):
        assert attribute in contract.DataV2.KEYS
        assert jobs.stack.resolve(value) == {"Fn::GetAtt": [logical_id, attribute]}
    assert jobs.plain.harvest_job_arn is jobs.plain.harvest_job_arn
    assert jobs.imported.destination_uri == "s3://existing-clips/clips/one/"
    bucket_id = jobs.stack.get_logical_id(jobs.stack.node.find_child("Bucket").node.default_child)  # type: ignore[arg-type]
    assert jobs.stack.resolve(jobs.plain.destination_uri) == {
        "Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/clips/one/"]]
    }
    assert isinstance(jobs.plain.destination_policy_statement, iam.PolicyStatement)


def test_polling_is_granted_only_when_a_job_waits() -> None:
    stack, bucket = new_stack()
    HarvestJobV2(stack, "Clip", destination_bucket=bucket, wait_for_completion=False, **PROPS)
    text = json.dumps(Template.from_stack(stack).to_json())
    assert "events:PutRule" not in text
    assert "AWS::Lambda::Permission" not in text
    stack, bucket = new_stack()
    HarvestJobV2(
        stack, "Clip", destination_bucket=bucket, completion_timeout=cdk.Duration.minutes(20), **PROPS
    )
    template = Template.from_stack(stack)
    # The poll rules' permission; no notification rule (it hears MediaPackage v1's events, for HarvestJob).
    template.resource_count_is("AWS::Lambda::Permission", 1)
    template.resource_count_is("AWS::Events::Rule", 0)
    template.has_resource_properties(
        V2,
        {"CompletionTimeout": 1200, "ServiceTimeout": str(20 * 60 + contract.SERVICE_TIMEOUT_MARGIN_SECONDS)},
    )


def test_each_further_v2_job_costs_as_few_kernel_calls_as_a_v1_job() -> None:
    """The construct, its resource and the path added to the shared bucket-policy statement: the
    per-job reads are cached, the job's own statement made only when asked for."""
    from kernel_calls import counting

    stack, bucket = new_stack()
    HarvestJobV2(stack, "First", destination_bucket=bucket, **PROPS)
    jobs = 20
    with counting() as calls:
        for index in range(jobs):
            HarvestJobV2(
                stack, f"Clip{index}", destination_bucket=bucket, **{**PROPS, "destination_path": f"{index}/"}
            )
    assert sum(calls.values()) <= 3 * jobs, calls
    (policy,) = Template.from_stack(stack).find_resources("AWS::S3::BucketPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert len(statement["Resource"]) == 2 + jobs


def test_the_written_bucket_policy_lets_the_local_mediapackage_v2_write_only_for_its_endpoint() -> None:
    """The policy as deployed (intrinsics resolved, with the bucket's TLS-only Deny) judged by the local
    MediaPackage v2's evaluator: allowed under each job's path from the job's endpoint, with either
    ARN as the source; refused elsewhere, from another endpoint, or for another account."""
    from local_aws import bucket_policy
    from local_aws.intrinsics import Intrinsics

    stack = cdk.Stack(cdk.App(context=NO_BUNDLING), "Deployed", env=ENV)
    bucket = s3.Bucket(stack, "Bucket", enforce_ssl=True)
    for number, path in enumerate(["clips/one/", "clips"]):
        HarvestJobV2(stack, f"Clip{number}", destination_bucket=bucket, **{**PROPS, "destination_path": path})
    (policy,) = Template.from_stack(stack).find_resources("AWS::S3::BucketPolicy").values()
    document = Intrinsics(
        {stack.get_logical_id(bucket.node.default_child): "clips-bucket"},  # type: ignore[arg-type]
        {(stack.get_logical_id(bucket.node.default_child), "Arn"): "arn:aws:s3:::clips-bucket"},  # type: ignore[arg-type]
    )(policy["Properties"]["PolicyDocument"])
    endpoint = f"{ARN_PREFIX}{ENDPOINT}"

    def decision(key: str, source: str = endpoint, account: str = "123456789012") -> str:
        request = bucket_policy.service_request(
            PRINCIPAL, "s3:PutObject", f"arn:aws:s3:::clips-bucket/{key}", account, source
        )
        return bucket_policy.decision(json.dumps(document), request)

    assert decision("clips/one/index.m3u8") == "ALLOW"
    assert decision("clips/index_1.m3u8") == "ALLOW"  # a path without "/": MediaPackage may add one
    assert decision("clips/one/index.m3u8", source=f"{endpoint}/harvestJob/clip") == "ALLOW"
    assert decision("other/index.m3u8") == "IMPLICIT_DENY"
    assert decision("clips/one/index.m3u8", source=endpoint.replace("/hls", "/dash")) == "IMPLICIT_DENY"
    assert decision("clips/one/index.m3u8", account="999999999999") == "IMPLICIT_DENY"
