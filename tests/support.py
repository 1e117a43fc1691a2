"""What the tests share, in one module that no test module replaces: the local prerequisites, "a window
that ended a minute ago" and the time formatter (from ``local_aws``), the fake Lambda context, the
CloudFormation event builder, and ``Stack``: the example stack's custom resource driven through its
lifecycle on the local AWS; and the v2 builders of the handler's Stubber tests (properties, events,
answers, requests) with ``invoke``. Fixtures live in ``conftest.py``. It never imports the handler.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules

from local_aws import ACCOUNT_ID, REGION, cloudformation, eventbridge, harvest_jobs, iso
from local_aws.cloudformation import stack_id
from local_aws.lambda_runtime import Context, Function, Invocation, function_arn
from local_aws.prerequisites import LocalSetup, LocalSetupV2, recent_window
from local_aws.server import LocalAws

__all__ = [
    "ACCOUNT_ID",
    "FUNCTION_ARN",
    "LOGICAL_ID",
    "REASON_GRACE_SECONDS",
    "REGION",
    "REQUEST_ID",
    "RESOURCE_TYPE",
    "STACK_ID",
    "V2_ADDRESS",
    "V2_GENERATED",
    "Answered",
    "Context",
    "Delivery",
    "LocalSetup",
    "LocalSetupV2",
    "Stack",
    "assert_answer",
    "event",
    "expected_data",
    "failed_create_id",
    "feature_flags",
    "function_arn",
    "harvest_job_v2",
    "invoke",
    "iso",
    "jobs",
    "recent_window",
    "resolved_properties",
    "signature",
    "stack_id",
    "v2_arn",
    "v2_create_params",
    "v2_data",
    "v2_event",
    "v2_get_params",
    "v2_job",
    "v2_properties",
    "v2_request",
    "wait_until_done_v2",
]

RESOURCE_TYPE = cloudformation.RESOURCE_TYPE
STACK_ID = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/HarvestStack/5b3cc1a0-cd2b-11f0-8c5e-0affd1b2c3d4"
)
LOGICAL_ID = "HarvestJob4AD607F3"
REQUEST_ID = "c0ffee00-0000-4000-8000-000000000001"
FUNCTION_ARN = function_arn("HarvestStack-Handler")
MAX_HANDLER_MS = 180_000
"""The local runs give the handler three minutes (the function's own timeout is ten)."""
REASON_GRACE_SECONDS = 3
"""The local runs wait this long for a failed job's reason (the function's own grace is 30 s)."""


def event(request_type: str, properties: Any, **settings: Any) -> dict[str, Any]:
    """An event for the handler in this process (``cloudformation.event``): of ``STACK_ID``,
    ``LOGICAL_ID`` and ``REQUEST_ID`` unless ``settings`` say otherwise, the properties as given (not
    made strings, so that they can be malformed), a ResponseURL that is never reached."""
    defaults = {"stack": STACK_ID, "logical_id": LOGICAL_ID, "request_id": REQUEST_ID, "as_strings": False}
    return cloudformation.event(request_type, properties=properties, **{**defaults, **settings})


def v2_request(setup: LocalSetupV2, name: str | None = "clip-1", **changes: Any) -> dict[str, Any]:
    """A MediaPackage v2 CreateHarvestJob request for ``setup``'s endpoint and bucket: its HLS manifest, a
    ten-minute window that ended a minute ago, ``clips/<name>/``; ``changes`` replace members."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    request: dict[str, Any] = {
        "ChannelGroupName": setup.channel_group_name,
        "ChannelName": setup.channel_name,
        "OriginEndpointName": setup.origin_endpoint_name,
        "HarvestedManifests": {"HlsManifests": [{"ManifestName": setup.manifest_name}]},
        "ScheduleConfiguration": {"StartTime": end - timedelta(minutes=10), "EndTime": end},
        "Destination": {"S3Destination": {"BucketName": setup.bucket, "DestinationPath": f"clips/{name}/"}},
    }
    if name is not None:
        request["HarvestJobName"] = name
    return request | changes


def harvest_job_v2(client: Any, setup: LocalSetupV2, name: str) -> dict[str, Any]:
    """GetHarvestJob for a job on ``setup``'s origin endpoint."""
    job: dict[str, Any] = client.get_harvest_job(
        ChannelGroupName=setup.channel_group_name,
        ChannelName=setup.channel_name,
        OriginEndpointName=setup.origin_endpoint_name,
        HarvestJobName=name,
    )
    return job


def wait_until_done_v2(client: Any, setup: LocalSetupV2, name: str, timeout: float = 10.0) -> dict[str, Any]:
    """The job once it is no longer QUEUED or IN_PROGRESS (polled every 20 ms)."""
    deadline = time.monotonic() + timeout
    while (job := harvest_job_v2(client, setup, name))["Status"] in ("QUEUED", "IN_PROGRESS"):
        assert time.monotonic() < deadline, f"{name} still {job['Status']} after {timeout} s"
        time.sleep(0.02)
    return job


def signature(url: str) -> str:
    """The signature of a pre-signed ResponseURL: a credential, never to be logged."""
    return url.rsplit("X-Amz-Signature=", 1)[1]


def resolved_properties(
    template_properties: Mapping[str, Any], setup: LocalSetup, function: Function
) -> dict[str, Any]:
    """A harvest job's synthesized properties, its bucket, role and function resolved to local ones."""
    destination = template_properties["S3Destination"]
    refs = {destination["BucketName"]["Ref"]: setup.bucket}
    attributes = {
        (destination["RoleArn"]["Fn::GetAtt"][0], "Arn"): setup.role_arn,
        (template_properties["ServiceToken"]["Fn::GetAtt"][0], "Arn"): function.arn,
    }
    resolved: dict[str, Any] = cloudformation.resolve(template_properties, refs, attributes)
    return resolved


@dataclass
class Answered:
    """An event and the answers CloudFormation's URL received for it."""

    event: dict[str, Any]
    answers: list[cloudformation.Answer]

    @property
    def body(self) -> dict[str, Any]:
        (answer,) = self.answers
        return answer.body


@dataclass
class Delivery(Answered):
    """An event delivered in one invocation, and its answers."""

    invocation: Invocation


class Stack:
    """One custom resource of the example stack, driven through its lifecycle on the local AWS."""

    def __init__(
        self,
        assembly: cloudformation.Assembly,
        aws: LocalAws,
        responses: cloudformation.ResponseServer,
        environment: Mapping[str, str] | None = None,
        resource_type: str = RESOURCE_TYPE,
    ) -> None:
        ((self.logical_id, resource),) = assembly.resources(resource_type).items()
        self.resource_type = resource_type
        if environment is None:
            environment = {
                **aws.environment(),
                "SSL_CERT_FILE": str(responses.cert_file),
                contract.Environment.REASON_GRACE: str(REASON_GRACE_SECONDS),
            }
        self.function = assembly.function(self.logical_id, environment, max_timeout_ms=MAX_HANDLER_MS)
        # Its template's permissions and notification rule (poll rules are the handler's own): the
        # deployment's requests, not counted among the test's.
        counted = aws.faults.stats.copy()
        eventbridge.register(aws, self.function, assembly.rules(assembly.function_id(self.logical_id)))
        aws.faults.stats.clear()
        aws.faults.stats.update(counted)
        self.aws = aws
        self.bus = eventbridge.Bus(aws, [self.function])
        self.template_properties: dict[str, Any] = resource["Properties"]
        self.responses = responses
        self.stack_id = cloudformation.stack_id(assembly.stack)

    def listen(self) -> eventbridge.Bus:
        """Deliver the local MediaPackage's notifications through the local EventBridge from now on
        (to the rules that match them: the template's, and any the test made)."""
        harvest_jobs.STORE.listeners.append(self.bus.put)
        return self.bus

    def job_id(self, event: Mapping[str, Any]) -> str:
        """The Id the handler generates for a Create or replacing Update."""
        return rules.generated_harvest_job_id(self.stack_id, self.logical_id, event["RequestId"])

    def properties(self, setup: LocalSetup, *, wait: bool = False, **changes: Any) -> dict[str, Any]:
        """The synthesized properties, references resolved to the local bucket, role and function.

        The example app waits for completion; unless ``wait``, the properties are those of
        ``wait_for_completion=False`` (the waiting itself has its own tests).
        """
        start, end = recent_window()
        resolved = resolved_properties(self.template_properties, setup, self.function)
        resolved.update(OriginEndpointId=setup.endpoint_id, StartTime=start, EndTime=end)
        if not wait:
            resolved["WaitForCompletion"] = False
            del resolved["CompletionTimeout"]
        resolved.update(changes)
        return resolved

    def event(self, request_type: str, properties: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
        return cloudformation.event(
            request_type,
            responses=self.responses,
            stack=self.stack_id,
            logical_id=self.logical_id,
            properties=properties,
            resource_type=self.resource_type,
            **extra,
        )

    def deliver(self, event: dict[str, Any]) -> Delivery:
        """One invocation; its answers as CloudFormation's URL received them."""
        invocation = self.function.invoke(event, invocation_id=event["RequestId"])
        assert invocation.returncode == 0, invocation.logs
        self.responses.wait(event["RequestId"], timeout=10)
        return Delivery(event, self.responses.answers(event["RequestId"]), invocation)

    def answered(self, event: dict[str, Any]) -> Answered:
        """The answers so far, however they came (the first invocation or the poller's)."""
        return Answered(event, self.responses.answers(event["RequestId"]))


def assert_answer(
    delivery: Answered,
    status: str,
    *,
    physical_id: str | None = None,
    data: Mapping[str, str] | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """The one body CloudFormation receives, exactly: status, ids echoed, Reason, Data, <= 4096 bytes.

    A ``physical_id`` of None is only checked for shape (crhelper makes one up for a failed Create).
    """
    (answer,) = delivery.answers
    assert answer.status == 200
    assert len(answer.raw) <= cloudformation.MAX_BODY_BYTES
    body = answer.body
    expected = {
        "Status": status,
        "PhysicalResourceId": body["PhysicalResourceId"] if physical_id is None else physical_id,
        "StackId": delivery.event["StackId"],
        "RequestId": delivery.event["RequestId"],
        "LogicalResourceId": delivery.event["LogicalResourceId"],
        "Reason": reason,
        "Data": {} if data is None else dict(data),
        "NoEcho": False,
    }
    assert body == expected
    assert 0 < len(body["PhysicalResourceId"]) <= 1024
    return body


def failed_create_id(stack: Stack) -> str:
    """The physical id of a failed Create (a pattern): the Id a job generated for that request gets,
    stack name, logical id and 12 hex characters of the RequestId's hash, at most 64 characters."""
    return rf"HarvestStack-{stack.logical_id}-[0-9a-f]{{12}}"


def jobs(aws: LocalAws) -> list[Mapping[str, Any]]:
    pages = aws.mediapackage().get_paginator("list_harvest_jobs").paginate()
    return [dict(job) for page in pages for job in page["HarvestJobs"]]


def expected_data(job: Mapping[str, Any], status: str) -> dict[str, str]:
    """The Data of an answer about ``job`` in ``status``."""
    return {
        "Arn": f"arn:aws:mediapackage:{REGION}:{ACCOUNT_ID}:harvest_jobs/{job['Id']}",
        "Id": job["Id"],
        "Status": status,
        "ChannelId": job["ChannelId"],
        "CreatedAt": job["CreatedAt"],
        "StartTime": job["StartTime"],
        "EndTime": job["EndTime"],
    }


def feature_flags() -> dict[str, Any]:
    """The feature flags in ``cdk.json`` (those ``cdk init`` writes for the pinned aws-cdk-lib), which
    users' apps made with ``cdk init`` have: the context keys starting with ``@``."""
    cdk_json = Path(__file__).resolve().parents[1] / "cdk.json"
    context: dict[str, Any] = json.loads(cdk_json.read_text())["context"]
    return {key: value for key, value in context.items() if key.startswith("@")}


# --- MediaPackage v2 (``Custom::MediaPackageV2HarvestJob``) for the handler's Stubber tests. ---

V2_ADDRESS = {"ChannelGroupName": "live", "ChannelName": "main", "OriginEndpointName": "hls"}
V2_GENERATED = rules.generated_harvest_job_id(STACK_ID, LOGICAL_ID, REQUEST_ID)
"""The name (and physical id) a v2 job of ``event``'s default request gets."""
_V2_START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
_V2_END = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)
_V2_CREATED = datetime(2026, 11, 28, 16, 0, 0, 123000, tzinfo=UTC)
_V2_DESTINATION = {"S3Destination": {"BucketName": "harvest-bucket", "DestinationPath": "clips/final/"}}
_V2_MANIFESTS = {"HlsManifests": [{"ManifestName": "index"}], "DashManifests": [{"ManifestName": "dash"}]}


def v2_properties(**changes: Any) -> dict[str, Any]:
    """A v2 resource's properties as CloudFormation sends them (tokens resolved: strings, lists of
    strings, an object of strings); a change to None removes its key."""
    props: dict[str, Any] = {
        "ServiceToken": function_arn("handler-v1"),
        **V2_ADDRESS,
        "StartTime": "2026-11-28T10:00:00Z",
        "EndTime": "2026-11-28T10:30:00Z",
        "S3Destination": dict(_V2_DESTINATION["S3Destination"]),
        "HlsManifestNames": ["index"],
        "DashManifestNames": ["dash"],
        "Tags": {"team": "video", "env": "prod"},
    }
    props.update(changes)
    return {key: value for key, value in props.items() if value is not None}


def v2_event(request_type: str, props: Any = None, **settings: Any) -> dict[str, Any]:
    """A ``Custom::MediaPackageV2HarvestJob`` event of ``v2_properties()`` unless told otherwise."""
    return event(
        request_type,
        v2_properties() if props is None else props,
        resource_type=contract.RESOURCE_TYPE_V2,
        **settings,
    )


def v2_arn(name: str) -> str:
    return (
        f"arn:aws:mediapackagev2:{REGION}:{ACCOUNT_ID}:channelGroup/live/channel/main/originEndpoint/hls/"
        f"harvestJob/{name}"
    )


def v2_job(name: str = V2_GENERATED, status: str = "QUEUED", **changes: Any) -> dict[str, Any]:
    """A CreateHarvestJob/GetHarvestJob answer of ``v2_properties()``, as botocore parses it."""
    record: dict[str, Any] = {
        **V2_ADDRESS,
        "Destination": json.loads(json.dumps(_V2_DESTINATION)),
        "HarvestJobName": name,
        "HarvestedManifests": json.loads(json.dumps(_V2_MANIFESTS)),
        "ScheduleConfiguration": {"StartTime": _V2_START, "EndTime": _V2_END},
        "Arn": v2_arn(name),
        "CreatedAt": _V2_CREATED,
        "ModifiedAt": _V2_CREATED,
        "Status": status,
        "ETag": "etag-1",
        "Tags": {"env": "prod", "team": "video"},
    }
    record.update(changes)
    return record


def v2_create_params(name: str, token: str, **changes: Any) -> dict[str, Any]:
    """The CreateHarvestJob request ``v2_properties()`` make, with this name and ClientToken."""
    params: dict[str, Any] = {
        **V2_ADDRESS,
        "HarvestJobName": name,
        "ClientToken": token,
        "HarvestedManifests": json.loads(json.dumps(_V2_MANIFESTS)),
        "ScheduleConfiguration": {"StartTime": _V2_START, "EndTime": _V2_END},
        "Destination": json.loads(json.dumps(_V2_DESTINATION)),
        "Tags": {"team": "video", "env": "prod"},
    }
    params.update(changes)
    return params


def v2_get_params(name: str = V2_GENERATED) -> dict[str, Any]:
    return {**V2_ADDRESS, "HarvestJobName": name}


def v2_data(name: str = V2_GENERATED, status: str = "QUEUED") -> dict[str, str]:
    """The Data of an answer about ``v2_job(name, status)``."""
    return {
        "Arn": v2_arn(name),
        "HarvestJobName": name,
        "Status": status,
        "CreatedAt": "2026-11-28T16:00:00.123000Z",
        "StartTime": "2026-11-28T10:00:00Z",
        "EndTime": "2026-11-28T10:30:00Z",
    }


def invoke(
    handler: Callable[[Any, Any], None],
    answers: list[dict[str, Any]],
    body: Any,
    *,
    remaining_ms: int = 300_000,
) -> dict[str, Any]:
    """Run the Lambda entry point ``handler`` once: exactly one answer, within 4096 bytes. The answer."""
    before = len(answers)
    handler(body, Context(remaining_ms=remaining_ms))
    assert len(answers) == before + 1, "exactly one answer per event"
    assert len(json.dumps(answers[-1]).encode()) <= cloudformation.MAX_BODY_BYTES
    return answers[-1]
