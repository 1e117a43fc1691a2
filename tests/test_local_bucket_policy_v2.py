"""A local MediaPackage v2 harvest job writes only where the destination bucket's real policy (in moto's S3)
lets ``mediapackagev2.amazonaws.com`` ``s3:PutObject`` for this account and origin endpoint; otherwise it
ends FAILED with an ErrorMessage naming the key. The evaluator (local_aws/bucket_policy.py) on its own,
then through jobs on the local AWS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import ACCOUNT_ID, LocalSetupV2, v2_request, wait_until_done_v2

from local_aws import bucket_policy, prerequisites
from local_aws.server import LocalAws

ENDPOINT_ARN = (
    f"arn:aws:mediapackagev2:us-east-1:{ACCOUNT_ID}:channelGroup/live/channel/main/originEndpoint/hls"
)
OTHER_ARN = ENDPOINT_ARN.replace("/hls", "/dash")
PRINCIPAL = {"Service": "mediapackagev2.amazonaws.com"}
KEY_ARN = "arn:aws:s3:::clips/clips/clip-1/index.m3u8"
REQUEST = bucket_policy.service_request(
    "mediapackagev2.amazonaws.com", "s3:PutObject", KEY_ARN, ACCOUNT_ID, ENDPOINT_ARN
)


def statement(**changes: Any) -> dict[str, Any]:
    base = {
        "Effect": "Allow",
        "Principal": PRINCIPAL,
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::clips/*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
            "ArnLike": {"aws:SourceArn": ENDPOINT_ARN},
        },
    }
    return {key: value for key, value in (base | changes).items() if value is not None}


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ENFORCE_SSL = {
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::clips", "arn:aws:s3:::clips/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}

DECISIONS: dict[str, tuple[str | None, str]] = {
    "no-policy": (None, "IMPLICIT_DENY"),
    "the-statement": (policy(statement()), "ALLOW"),
    "single-statement-object": (json.dumps({"Statement": statement()}), "ALLOW"),
    "with-enforce-ssl-deny": (policy(statement(), ENFORCE_SSL), "ALLOW"),
    "action-wildcard": (policy(statement(Action=["s3:Get*", "s3:Put*"])), "ALLOW"),
    "action-case": (policy(statement(Action="S3:putobject")), "ALLOW"),
    "action-star": (policy(statement(Action="*")), "ALLOW"),
    "resource-prefix": (policy(statement(Resource="arn:aws:s3:::clips/clips/*")), "ALLOW"),
    "resource-question-mark": (policy(statement(Resource="arn:aws:s3:::clip?/*")), "ALLOW"),
    "arn-equals": (policy(statement(Condition={"ArnEquals": {"aws:SourceArn": ENDPOINT_ARN}})), "ALLOW"),
    "string-like": (
        policy(statement(Condition={"StringLike": {"aws:sourcearn": ENDPOINT_ARN[:-3] + "*"}})),
        "ALLOW",
    ),
    "arn-like-wildcard-region": (
        policy(statement(Condition={"ArnLike": {"aws:SourceArn": ENDPOINT_ARN.replace("us-east-1", "*")}})),
        "ALLOW",
    ),
    "any-of-two-arns": (
        policy(statement(Condition={"ArnLike": {"aws:SourceArn": [OTHER_ARN, ENDPOINT_ARN]}})),
        "ALLOW",
    ),
    "no-conditions": (policy(statement(Condition=None)), "ALLOW"),
    "principal-star": (policy(statement(Principal="*")), "ALLOW"),
    "if-exists-on-absent-key": (
        policy(statement(Condition={"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-1"}})),
        "ALLOW",
    ),
    "not-action-other": (policy(statement(Action=None, NotAction="s3:DeleteObject")), "ALLOW"),
    "other-account": (
        policy(statement(Condition={"StringEquals": {"aws:SourceAccount": "210987654321"}})),
        "IMPLICIT_DENY",
    ),
    "other-endpoint": (
        policy(statement(Condition={"ArnLike": {"aws:SourceArn": OTHER_ARN}})),
        "IMPLICIT_DENY",
    ),
    "v1-service": (policy(statement(Principal={"Service": "mediapackage.amazonaws.com"})), "IMPLICIT_DENY"),
    "account-principal": (
        policy(statement(Principal={"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"})),
        "IMPLICIT_DENY",
    ),
    "get-only": (policy(statement(Action="s3:GetObject")), "IMPLICIT_DENY"),
    "other-prefix": (policy(statement(Resource="arn:aws:s3:::clips/archive/*")), "IMPLICIT_DENY"),
    "bucket-not-objects": (policy(statement(Resource="arn:aws:s3:::clips")), "IMPLICIT_DENY"),
    "absent-key": (
        policy(statement(Condition={"StringEquals": {"aws:PrincipalOrgID": "o-1"}})),
        "IMPLICIT_DENY",
    ),
    "string-not-equals-own-account": (
        policy(statement(Condition={"StringNotEquals": {"aws:SourceAccount": ACCOUNT_ID}})),
        "IMPLICIT_DENY",
    ),
    "explicit-deny-wins": (policy(statement(), statement(Effect="Deny", Condition=None)), "EXPLICIT_DENY"),
    "deny-other-accounts": (
        policy(
            statement(),
            statement(Effect="Deny", Condition={"StringNotEquals": {"aws:SourceAccount": ACCOUNT_ID}}),
        ),
        "ALLOW",
    ),
    "not-principal-deny": (
        policy(
            statement(),
            statement(
                Effect="Deny",
                Principal=None,
                NotPrincipal={"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                Condition=None,
            ),
        ),
        "EXPLICIT_DENY",
    ),
}


@pytest.mark.parametrize(("document", "expected"), DECISIONS.values(), ids=DECISIONS.keys())
def test_decision(document: str | None, expected: str) -> None:
    assert bucket_policy.decision(document, REQUEST) == expected


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("not json", id="not-json"),
        pytest.param(
            policy(statement(Condition={"DateGreaterThan": {"aws:CurrentTime": "2026-01-01"}})), id="operator"
        ),
        pytest.param(
            policy(statement(Condition={"ForAnyValue:StringEquals": {"aws:SourceAccount": "1"}})),
            id="set-operator",
        ),
        pytest.param(json.dumps({"Statement": ["not an object"]}), id="statement-not-object"),
    ],
)
def test_what_is_not_understood_is_said(document: str) -> None:
    with pytest.raises(bucket_policy.PolicyNotUnderstoodError):
        bucket_policy.decision(document, REQUEST)


def test_the_prerequisites_statement_is_what_mediapackage_needs(
    aws: LocalAws, setup_v2: LocalSetupV2
) -> None:
    document = aws.client("s3").get_bucket_policy(Bucket=setup_v2.bucket)["Policy"]
    (only,) = json.loads(document)["Statement"]
    assert only == prerequisites.harvest_v2_statement(setup_v2.bucket, [setup_v2.origin_endpoint_arn])
    assert only["Principal"] == PRINCIPAL
    assert only["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT_ID}
    assert only["Condition"]["ArnLike"] == {"aws:SourceArn": [setup_v2.origin_endpoint_arn]}


JOB_POLICIES: dict[str, tuple[list[dict[str, Any]] | None, str, str]] = {
    "allowed": ([], "COMPLETED", ""),
    "missing": (None, "FAILED", "does not allow"),
    "explicit-deny": (
        [statement(Effect="Deny", Resource="arn:aws:s3:::{bucket}/clips/*", Condition=None)],
        "FAILED",
        "denies",
    ),
}


@pytest.mark.parametrize(("extra", "status", "message"), JOB_POLICIES.values(), ids=JOB_POLICIES.keys())
def test_a_job_writes_only_where_the_bucket_policy_allows(
    aws: LocalAws, setup_v2: LocalSetupV2, extra: list[dict[str, Any]] | None, status: str, message: str
) -> None:
    s3 = aws.client("s3")
    if extra is None:
        s3.delete_bucket_policy(Bucket=setup_v2.bucket)
    else:
        statements = json.loads(json.dumps(extra).replace("{bucket}", setup_v2.bucket))
        prerequisites.allow_harvest_v2(aws, setup_v2.bucket, [setup_v2.origin_endpoint_arn], *statements)
    client = aws.mediapackagev2()
    client.create_harvest_job(**v2_request(setup_v2))
    job = wait_until_done_v2(client, setup_v2, "clip-1")
    assert job["Status"] == status
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=setup_v2.bucket).get("Contents", [])}
    if status == "FAILED":
        assert job["ErrorMessage"].startswith(
            f"Unable to write to s3://{setup_v2.bucket}/clips/clip-1/index.m3u8"
        )
        assert message in job["ErrorMessage"]
        assert "mediapackagev2.amazonaws.com" in job["ErrorMessage"]
        assert keys == set()
    else:
        assert keys == {"clips/clip-1/index.m3u8", "clips/clip-1/index_1.m3u8"}


def test_the_policy_is_read_when_the_job_runs(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    aws.harvest_v2.completion_delay = 1.0  # ample time to change the policy
    client = aws.mediapackagev2()
    client.create_harvest_job(**v2_request(setup_v2))
    prerequisites.allow_harvest_v2(
        aws, setup_v2.bucket, [setup_v2.origin_endpoint_arn.replace("/hls", "/other")]
    )
    job = wait_until_done_v2(client, setup_v2, "clip-1")
    assert (job["Status"], "does not allow" in job["ErrorMessage"]) == ("FAILED", True)


def test_a_policy_not_understood_fails_the_job_saying_so(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    odd = statement(
        Resource=f"arn:aws:s3:::{setup_v2.bucket}/*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    )
    aws.client("s3").put_bucket_policy(Bucket=setup_v2.bucket, Policy=policy(odd))
    client = aws.mediapackagev2()
    client.create_harvest_job(**v2_request(setup_v2))
    job = wait_until_done_v2(client, setup_v2, "clip-1")
    assert job["Status"] == "FAILED"
    assert "'IpAddress' is not understood" in job["ErrorMessage"]


def test_a_bucket_deleted_while_the_job_runs_fails_it(aws: LocalAws, setup_v2: LocalSetupV2) -> None:
    aws.harvest_v2.completion_delay = 1.0  # ample time to delete the bucket
    client = aws.mediapackagev2()
    client.create_harvest_job(**v2_request(setup_v2))
    aws.client("s3").delete_bucket_policy(Bucket=setup_v2.bucket)
    aws.client("s3").delete_bucket(Bucket=setup_v2.bucket)
    job = wait_until_done_v2(client, setup_v2, "clip-1")
    assert (job["Status"], job["ErrorMessage"]) == (
        "FAILED",
        f"Unable to write to s3://{setup_v2.bucket}: the bucket does not exist",
    )
