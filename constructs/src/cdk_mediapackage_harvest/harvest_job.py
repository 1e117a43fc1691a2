"""The HarvestJob construct: an AWS Elemental MediaPackage (v1) harvest job as a stack resource.

Validation is plain Python on the props (the shared rules module); the construct then makes its
resource with as few calls into the CDK as it can: reads that never change are cached per object,
the handler is found per stack in Python, and attributes are built when first read.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules
from aws_cdk import Annotations, CfnResource, Duration, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

if TYPE_CHECKING:
    from aws_cdk import aws_events as events

from cdk_mediapackage_harvest._destination_role import created_role
from cdk_mediapackage_harvest._destinations import claim_destination
from cdk_mediapackage_harvest._props import CheckedProps
from cdk_mediapackage_harvest._provider import HarvestJobProvider

#: Public contract: the CloudFormation type of the custom resource.
RESOURCE_TYPE = contract.RESOURCE_TYPE
#: Public contract: the construct id of the role created for a destination bucket, a child of the bucket.
DESTINATION_ROLE_ID = contract.DESTINATION_ROLE_ID
#: Public contract: the construct id of the stack's one handler (function, role, log group, policy).
PROVIDER_ID = contract.PROVIDER_ID

_P = contract.Property
#: The errors a prop's check raises; they are raised again with the construct's path in front.
_PROP_ERRORS = (TypeError, ValueError)  # HarvestRuleError is a ValueError


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
            checked = CheckedProps.of(
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
        claim_destination(scope, self, checked.bucket_name, manifest_key, prop="manifest_key")

        if destination_role is None:
            created = created_role(destination_bucket)
            role, role_arn, dependable = created.role, created.role_arn, created.policy
        else:
            role, role_arn, dependable = destination_role, checked.role_arn, destination_role
        provider = HarvestJobProvider.of(scope)
        provider.grant_v1_harvest()
        provider.grant_pass_role(role_arn, dependable)
        provider.listen_to_notifications()  # the record of every notification, waiting or not
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
        self._origin_endpoint_id = origin_endpoint_id
        self._given_id = harvest_job_id
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

    def notification_pattern(self) -> dict[str, Any]:
        """The EventBridge pattern of this job's ``MediaPackage HarvestJob Notification`` events.

        A concrete ``harvest_job_id``: that Id. A generated Id (one per CloudFormation request, so
        unknown at synth): its prefix, ``<stack name>-<logical id>-`` as the handler generates it,
        and the origin endpoint when concrete. A token Id: the origin endpoint's jobs.
        """
        notice = contract.Notification
        job: dict[str, Any] = {}
        if self._given_id is not None and not Token.is_unresolved(self._given_id):
            job["id"] = [self._given_id]
        elif self._given_id is None:
            stack = Stack.of(self)
            logical_id = str(stack.resolve(self._resource.logical_id))
            sample = rules.generated_harvest_job_id(f"arn:stack/{stack.stack_name}/x", logical_id, "")
            prefix = sample[: sample.rfind("-") + 1]
            if not Token.is_unresolved(stack.stack_name):
                job["id"] = [{"prefix": prefix}]
        if not job and not Token.is_unresolved(self._origin_endpoint_id):
            job["origin_endpoint_id"] = [self._origin_endpoint_id]
        pattern: dict[str, Any] = {"source": [notice.SOURCE], "detail-type": [notice.DETAIL_TYPE]}
        if job:
            pattern["detail"] = {notice.JOB_KEY: job}
        return pattern

    def on_state_change(
        self,
        id: str,
        *,
        target: events.IRuleTarget | None = None,
        description: str | None = None,
        rule_name: str | None = None,
        event_pattern: events.EventPattern | None = None,
        cross_stack_scope: Construct | None = None,
    ) -> events.Rule:
        """An EventBridge rule for this job's ``MediaPackage HarvestJob Notification`` events (each
        status change; a ``FAILED`` one carries MediaPackage's reason in ``detail.message``), for a job
        that does not wait (``wait_for_completion=False``) or to route its outcome anywhere.

        :param id: The construct id of the rule (a child of this construct).
        :param target: Where to send the events. Default: - none; add one with ``add_target``.
        :param description: The rule's description. Default: - none.
        :param rule_name: The rule's name. Default: - a name CloudFormation generates.
        :param event_pattern: Merged into the job's own pattern (:meth:`notification_pattern`), e.g.
            ``EventPattern(detail={"harvest_job": {"status": ["FAILED"]}})``. Default: - every
            notification of this job.
        :param cross_stack_scope: The scope of the rule when ``target`` is in another stack or
            account. Default: - this construct.
        """
        from aws_cdk import aws_events as events  # only for the jobs that use it: cheaper synthesis

        pattern = self.notification_pattern()
        rule = events.Rule(
            cross_stack_scope or self,
            id,
            description=description,
            rule_name=rule_name,
            event_pattern=events.EventPattern(
                source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern.get("detail")
            ),
        )
        if event_pattern is not None:
            fields = (
                "account",
                "detail",
                "detail_type",
                "id",
                "region",
                "resources",
                "source",
                "time",
                "version",
            )
            rule.add_event_pattern(**{name: getattr(event_pattern, name) for name in fields})
        if target is not None:
            rule.add_target(target)
        return rule
