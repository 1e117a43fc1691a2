"""The harvested clip made a playable VOD asset with MediaPackage VOD, in the same stack.

The harvest job waits for completion (the default), so the manifest is in the bucket when
CloudFormation creates the asset, which depends on the job. MediaPackage VOD reads the clip through
a role of its own (read-only on the bucket) and packages it for playback: the asset's
``EgressEndpoints`` give the playback URLs. For plain progressive delivery, a CloudFront
distribution with the bucket as its origin serves the harvested HLS files as they are instead.

    npx cdk synth --app "python examples/vod_asset.py"
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_mediapackage as mediapackage
from aws_cdk import aws_s3 as s3
from cdk_mediapackage_harvest import HarvestJob

MANIFEST_KEY = "clips/final/index.m3u8"


def build(app: cdk.App) -> cdk.Stack:
    stack = cdk.Stack(app, "VodAsset")
    bucket = s3.Bucket(stack, "Clips", enforce_ssl=True)
    job = HarvestJob(
        stack,
        "Clip",
        origin_endpoint_id="my-hls-endpoint",
        start_time="2026-11-28T10:00:00Z",
        end_time="2026-11-28T10:30:00Z",
        destination_bucket=bucket,
        manifest_key=MANIFEST_KEY,
    )
    group = mediapackage.CfnPackagingGroup(stack, "PackagingGroup", id="clips")
    hls = mediapackage.CfnPackagingConfiguration(
        stack,
        "Hls",
        id="clips-hls",
        packaging_group_id=group.id,
        hls_package=mediapackage.CfnPackagingConfiguration.HlsPackageProperty(
            hls_manifests=[mediapackage.CfnPackagingConfiguration.HlsManifestProperty()]
        ),
    )
    hls.node.add_dependency(group)
    reader = iam.Role(stack, "VodSourceRole", assumed_by=iam.ServicePrincipal("mediapackage.amazonaws.com"))
    bucket.grant_read(reader)
    asset = mediapackage.CfnAsset(
        stack,
        "Asset",
        id="final-clip",
        packaging_group_id=group.id,
        source_arn=bucket.arn_for_objects(MANIFEST_KEY),
        source_role_arn=reader.role_arn,
    )
    asset.node.add_dependency(hls, job, reader)
    cdk.CfnOutput(stack, "HarvestJobStatus", value=job.harvest_job_status)
    cdk.CfnOutput(stack, "AssetId", value=asset.id)
    return stack


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
