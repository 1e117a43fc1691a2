"""The HarvestJob construct: an AWS Elemental MediaPackage (v1) harvest job as a stack resource."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules
from aws_cdk import Annotations, CustomResource, Duration, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_mediapackage_harvest._acknowledgments import acknowledge_wildcard_resources
from cdk_mediapackage_harvest._provider import MEDIAPACKAGE_PRINCIPAL, HarvestJobProvider

P = contract.Property

#: Public contract: the CloudFormation type of the custom resource.
RESOURCE_TYPE = contract.RESOURCE_TYPE
#: Public contract: the id of the role created for a destination bucket, a child of the bucket.
DESTINATION_ROLE_ID = contract.DESTINATION_ROLE_ID
#: How long a deployment waits for the job by default: a little under CloudFormation's hour.
DEFAULT_COMPLETION_TIMEOUT = Duration.seconds(contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS)
#: CloudFormation's longest wait for a custom resource (ServiceTimeout).
MAX_SERVICE_TIMEOUT = Duration.seconds(contract.MAX_SERVICE_TIMEOUT_SECONDS)
#: ServiceTimeout beyond the completion timeout: the minute between two polls, and answering.
SERVICE_TIMEOUT_MARGIN = Duration.seconds(contract.SERVICE_TIMEOUT_MARGIN_SECONDS)
#: ServiceTimeout without waiting, and at least: the function's 10 minutes, and answering.
BASE_SERVICE_TIMEOUT = Duration.seconds(contract.BASE_SERVICE_TIMEOUT_SECONDS)
MIN_COMPLETION_TIMEOUT = Duration.seconds(contract.MIN_COMPLETION_TIMEOUT_SECONDS)


class HarvestJob(Construct):
    """A MediaPackage harvest job: a clip of a live origin endpoint's startover window, to S3.

    The job is created when the stack deploys. Harvest jobs cannot be changed or deleted: a change
    to a harvest property creates a new job (with a new Id), and removing the resource leaves the
    job's record in MediaPackage, which keeps it for 90 days.

    Example::

        job = HarvestJob(self, "Clip",
            origin_endpoint_id="my-hls-endpoint",
            start_time="2026-11-28T10:00:00Z",
            end_time=datetime(2026, 11, 28, 10, 30, tzinfo=timezone.utc),
            destination_bucket=bucket,
            manifest_key="clips/final/index.m3u8",
        )
        CfnOutput(self, "HarvestJobArn", value=job.harvest_job_arn)
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        origin_endpoint_id: str,
        start_time: str | datetime,
        end_time: str | datetime,
        destination_bucket: s3.IBucket,
        manifest_key: str,
        destination_role: iam.IRole | None = None,
        harvest_job_id: str | None = None,
        wait_for_completion: bool = True,
        completion_timeout: Duration | None = None,
    ) -> None:
        """Define a harvest job.

        :param origin_endpoint_id: The id of the MediaPackage origin endpoint (HLS, or DASH with
            a timeline segment template) to harvest from; it must have a startover window that
            covers the harvest window. Letters, digits, ``_`` and ``-``.
        :param start_time: The start of the window to harvest: an ISO-8601 string with a time
            zone (``"2026-11-28T10:00:00Z"``) or a timezone-aware ``datetime``. Sent to
            MediaPackage as ISO-8601 UTC with ``Z``.
        :param end_time: The end of the window, in the same forms. After ``start_time``, at most
            24 hours after it, and in the past when the stack deploys (a time still in the
            future at synth is only a warning, since deployment may come later).
        :param destination_bucket: The bucket MediaPackage writes the clip to, in the stack's region.
        :param manifest_key: The S3 key of the top-level manifest, e.g.
            ``"clips/final/index.m3u8"``; segments go beside it. Not starting with ``/``, at most
            1024 bytes. A job with the same key as another overwrites its manifest.
        :param destination_role: The role MediaPackage assumes to write to the bucket; it must
            trust ``mediapackage.amazonaws.com``. The handler may pass only this role, and only
            to MediaPackage. Default: - one role per destination bucket is created, trusted by
            MediaPackage, allowed ``s3:PutObject``, ``s3:GetBucketLocation`` and
            ``s3:ListBucket`` on that bucket (and to use its KMS key, when it has one).
        :param harvest_job_id: The harvest job's Id. MediaPackage keeps an Id for 90 days, so a
            fixed Id cannot be given new harvest properties. Default: - generated from the stack
            name, the logical id and the CloudFormation request, unique for each create or
            replacement.
        :param wait_for_completion: Whether the deployment waits until the job has finished:
            ``SUCCEEDED`` makes the resource (and ``harvest_job_status``) ``SUCCEEDED``; ``FAILED``
            fails the resource, and the deployment rolls back. With ``False`` the resource is
            created as soon as MediaPackage accepted the job, ``IN_PROGRESS``. An update that
            keeps the job never waits. Default: True
        :param completion_timeout: How long to wait for the job, from when the handler receives
            the event; the resource fails once it has passed (the job goes on in MediaPackage).
            From 1 to 57 minutes: CloudFormation waits at most an hour for a custom resource, and
            the resource's ServiceTimeout is this plus 3 minutes, and at least 15 (the function's
            10 minutes and answering). Only with
            ``wait_for_completion``. Default: 55 minutes
        """
        super().__init__(scope, id)
        timeout = _completion_timeout(wait_for_completion, completion_timeout)
        start = _checked_time("start_time", start_time)
        end = _checked_time("end_time", end_time)
        if isinstance(start, datetime) and isinstance(end, datetime):
            rules.check_window(start, end, start_name="start_time", end_name="end_time")
        if isinstance(end, datetime) and end > datetime.now(UTC):
            Annotations.of(self).add_warning_v2(
                "cdk-mediapackage-harvest:endTimeInFuture",
                f"end_time {rules.format_time(end)} is still in the future: deploy after it has "
                "passed, or the harvest job fails (MediaPackage harvests only past content)",
            )
        if not Token.is_unresolved(origin_endpoint_id):
            rules.check_identifier("origin_endpoint_id", origin_endpoint_id, max_length=None)
        if not Token.is_unresolved(manifest_key):
            rules.check_manifest_key("manifest_key", manifest_key)
            warning = rules.manifest_key_warning("manifest_key", manifest_key)
            if warning:
                Annotations.of(self).add_warning_v2("cdk-mediapackage-harvest:manifestKeyExtension", warning)
        if harvest_job_id is not None and not Token.is_unresolved(harvest_job_id):
            rules.check_identifier("harvest_job_id", harvest_job_id)
        _check_reference(
            "destination_bucket",
            destination_bucket,
            ("bucket_name", "arn_for_objects"),
            "an s3.IBucket, e.g. s3.Bucket.from_bucket_name(self, 'Clips', 'my-bucket')",
        )
        if not Token.is_unresolved(destination_bucket.bucket_name):
            rules.check_bucket_name("destination_bucket", destination_bucket.bucket_name)
        if destination_role is not None:
            _check_reference(
                "destination_role",
                destination_role,
                ("role_arn", "grant_pass_role"),
                "an iam.IRole, e.g. iam.Role.from_role_arn(self, 'HarvestRole', role_arn)",
            )
            if not Token.is_unresolved(destination_role.role_arn):
                rules.check_role_arn("destination_role", destination_role.role_arn)

        role = destination_role or _destination_role(destination_bucket)
        provider = HarvestJobProvider.of(self)
        provider.grant_pass_role(role)
        if timeout is not None:
            provider.enable_polling()

        properties: dict[str, object] = {
            P.ORIGIN_ENDPOINT_ID: origin_endpoint_id,
            P.START_TIME: rules.format_time(start) if isinstance(start, datetime) else start,
            P.END_TIME: rules.format_time(end) if isinstance(end, datetime) else end,
            P.S3_DESTINATION: {
                P.BUCKET_NAME: destination_bucket.bucket_name,
                P.MANIFEST_KEY: manifest_key,
                P.ROLE_ARN: role.role_arn,
            },
        }
        if harvest_job_id is not None:
            properties[P.ID] = harvest_job_id
        properties[P.WAIT_FOR_COMPLETION] = timeout is not None
        completion_seconds = None if timeout is None else int(timeout.to_seconds())
        if completion_seconds is not None:
            properties[P.COMPLETION_TIMEOUT] = completion_seconds
        service_timeout = Duration.seconds(contract.service_timeout_seconds(completion_seconds))
        resource = CustomResource(
            self,
            "Resource",
            resource_type=RESOURCE_TYPE,
            service_token=provider.service_token,
            properties=properties,
            service_timeout=service_timeout,
        )
        # The handler keeps its permissions until every job is gone (CloudFormation deletes the
        # policy only after the resources that depend on it).
        resource.node.add_dependency(provider.policy)
        # MediaPackage starts writing as soon as the job exists: the role's own policies (S3,
        # KMS) must be in place first. An imported role has no resources to wait for.
        resource.node.add_dependency(role)

        self._destination_role = role
        self._harvest_job_arn = resource.get_att_string(contract.Data.ARN)
        self._harvest_job_id = resource.get_att_string(contract.Data.ID)
        self._harvest_job_status = resource.get_att_string(contract.Data.STATUS)
        self._harvest_job_channel_id = resource.get_att_string(contract.Data.CHANNEL_ID)
        self._harvest_job_created_at = resource.get_att_string(contract.Data.CREATED_AT)
        self._manifest_uri = resource.get_att_string("ManifestUri")

    @property
    def destination_role(self) -> iam.IRole:
        """The role MediaPackage assumes to write the clip: the one given, or the one created."""
        return self._destination_role

    @property
    def harvest_job_arn(self) -> str:
        """A token representing the harvest job's ARN.

        :attribute: Arn
        """
        return self._harvest_job_arn

    @property
    def harvest_job_id(self) -> str:
        """A token representing the harvest job's Id (also its physical resource id).

        :attribute: Id
        """
        return self._harvest_job_id

    @property
    def harvest_job_status(self) -> str:
        """A token representing the job's status when the resource was last created or updated.

        ``SUCCEEDED`` with ``wait_for_completion`` (a ``FAILED`` job fails the resource);
        ``IN_PROGRESS`` without it. An update that keeps the job reports its status then, and
        ``EXPIRED`` once MediaPackage no longer keeps the record (90 days).

        :attribute: Status
        """
        return self._harvest_job_status

    @property
    def harvest_job_channel_id(self) -> str:
        """A token representing the id of the channel the origin endpoint belongs to.

        :attribute: ChannelId
        """
        return self._harvest_job_channel_id

    @property
    def harvest_job_created_at(self) -> str:
        """A token representing when MediaPackage received the job (ISO-8601).

        :attribute: CreatedAt
        """
        return self._harvest_job_created_at

    @property
    def manifest_uri(self) -> str:
        """A token representing the harvested manifest's location, ``s3://bucket/manifest_key``.

        :attribute: ManifestUri
        """
        return self._manifest_uri


def _completion_timeout(wait_for_completion: bool, completion_timeout: Duration | None) -> Duration | None:
    """The checked completion timeout when waiting, else None."""
    if not isinstance(wait_for_completion, bool):
        raise TypeError(f"wait_for_completion: {wait_for_completion!r}; expected True or False")
    if completion_timeout is None:
        return DEFAULT_COMPLETION_TIMEOUT if wait_for_completion else None
    if not isinstance(completion_timeout, Duration):
        raise TypeError(
            f"completion_timeout: {completion_timeout!r}; expected a Duration, e.g. Duration.minutes(30)"
        )
    if completion_timeout.is_unresolved():
        raise ValueError(
            "completion_timeout: a token; expected a concrete Duration, e.g. Duration.minutes(30)"
        )
    if not wait_for_completion:
        raise ValueError(
            f"completion_timeout: {completion_timeout.to_human_string()} is set, but wait_for_completion "
            "is False; expected no completion_timeout, or wait_for_completion=True"
        )
    seconds = completion_timeout.to_milliseconds() / 1000
    longest = MAX_SERVICE_TIMEOUT.to_seconds() - SERVICE_TIMEOUT_MARGIN.to_seconds()
    if not (MIN_COMPLETION_TIMEOUT.to_seconds() <= seconds <= longest) or not seconds.is_integer():
        raise ValueError(
            f"completion_timeout: {completion_timeout.to_human_string()} "
            f"({completion_timeout.to_milliseconds():.0f} ms); expected whole seconds from "
            f"1 minute to {int(longest) // 60} minutes (CloudFormation waits at most an hour, "
            f"{SERVICE_TIMEOUT_MARGIN.to_human_string()} of which are kept for polling and answering)"
        )
    return completion_timeout


def _checked_time(name: str, value: str | datetime) -> str | datetime:
    """A concrete time parsed (aware, UTC); a token passed through for the handler to check."""
    if isinstance(value, str) and Token.is_unresolved(value):
        return value
    return rules.parse_time(name, value)


def _check_reference(name: str, value: object, attributes: tuple[str, ...], expected: str) -> None:
    """An object reference where an ARN or a name is easy to pass by mistake (jsii interfaces are
    not runtime-checkable protocols, so the check is on what the construct uses)."""
    if not all(hasattr(value, attribute) for attribute in attributes):
        raise TypeError(f"{name}: {value!r} is a {type(value).__name__}; expected {expected}")


def _destination_role(bucket: s3.IBucket) -> iam.IRole:
    """The bucket's harvest role: created with the first job that writes to it, then shared."""
    existing = bucket.node.try_find_child(DESTINATION_ROLE_ID)
    if isinstance(existing, iam.Role):
        return existing
    # A child of the bucket: one role per bucket, found again by id. IBucket is always a
    # Construct at run time; its interface type does not say so.
    role = iam.Role(
        cast(Construct, bucket),
        DESTINATION_ROLE_ID,
        assumed_by=iam.ServicePrincipal(MEDIAPACKAGE_PRINCIPAL),
        description="Lets AWS Elemental MediaPackage write harvested clips to this bucket",
    )
    put = iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects("*")])
    role.add_to_principal_policy(put)
    acknowledge_wildcard_resources(
        role,
        put,
        "MediaPackage writes each job's manifest, child playlists and segments under keys it names "
        "beside the job's manifest_key, and every job writing to this bucket shares this role",
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:GetBucketLocation", "s3:ListBucket"], resources=[bucket.bucket_arn])
    )
    if bucket.encryption_key is not None:
        # SSE-KMS: writing an object needs a data key; multipart uploads also decrypt it.
        bucket.encryption_key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")
    return role
