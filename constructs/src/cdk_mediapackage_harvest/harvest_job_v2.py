"""The HarvestJobV2 construct: an AWS Elemental MediaPackage v2 harvest job as a stack resource.

Served by the same handler as HarvestJob (one function per stack). A v2 request names no role:
MediaPackage v2 writes as its service principal, so instead of a role the construct adds a statement
to the destination bucket's policy (or warns with it, for a bucket the stack cannot edit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import cdk_mediapackage_harvest_contract as contract
from aws_cdk import Annotations, CfnResource, Duration, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_mediapackage_harvest._bucket_access_v2 import grant_bucket_access
from cdk_mediapackage_harvest._destinations import claim_destination
from cdk_mediapackage_harvest._props_v2 import CheckedPropsV2
from cdk_mediapackage_harvest._provider import HarvestJobProvider
from cdk_mediapackage_harvest._synth import stack_of

#: Public contract: the CloudFormation type of the custom resource.
RESOURCE_TYPE_V2 = contract.RESOURCE_TYPE_V2

_P = contract.PropertyV2
#: The errors a prop's check raises; they are raised again with the construct's path in front.
_PROP_ERRORS = (TypeError, ValueError)  # HarvestRuleError is a ValueError


class HarvestJobV2(Construct):
    """A MediaPackage v2 harvest job: a clip of an origin endpoint's startover window, to S3.

    The job is created when the stack deploys. A change to a harvest property creates a new job
    (with a new name); removing the resource cancels the job if it is still running and leaves its
    record in MediaPackage. The origin endpoint's policy must let ``mediapackagev2.amazonaws.com``
    ``mediapackagev2:HarvestObject`` and ``mediapackagev2:GetObject`` (MediaPackage's requirement for
    harvesting; the endpoint is not this construct's to edit).

    Example::

        job = HarvestJobV2(self, "Clip",
            channel_group_name="live", channel_name="main", origin_endpoint_name="hls",
            start_time="2026-11-28T10:00:00Z",
            end_time=datetime(2026, 11, 28, 10, 30, tzinfo=timezone.utc),
            destination_bucket=bucket,
            destination_path="clips/final/",
            hls_manifest_names=["index"],
        )
        CfnOutput(self, "HarvestJobArn", value=job.harvest_job_arn)
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        channel_group_name: str,
        channel_name: str,
        origin_endpoint_name: str,
        start_time: str | datetime,
        end_time: str | datetime,
        destination_bucket: s3.IBucket,
        destination_path: str,
        hls_manifest_names: Sequence[str] = (),
        dash_manifest_names: Sequence[str] = (),
        low_latency_hls_manifest_names: Sequence[str] = (),
        harvest_job_name: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        wait_for_completion: bool = True,
        completion_timeout: Duration | None = None,
    ) -> None:
        """Define a v2 harvest job.

        A concrete value that breaks a rule raises ``ValueError`` (``HarvestRuleError`` for the
        harvest-job rules) or, for a value of the wrong type, ``TypeError``, before any resource is
        added to the stack; the message starts with the construct's path, then names the prop, the
        value and what is expected.

        :param channel_group_name: The channel group of the channel. 1 to 256 letters, digits, ``_``
            and ``-``, like every MediaPackage v2 name.
        :param channel_name: The channel of the origin endpoint.
        :param origin_endpoint_name: The origin endpoint to harvest from; its startover window must
            cover the harvest window, and its policy must let MediaPackage v2 harvest it.
        :param start_time: The start of the window: an ISO-8601 string with a time zone or a
            timezone-aware ``datetime``; sent as ISO-8601 UTC with ``Z``. In the past when the stack
            deploys (a time still in the future at synth is only a warning).
        :param end_time: The end of the window, in the same forms: after ``start_time`` and at most
            24 hours after it. It may still be ahead: MediaPackage v2 then harvests in real time
            until it has passed (a wait that outlasts ``completion_timeout`` fails the resource).
        :param destination_bucket: The bucket MediaPackage v2 writes the clip to, in the stack's
            region. A bucket created in the stack gets the statement MediaPackage v2 needs in its
            policy (and its KMS key's, when it has one); for another, a synth warning prints it.
        :param destination_path: The S3 prefix the clip is written under, e.g. ``"clips/final/"``:
            1 to 1024 characters, no whitespace.
        :param hls_manifest_names: The origin endpoint's HLS manifests to harvest. Default: - none
        :param dash_manifest_names: Its DASH manifests to harvest. Default: - none
        :param low_latency_hls_manifest_names: Its low-latency HLS manifests. Default: - none. At
            least one manifest name in total.
        :param harvest_job_name: The job's name, unique within the channel and never reusable (the
            service keeps every job's record), so a fixed name cannot be given new harvest
            properties. Default: - generated per CloudFormation request (stack name, logical id and
            a hash of the request), unique for each create or replacement.
        :param description: The job's description, at most 1024 characters. Default: - none
        :param tags: The job's tags: at most 50; a change creates a new job. Default: - none
        :param wait_for_completion: Whether the deployment waits until the job has finished:
            ``COMPLETED`` makes the resource (and ``harvest_job_status``) ``COMPLETED``; ``FAILED``
            or ``CANCELLED`` fails it. With ``False`` the resource is created as soon as
            MediaPackage v2 accepted the job (``QUEUED`` or ``IN_PROGRESS``). Default: True
        :param completion_timeout: How long to wait for the job, as for ``HarvestJob``: 1 to 57
            minutes, only with ``wait_for_completion``. Default: 55 minutes
        """
        super().__init__(scope, id)
        try:
            checked = CheckedPropsV2.of(
                channel_group_name=channel_group_name,
                channel_name=channel_name,
                origin_endpoint_name=origin_endpoint_name,
                start_time=start_time,
                end_time=end_time,
                destination_bucket=destination_bucket,
                destination_path=destination_path,
                hls_manifest_names=hls_manifest_names,
                dash_manifest_names=dash_manifest_names,
                low_latency_hls_manifest_names=low_latency_hls_manifest_names,
                harvest_job_name=harvest_job_name,
                description=description,
                tags=tags,
                wait_for_completion=wait_for_completion,
                completion_timeout=completion_timeout,
            )
        except _PROP_ERRORS as error:
            # The same class, so that callers catching HarvestRuleError or ValueError still do.
            raise type(error)(f"{self.node.path}: {error}") from None
        for warning_id, warning in checked.warnings:
            Annotations.of(self).add_warning_v2(warning_id, warning)

        claim_destination(scope, self, checked.bucket_name, destination_path, prop="destination_path")
        provider = HarvestJobProvider.of(scope)
        endpoint_arn = provider.grant_v2_harvest(
            channel_group_name,
            channel_name,
            origin_endpoint_name,
            harvest_job_name,
            tagged=bool(checked.tags),
        )
        access = grant_bucket_access(
            self, stack_of(scope), destination_bucket, destination_path, endpoint_arn
        )
        for dependable in access.dependables:
            provider.wait_for(dependable)
        if checked.completion_timeout is not None:
            provider.enable_polling()

        properties: dict[str, object] = {
            _P.SERVICE_TOKEN: provider.service_token,
            _P.SERVICE_TIMEOUT: str(contract.service_timeout_seconds(checked.completion_timeout)),
            _P.CHANNEL_GROUP_NAME: channel_group_name,
            _P.CHANNEL_NAME: channel_name,
            _P.ORIGIN_ENDPOINT_NAME: origin_endpoint_name,
            _P.START_TIME: checked.start_time,
            _P.END_TIME: checked.end_time,
            _P.S3_DESTINATION: {_P.BUCKET_NAME: checked.bucket_name, _P.DESTINATION_PATH: destination_path},
        }
        for key, names in zip(_P.MANIFEST_KEYS, checked.manifest_names, strict=True):
            if names:
                properties[key] = list(names)
        if harvest_job_name is not None:
            properties[_P.HARVEST_JOB_NAME] = harvest_job_name
        if description is not None:
            properties[_P.DESCRIPTION] = description
        if checked.tags:
            properties[_P.TAGS] = checked.tags
        properties[_P.WAIT_FOR_COMPLETION] = checked.completion_timeout is not None
        if checked.completion_timeout is not None:
            properties[_P.COMPLETION_TIMEOUT] = checked.completion_timeout
        # As HarvestJob's: a CfnResource, no DependsOn (the function waits for the bucket policy).
        self._resource = CfnResource(self, "Resource", type=RESOURCE_TYPE_V2, properties=properties)
        self._access = access
        self._attributes: dict[str, str] = {}
        self._destination_uri = f"s3://{checked.bucket_name}/{destination_path}"

    def _attribute(self, name: str) -> str:
        """``Fn::GetAtt`` of the resource, made on first read."""
        value = self._attributes.get(name)
        if value is None:
            value = self._attributes[name] = Token.as_string(self._resource.get_att(name))
        return value

    @property
    def destination_policy_statement(self) -> iam.PolicyStatement:
        """The bucket-policy statement that lets MediaPackage v2 write this job's clip: added to a
        bucket created in the stack; to be added by hand to another (a synth warning prints it)."""
        return self._access.statement

    @property
    def harvest_job_arn(self) -> str:
        """A token representing the harvest job's ARN.

        :attribute: Arn
        """
        return self._attribute(contract.DataV2.ARN)

    @property
    def harvest_job_name(self) -> str:
        """A token representing the harvest job's name (also its physical resource id).

        :attribute: HarvestJobName
        """
        return self._attribute(contract.DataV2.HARVEST_JOB_NAME)

    @property
    def harvest_job_status(self) -> str:
        """A token representing the job's status when the resource was last created or updated:
        ``COMPLETED`` with ``wait_for_completion``; ``QUEUED`` or ``IN_PROGRESS`` without it.

        :attribute: Status
        """
        return self._attribute(contract.DataV2.STATUS)

    @property
    def harvest_job_created_at(self) -> str:
        """A token representing when MediaPackage v2 created the job (ISO-8601 UTC).

        :attribute: CreatedAt
        """
        return self._attribute(contract.DataV2.CREATED_AT)

    @property
    def destination_uri(self) -> str:
        """Where the clip is written, ``s3://<bucket name>/<destination_path>``: known at synth time
        (a token resolving to an ``Fn::Join`` when the bucket name is one)."""
        return self._destination_uri
