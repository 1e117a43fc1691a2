"""The HarvestJob construct: an AWS Elemental MediaPackage (v1) harvest job as a stack resource.

Validation is plain Python on the props (the shared rules module); the construct then makes its
resource with as few calls into the CDK as it can: reads that never change are cached per object,
the handler is found per stack in Python, and attributes are built when first read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules
from aws_cdk import Annotations, CfnResource, Duration, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct, IDependable

from cdk_mediapackage_harvest._acknowledgments import acknowledge_wildcard_resources
from cdk_mediapackage_harvest._provider import MEDIAPACKAGE_PRINCIPAL, HarvestJobProvider
from cdk_mediapackage_harvest._synth import ObjectCache, is_unresolved

#: Public contract: the CloudFormation type of the custom resource.
RESOURCE_TYPE = contract.RESOURCE_TYPE
#: Public contract: the construct id of the role created for a destination bucket, a child of the bucket.
DESTINATION_ROLE_ID = contract.DESTINATION_ROLE_ID
#: Public contract: the construct id of the stack's one handler (function, role, log group, policy).
PROVIDER_ID = contract.PROVIDER_ID

_P = contract.Property
#: The errors a prop's check raises; they are raised again with the construct's path in front.
_PROP_ERRORS = (TypeError, ValueError, rules.HarvestRuleError)


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

        A concrete value that breaks a rule raises ``ValueError`` (``HarvestRuleError`` for the
        harvest-job rules) or, for a value of the wrong type, ``TypeError``, before any resource
        is added to the stack; the message starts with the construct's path, then names the prop,
        the value and what is expected (``HarvestStack/Clip3: end_time: ...``).

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
        try:
            checked = _Checked.of(
                origin_endpoint_id=origin_endpoint_id,
                start_time=start_time,
                end_time=end_time,
                destination_bucket=destination_bucket,
                manifest_key=manifest_key,
                destination_role=destination_role,
                harvest_job_id=harvest_job_id,
                wait_for_completion=wait_for_completion,
                completion_timeout=completion_timeout,
            )
        except _PROP_ERRORS as error:
            # The same class, so that callers catching HarvestRuleError or ValueError still do.
            raise type(error)(f"{self.node.path}: {error}") from None
        for warning_id, warning in checked.warnings:
            Annotations.of(self).add_warning_v2(warning_id, warning)

        if destination_role is None:
            created = _created_role(destination_bucket)
            role, role_arn, dependable = created.role, created.role_arn, created.policy
        else:
            role, role_arn, dependable = destination_role, checked.role_arn, destination_role
        provider = HarvestJobProvider.of(scope)
        provider.grant_pass_role(role_arn, dependable)
        if checked.completion_timeout is not None:
            provider.enable_polling()

        properties: dict[str, object] = {
            _P.SERVICE_TOKEN: provider.service_token,
            _P.SERVICE_TIMEOUT: str(contract.service_timeout_seconds(checked.completion_timeout)),
            _P.ORIGIN_ENDPOINT_ID: origin_endpoint_id,
            _P.START_TIME: checked.start_time,
            _P.END_TIME: checked.end_time,
            _P.S3_DESTINATION: {
                _P.BUCKET_NAME: checked.bucket_name,
                _P.MANIFEST_KEY: manifest_key,
                _P.ROLE_ARN: role_arn,
            },
        }
        if harvest_job_id is not None:
            properties[_P.ID] = harvest_job_id
        properties[_P.WAIT_FOR_COMPLETION] = checked.completion_timeout is not None
        if checked.completion_timeout is not None:
            properties[_P.COMPLETION_TIMEOUT] = checked.completion_timeout
        # A CfnResource rather than a CustomResource: the same logical id, no construct in between,
        # and no explicit DeletionPolicy/UpdateReplacePolicy (Delete is CloudFormation's default).
        # No DependsOn either: the resource names the function, which waits for what it needs.
        self._resource = CfnResource(self, "Resource", type=RESOURCE_TYPE, properties=properties)
        self._destination_role = role
        self._attributes: dict[str, str] = {}
        # Concatenating tokens in a string is how the CDK joins them: Fn::Join when resolved.
        self._manifest_uri = f"s3://{checked.bucket_name}/{manifest_key}"

    def _attribute(self, name: str) -> str:
        """``Fn::GetAtt`` of the resource, made on first read (most jobs' attributes are never read)."""
        value = self._attributes.get(name)
        if value is None:
            value = self._attributes[name] = Token.as_string(self._resource.get_att(name))
        return value

    @property
    def destination_role(self) -> iam.IRole:
        """The role MediaPackage assumes to write the clip: the one given, or the one created."""
        return self._destination_role

    @property
    def harvest_job_arn(self) -> str:
        """A token representing the harvest job's ARN.

        :attribute: Arn
        """
        return self._attribute(contract.Data.ARN)

    @property
    def harvest_job_id(self) -> str:
        """A token representing the harvest job's Id (also its physical resource id).

        :attribute: Id
        """
        return self._attribute(contract.Data.ID)

    @property
    def harvest_job_status(self) -> str:
        """A token representing the job's status when the resource was last created or updated.

        ``SUCCEEDED`` with ``wait_for_completion`` (a ``FAILED`` job fails the resource);
        ``IN_PROGRESS`` without it. An update that keeps the job reports its status then, and
        ``EXPIRED`` once MediaPackage no longer keeps the record (90 days).

        :attribute: Status
        """
        return self._attribute(contract.Data.STATUS)

    @property
    def harvest_job_channel_id(self) -> str:
        """A token representing the id of the channel the origin endpoint belongs to.

        :attribute: ChannelId
        """
        return self._attribute(contract.Data.CHANNEL_ID)

    @property
    def harvest_job_created_at(self) -> str:
        """A token representing when MediaPackage received the job (ISO-8601).

        :attribute: CreatedAt
        """
        return self._attribute(contract.Data.CREATED_AT)

    @property
    def manifest_uri(self) -> str:
        """The harvested manifest's location, ``s3://<bucket name>/<manifest_key>``.

        Known at synth time: a plain string when the bucket name and the key are concrete, else a
        token that resolves to an ``Fn::Join`` of them.
        """
        return self._manifest_uri


@dataclass(frozen=True)
class _Checked:
    """The props as the resource needs them, once every concrete value has passed the rules."""

    start_time: str
    end_time: str
    bucket_name: str
    #: The given role's ARN; empty when a role is to be created.
    role_arn: str
    #: Seconds, when waiting; else None.
    completion_timeout: int | None
    #: (id, message) of each warning for the construct.
    warnings: tuple[tuple[str, str], ...]

    @classmethod
    def of(
        cls,
        *,
        origin_endpoint_id: str,
        start_time: str | datetime,
        end_time: str | datetime,
        destination_bucket: s3.IBucket,
        manifest_key: str,
        destination_role: iam.IRole | None,
        harvest_job_id: str | None,
        wait_for_completion: bool,
        completion_timeout: Duration | None,
    ) -> _Checked:
        """Check every concrete prop (tokens pass through); errors name the prop, the value and
        what is expected."""
        timeout = _completion_timeout_seconds(wait_for_completion, completion_timeout)
        start = _checked_time("start_time", start_time)
        end = _checked_time("end_time", end_time)
        warnings: list[tuple[str, str]] = []
        if isinstance(start, datetime) and isinstance(end, datetime):
            rules.check_window(start, end, start_name="start_time", end_name="end_time")
        if isinstance(end, datetime) and end > datetime.now(UTC):
            warnings.append(
                (
                    "cdk-mediapackage-harvest:endTimeInFuture",
                    f"end_time {rules.format_time(end)} is still in the future: deploy after it has "
                    "passed, or the harvest job fails (MediaPackage harvests only past content)",
                )
            )
        if not is_unresolved(origin_endpoint_id):
            rules.check_identifier("origin_endpoint_id", origin_endpoint_id, max_length=None)
        if not is_unresolved(manifest_key):
            rules.check_manifest_key("manifest_key", manifest_key)
            warning = rules.manifest_key_warning("manifest_key", manifest_key)
            if warning:
                warnings.append(("cdk-mediapackage-harvest:manifestKeyExtension", warning))
        if harvest_job_id is not None and not is_unresolved(harvest_job_id):
            rules.check_identifier("harvest_job_id", harvest_job_id)
        _check_reference(
            "destination_bucket",
            destination_bucket,
            ("bucket_name", "arn_for_objects"),
            "an s3.IBucket, e.g. s3.Bucket.from_bucket_name(self, 'Clips', 'my-bucket')",
        )
        bucket_name = _bucket_name(destination_bucket)
        if not is_unresolved(bucket_name):
            rules.check_bucket_name("destination_bucket", bucket_name)
        role_arn = ""
        if destination_role is not None:
            _check_reference(
                "destination_role",
                destination_role,
                ("role_arn", "grant_pass_role"),
                "an iam.IRole, e.g. iam.Role.from_role_arn(self, 'HarvestRole', role_arn)",
            )
            role_arn = _role_arn(destination_role)
            if not is_unresolved(role_arn):
                rules.check_role_arn("destination_role", role_arn)
        return cls(
            start_time=rules.format_time(start) if isinstance(start, datetime) else start,
            end_time=rules.format_time(end) if isinstance(end, datetime) else end,
            bucket_name=bucket_name,
            role_arn=role_arn,
            completion_timeout=timeout,
            warnings=tuple(warnings),
        )


def _minutes(seconds: int) -> str:
    minutes = seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}" if minutes < 60 else f"{minutes // 60} hour"


def _completion_timeout_seconds(wait_for_completion: bool, completion_timeout: Duration | None) -> int | None:
    """The checked completion timeout in seconds when waiting, else None."""
    if not isinstance(wait_for_completion, bool):
        raise TypeError(f"wait_for_completion: {wait_for_completion!r}; expected True or False")
    if completion_timeout is None:
        return contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS if wait_for_completion else None
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
    milliseconds = completion_timeout.to_milliseconds()
    seconds = milliseconds / 1000
    shortest, longest = contract.MIN_COMPLETION_TIMEOUT_SECONDS, contract.MAX_COMPLETION_TIMEOUT_SECONDS
    if not (shortest <= seconds <= longest) or not seconds.is_integer():
        raise ValueError(
            f"completion_timeout: {completion_timeout.to_human_string()} ({milliseconds:.0f} ms); "
            f"expected whole seconds from {_minutes(shortest)} to {_minutes(longest)} (CloudFormation "
            f"waits at most {_minutes(contract.MAX_SERVICE_TIMEOUT_SECONDS)}, "
            f"{_minutes(contract.SERVICE_TIMEOUT_MARGIN_SECONDS)} of which are kept for polling and "
            "answering)"
        )
    return int(seconds)


def _checked_time(name: str, value: str | datetime) -> str | datetime:
    """A concrete time parsed (aware, UTC); a token passed through for the handler to check."""
    if isinstance(value, str) and is_unresolved(value):
        return value
    return rules.parse_time(name, value)


def _check_reference(name: str, value: object, attributes: tuple[str, ...], expected: str) -> None:
    """An object reference where an ARN or a name is easy to pass by mistake (jsii interfaces are
    not runtime-checkable protocols, so the check is on what the construct uses).

    Looked up on the class first: on the object, a property would be read, a call into the CDK.
    """
    if all(hasattr(type(value), attribute) for attribute in attributes):
        return
    if not all(hasattr(value, attribute) for attribute in attributes):
        raise TypeError(f"{name}: {value!r} is a {type(value).__name__}; expected {expected}")


#: A bucket's name and a role's ARN never change: read once per object, however many jobs use it.
_bucket_name: ObjectCache[s3.IBucket, str] = ObjectCache(lambda bucket: bucket.bucket_name)
_role_arn: ObjectCache[iam.IRole, str] = ObjectCache(lambda role: role.role_arn)


@dataclass(frozen=True)
class _CreatedRole:
    role: iam.IRole
    role_arn: str
    #: What a job waits for before MediaPackage writes: the role's policy (its S3 and KMS permissions).
    policy: IDependable


def _create_role(bucket: s3.IBucket) -> _CreatedRole:
    """The bucket's harvest role: created with the first job that writes to it, then shared."""
    existing = bucket.node.try_find_child(DESTINATION_ROLE_ID)
    if isinstance(existing, iam.Role):
        # Made before this process cached it (e.g. by another copy of this module).
        return _CreatedRole(existing, existing.role_arn, existing)
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
    return _CreatedRole(role, role.role_arn, policy if policy is not None else role)


#: Each bucket's created role, kept with the bucket.
_created_role: ObjectCache[s3.IBucket, _CreatedRole] = ObjectCache(_create_role)
