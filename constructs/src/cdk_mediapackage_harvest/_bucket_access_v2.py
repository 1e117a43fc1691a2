"""What lets MediaPackage v2 write a job's clip: a bucket-policy statement (and a KMS key-policy grant).

A v2 harvest request names no role: MediaPackage v2 writes as its service principal, so the
destination bucket's own policy must allow it, scoped against the confused deputy to this account
(``aws:SourceAccount``) and to the job's origin endpoint (``aws:SourceArn``). The statement is added to
a bucket the stack creates; for a bucket the stack cannot edit, a warning prints it. May import
aws-cdk-lib, constructs, the contract module and ``_synth``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, cast

import cdk_mediapackage_harvest_contract as contract
from aws_cdk import Annotations, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct, IDependable

from cdk_mediapackage_harvest._acknowledgments import as_cdk_nag_writes
from cdk_mediapackage_harvest._synth import ObjectCache, stack_of

#: The warning for a bucket (or key) whose policy the stack cannot edit; acknowledgeable by this id.
POLICY_NOT_ADDED = "cdk-mediapackage-harvest:destinationPolicyNotAdded"
#: What MediaPackage v2 may do on the bucket and under the destination path: what MediaPackage's user
#: guide lists for live-to-VOD (PutObject; GetBucketLocation and ListBucket on the bucket).
BUCKET_ACTIONS = ("s3:PutObject", "s3:GetBucketLocation", "s3:ListBucket")
#: SSE-KMS: writing an object needs a data key; a multipart upload also decrypts it.
KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


class BucketAccess:
    """What a job was granted: its own statement (made when first asked for: building it costs calls
    into the CDK that a created bucket's shared statement does not need), and what to wait for."""

    def __init__(
        self, resources: list[str], conditions: dict[str, object], dependables: tuple[IDependable, ...]
    ) -> None:
        self._resources = resources
        self._conditions = conditions
        self._statement: iam.PolicyStatement | None = None
        #: What must exist before MediaPackage v2 writes: the bucket and key policies the stack made.
        self.dependables = dependables

    @property
    def statement(self) -> iam.PolicyStatement:
        if self._statement is None:
            self._statement = _statement(BUCKET_ACTIONS, self._resources, self._conditions)
        return self._statement


def source_conditions(stack: Stack, endpoint_arn: str) -> dict[str, object]:
    """This account, and the origin endpoint or any of its harvest jobs as the source.

    The documentation does not say which ARN MediaPackage v2 presents as ``aws:SourceArn`` when it
    writes (the endpoint's or the harvest job's, a child of it): both are allowed, so that neither
    choice loses a clip, and nothing outside this endpoint is.
    """
    return {
        "StringEquals": {"aws:SourceAccount": _account(stack)},
        "ArnLike": {"aws:SourceArn": [endpoint_arn, f"{endpoint_arn}/harvestJob/*"]},
    }


def grant_bucket_access(
    scope: Construct, stack: Stack, bucket: s3.IBucket, destination_path: str, endpoint_arn: str
) -> BucketAccess:
    """Let MediaPackage v2 write under ``destination_path`` from ``endpoint_arn``: through the
    bucket's policy (and its KMS key's), or a warning on ``scope`` (a job of ``stack``) with the
    statement to add by hand.

    In a bucket the stack created, the jobs of one origin endpoint share one statement whose
    resources grow with their paths (S3 allows a bucket policy 20 KB); the job's own statement is
    ``BucketAccess.statement``.
    """
    conditions = source_conditions(stack, endpoint_arn)
    bucket_arn = _bucket_arn(bucket)
    # As ``arn_for_objects`` writes it, without the call into the CDK.
    objects = f"{bucket_arn}/{destination_path}*"
    resources = [bucket_arn, objects]
    dependables: list[IDependable] = []
    if isinstance(bucket, s3.Bucket):  # created in a stack: its policy is the construct's to extend
        added = _added(bucket)
        shared = added.get(endpoint_arn)
        if shared is None:
            # Its own statement, not the job's: it grows with the endpoint's other jobs.
            statement = _statement(BUCKET_ACTIONS, resources, conditions)
            if bucket.add_to_resource_policy(statement).statement_added:
                added[endpoint_arn] = SharedStatement(statement, [objects])
                if bucket.policy is not None:
                    dependables.append(bucket.policy)
        elif objects not in shared.objects:
            shared.objects.append(objects)
            shared.statement.add_resources(objects)
    else:
        _warn(
            scope,
            f"the bucket {bucket.bucket_name}'s policy",
            _statement(BUCKET_ACTIONS, resources, conditions),
        )
    key = _encryption_key(bucket)
    if key is not None:
        granted = _added(key)
        if endpoint_arn not in granted:
            grant = _statement(KEY_ACTIONS, ["*"], conditions)
            added_to_key = key.add_to_resource_policy(grant) if isinstance(key, kms.Key) else None
            if added_to_key is None or not added_to_key.statement_added:
                _warn(scope, f"the key {key.key_arn}'s policy", grant)
            else:
                granted[endpoint_arn] = SharedStatement(grant, [])
                dependables.append(cast(IDependable, key))
    return BucketAccess(resources, conditions, tuple(dependables))


def _statement(
    actions: tuple[str, ...], resources: list[str], conditions: dict[str, object]
) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        principals=[_principal()], actions=list(actions), resources=list(resources), conditions=conditions
    )


@functools.cache
def _principal() -> iam.ServicePrincipal:
    """The v2 service principal (not a construct: one object serves every app)."""
    return iam.ServicePrincipal(contract.V2_SERVICE_PRINCIPAL)


@dataclass
class SharedStatement:
    statement: iam.PolicyStatement
    #: The object ARNs (one per destination path) among its resources.
    objects: list[str]


#: The statements added to each created bucket's (or key's) policy, by origin endpoint ARN.
_added: ObjectCache[object, dict[str, SharedStatement]] = ObjectCache(lambda _: {})
#: What never changes, read once per object.
_account: ObjectCache[Stack, str] = ObjectCache(lambda stack: stack.account)
_bucket_arn: ObjectCache[s3.IBucket, str] = ObjectCache(lambda bucket: bucket.bucket_arn)
_encryption_key: ObjectCache[s3.IBucket, kms.IKey | None] = ObjectCache(lambda bucket: bucket.encryption_key)


def _readable(value: Any) -> Any:
    """A resolved policy value as a person pastes it: each intrinsic function one string, with what
    the deployment fills in as ``<AWS::Partition>``, ``<Logical.Arn>`` (as cdk-nag writes them)."""
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _INTRINSICS:
        return as_cdk_nag_writes(value)
    if isinstance(value, dict):
        return {key: _readable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_readable(item) for item in value]
    return value


_INTRINSICS = ("Ref", "Fn::Join", "Fn::GetAtt", "Fn::Sub", "Fn::ImportValue")


def _warn(scope: Construct, where: str, statement: iam.PolicyStatement) -> None:
    rendered = json.dumps(_readable(stack_of(scope).resolve(statement.to_statement_json())), sort_keys=True)
    Annotations.of(scope).add_warning_v2(
        POLICY_NOT_ADDED,
        f"MediaPackage v2 writes the clip as {contract.V2_SERVICE_PRINCIPAL} (its request has no role), "
        f"and this stack cannot edit {where}: add this statement to it before deploying, or the harvest "
        f"job fails (fill in each <...>, e.g. <AWS::Partition> with aws): {rendered}",
    )
