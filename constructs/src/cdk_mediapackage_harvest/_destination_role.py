"""The role MediaPackage assumes to write a bucket's clips: made with the first job that writes to
the bucket without a role of its own, as a child of the bucket, then shared by every such job.

May import aws-cdk-lib, constructs, the contract module, ``_acknowledgments`` and ``_synth``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cdk_mediapackage_harvest_contract as contract
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct, IDependable

from cdk_mediapackage_harvest._acknowledgments import acknowledge_wildcard_resources
from cdk_mediapackage_harvest._provider import MEDIAPACKAGE_PRINCIPAL
from cdk_mediapackage_harvest._synth import ObjectCache

DESTINATION_ROLE_ID = contract.DESTINATION_ROLE_ID


@dataclass(frozen=True)
class CreatedRole:
    role: iam.IRole
    role_arn: str
    #: What a job waits for before MediaPackage writes: the role's policy (its S3 and KMS permissions).
    policy: IDependable


def _create_role(bucket: s3.IBucket) -> CreatedRole:
    """The bucket's harvest role: created with the first job that writes to it, then shared."""
    existing = bucket.node.try_find_child(DESTINATION_ROLE_ID)
    if isinstance(existing, iam.Role):
        # Made before this process cached it (e.g. by another copy of this module).
        return CreatedRole(existing, existing.role_arn, existing)
    # A child of the bucket: one role per bucket, found again by id. IBucket is always a
    # Construct at run time; its interface type does not say so.
    role = iam.Role(
        cast(Construct, bucket),
        DESTINATION_ROLE_ID,
        assumed_by=iam.ServicePrincipal(MEDIAPACKAGE_PRINCIPAL),
        description="Lets AWS Elemental MediaPackage write harvested clips to this bucket",
    )
    put = iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects("*")])
    added = role.add_to_principal_policy(put)
    acknowledge_wildcard_resources(
        role,
        put.resources,
        "MediaPackage writes each job's manifest, child playlists and segments under keys it names "
        "beside the job's manifest_key, and every job writing to this bucket shares this role",
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:GetBucketLocation", "s3:ListBucket"], resources=[bucket.bucket_arn])
    )
    if bucket.encryption_key is not None:
        # SSE-KMS: writing an object needs a data key; multipart uploads also decrypt it.
        bucket.encryption_key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")
    # The role's default policy holds all of the above; the role itself is named by the job's RoleArn.
    policy = added.policy_dependable
    return CreatedRole(role, role.role_arn, policy if policy is not None else role)


#: Each bucket's created role, kept with the bucket.
created_role: ObjectCache[s3.IBucket, CreatedRole] = ObjectCache(_create_role)
