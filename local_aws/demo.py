"""``make demo``: the example app's harvest jobs created on the local AWS, offline, with no account.

Each stack in turn (``HarvestStack``, then ``HarvestV2Stack``, or those given with ``--stack``); a
``Custom::MediaPackageV2HarvestJob`` is prepared by :mod:`local_aws.demo_v2`.

It reads the synthesized assembly (``cdk.out``), starts the local AWS, creates there what the stack
refers to (a channel and an HLS origin endpoint with a startover window; the stack's buckets and roles
under local names), resolves the custom resource's properties against them with a window that ended
a minute ago, sends the Create event through the real handler (the synthesized asset) with an HTTPS
ResponseURL, and prints the stack's outputs the way ``cdk deploy`` does. With waiting on (the
example's default) the handler answers once the job has finished, so the status output is
``SUCCEEDED``; a job that outlives the handler's invocation is polled through the local EventBridge
scheduler, as the deployed poller would. It then lists the harvested files in the local bucket.
MediaPackage's notifications reach the handler through the stack's rule on the local EventBridge.
``--fail MESSAGE`` (``make demo-failure``): MediaPackage fails the job with that message, and the run
prints what ``cdk deploy`` shows, the FAILED resource with MediaPackage's reason and the rollback
(whose Delete the handler answers too). Nothing is deployed: it is a local run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from local_aws import cloudformation, demo_v2, eventbridge, harvest_jobs, prerequisites
from local_aws.cloudformation import RESOURCE_TYPE
from local_aws.lambda_runtime import function_arn
from local_aws.server import LocalAws

CHANNEL_ID = "example-channel"
STACKS = ("HarvestStack", "HarvestV2Stack")
"""The example app's stacks, run in this order when no ``--stack`` is given."""
MAX_HANDLER_MS = 180_000
"""The local run gives the handler three minutes (the function's own timeout is ten)."""
MAX_TICKS = 10
"""Scheduled polls the local run drives for a job that outlives the first invocation."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Your own app: synthesize it (cdk synth -o DIR), then pass --cdk-out DIR --stack NAME. Its "
        "harvest jobs, S3 buckets, IAM roles and the handler function are made locally; nothing else is.",
    )
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"), help="the synthesized assembly")
    parser.add_argument(
        "--stack",
        action="append",
        help=f"a stack (its name in the assembly); repeat for several; default: {', '.join(STACKS)}",
    )
    parser.add_argument("--completion-delay", type=float, default=2.0, help="seconds the local job runs")
    parser.add_argument(
        "--fail",
        metavar="MESSAGE",
        nargs="?",
        const=harvest_jobs.DEFAULT_FAILURE_MESSAGE,
        help="MediaPackage fails the job with this message (its notification's); default: a failed write",
    )
    args = parser.parse_args(argv)
    assemblies = []
    for stack in args.stack or STACKS:
        try:
            assemblies.append(cloudformation.Assembly(args.cdk_out, stack))
        except (OSError, ValueError) as error:
            print(f"error: no synthesized {stack} in {args.cdk_out} ({error}); run `make synth` first")
            return 1
    with tempfile.TemporaryDirectory() as scratch, LocalAws() as aws:
        aws.harvest.completion_delay = args.completion_delay
        if args.fail is not None:
            aws.harvest.outcome = "FAILED"
            aws.harvest.failure_message = args.fail
        with cloudformation.ResponseServer(Path(scratch)) as responses:
            for number, assembly in enumerate(assemblies):
                if number:
                    print()
                if run(assembly, aws, responses):
                    return 1
            return 0


def run(assembly: cloudformation.Assembly, aws: LocalAws, responses: cloudformation.ResponseServer) -> int:
    print(
        f"Local run of {assembly.stack} against the local AWS on {aws.endpoint_url} (moto + MediaPackage "
        "harvest jobs): not a deployment, nothing is created in an AWS account.\n"
    )
    refs, attributes = _local_resources(assembly, aws)
    demo_v2.apply_bucket_policies(assembly, aws, refs, attributes)
    harvests = {**assembly.resources(RESOURCE_TYPE), **assembly.resources(demo_v2.RESOURCE_TYPE_V2)}
    if not harvests:
        print(f"error: {assembly.stack} has no {RESOURCE_TYPE} or {demo_v2.RESOURCE_TYPE_V2} resource")
        return 1
    print(
        "Each harvest window of the template is replaced by one as long (at most 1 h) that ended a minute "
        "ago:\nMediaPackage harvests only past content that the endpoint's startover window still holds "
        "(24 h here).\n"
    )
    stack = cloudformation.stack_id(assembly.stack, aws.region)
    data: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {}
    functions: dict[str, Any] = {}
    for logical_id, resource in harvests.items():
        properties = cloudformation.resolve(resource["Properties"], refs, attributes)
        v2 = resource["Type"] == demo_v2.RESOURCE_TYPE_V2
        if v2:
            demo_v2.create_origin_endpoint(aws, properties)
        else:
            _create_origin_endpoint(aws, properties["OriginEndpointId"])
        replaced = f"window {properties['StartTime']} to {properties['EndTime']} (from the template) replaced"
        properties.update(_recent_window(properties))
        environment = {**aws.environment(), "SSL_CERT_FILE": str(responses.cert_file)}
        function = assembly.function(logical_id, environment, max_timeout_ms=MAX_HANDLER_MS)
        if function.name not in functions:
            eventbridge.register(aws, function, assembly.rules(assembly.function_id(logical_id)))
            harvest_jobs.STORE.listeners.append(eventbridge.Bus(aws, [function]).put)
            functions[function.name] = function
        event = cloudformation.event(
            "Create",
            responses=responses,
            stack=stack,
            logical_id=logical_id,
            properties=properties,
            resource_type=resource["Type"],
        )
        source = demo_v2.describe(properties) if v2 else properties["OriginEndpointId"]
        print(f"Create {logical_id}: {properties['StartTime']} to {properties['EndTime']} from {source}")
        print(f"  {replaced} by {properties['StartTime']} to {properties['EndTime']}")
        started = time.monotonic()
        invocation = function.invoke(event, invocation_id=event["RequestId"])
        scheduler = eventbridge.Scheduler(aws, [function])
        for _ in range(MAX_TICKS):
            if responses.answers(event["RequestId"]) or not scheduler.rules(_poll_prefix(function)):
                break
            print("  job still running after the handler's invocation: a scheduled poll")
            scheduler.tick()
        try:
            body = responses.wait(event["RequestId"], timeout=5).body
        except TimeoutError:
            print(f"error: the handler sent no response (exit {invocation.returncode}):\n{invocation.logs}")
            return 1
        print(f"  handler answered {body['Status']} in {time.monotonic() - started:.1f} s")
        if body["Status"] != "SUCCESS":
            return _rolled_back(assembly, function, responses, event, body)
        refs[logical_id] = body["PhysicalResourceId"]
        data[logical_id] = (resource["Type"], properties, body["Data"])
        for name, value in body["Data"].items():
            attributes[(logical_id, name)] = value

    print("\nOutputs:")
    for name, output in assembly.template.get("Outputs", {}).items():
        print(f"{assembly.stack}.{name} = {cloudformation.resolve(output['Value'], refs, attributes)}")
    for resource_type, properties, job in data.values():
        shown = (
            demo_v2.show_harvest(aws, properties, job)
            if resource_type == demo_v2.RESOURCE_TYPE_V2
            else _show_harvest(aws, job)
        )
        if not shown:
            return 1
    return 0


def _poll_prefix(function: Any) -> str:
    return str(function.environment.get("HARVEST_POLL_RULE_PREFIX", "HarvestJobPoll-"))


def _rolled_back(
    assembly: cloudformation.Assembly,
    function: Any,
    responses: cloudformation.ResponseServer,
    create: dict[str, Any],
    body: dict[str, Any],
) -> int:
    """What ``cdk deploy`` shows for a resource that failed to create, and the rollback: CloudFormation
    sends Delete for the failed resource (the handler answers it), then the stack is rolled back."""
    logical_id, stack = create["LogicalResourceId"], assembly.stack
    path = _construct_path(assembly, logical_id)
    message = (
        f"Received response status [FAILED] from custom resource. Message returned: {body['Reason']} "
        f"(RequestId: {create['RequestId']})"
    )
    delete = cloudformation.event(
        "Delete",
        responses=responses,
        stack=create["StackId"],
        logical_id=logical_id,
        properties=create["ResourceProperties"],
        resource_type=create["ResourceType"],
        physical_id=body["PhysicalResourceId"],
    )
    function.invoke(delete, invocation_id=delete["RequestId"])
    deleted = responses.wait(delete["RequestId"], timeout=10).body["Status"]
    kind, total = create["ResourceType"], len(assembly.template["Resources"])
    rows = [
        ("CREATE_IN_PROGRESS", kind, path, ""),
        ("CREATE_FAILED", kind, path, message),
        (
            "ROLLBACK_IN_PROGRESS",
            "AWS::CloudFormation::Stack",
            stack,
            f"The following resource(s) failed to create: [{logical_id}]. Rollback requested by user.",
        ),
        ("DELETE_COMPLETE" if deleted == "SUCCESS" else "DELETE_FAILED", kind, path, ""),
        ("ROLLBACK_COMPLETE", "AWS::CloudFormation::Stack", stack, ""),
    ]
    print(f"\n{stack}: creating CloudFormation changeset...")
    for done, (status, resource_type, name, text) in enumerate(rows):
        clock = datetime.now().strftime("%I:%M:%S %p")
        line = f"{stack} | {done:>2}/{total} | {clock} | {status:<20} | {resource_type} | {name} {text}"
        print(line.rstrip())
    print(f"\n ❌  {stack} failed: ToolkitError: The stack named {stack} failed creation, it may need to be")
    print(f"manually deleted from the AWS console: ROLLBACK_COMPLETE: {message}")
    return 1


def _construct_path(assembly: cloudformation.Assembly, logical_id: str) -> str:
    """``HarvestJob (HarvestJob4AD607F3)``: the construct path under the stack, as cdk deploy writes it."""
    path = assembly.template["Resources"][logical_id].get("Metadata", {}).get("aws:cdk:path")
    if not path:  # path metadata switched off: cdk deploy shows the logical id alone
        return logical_id
    return f"{str(path).removeprefix(f'{assembly.stack}/').removesuffix('/Resource')} ({logical_id})"


def _local_resources(
    assembly: cloudformation.Assembly, aws: LocalAws
) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """The stack's buckets, roles and functions made locally; what Ref and Fn::GetAtt resolve to."""
    refs: dict[str, str] = {}
    attributes: dict[tuple[str, str], str] = {}
    suffix = uuid.uuid4().hex[:8]
    for logical_id in assembly.resources("AWS::S3::Bucket"):
        name = f"{assembly.stack.lower()}-{logical_id.lower()[:30]}-{suffix}"
        refs[logical_id] = prerequisites.create_bucket(aws, name)
        attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
        print(f"  local bucket  s3://{name}  ({logical_id})")
    for logical_id, role in assembly.resources("AWS::IAM::Role").items():
        trust = role["Properties"]["AssumeRolePolicyDocument"]
        created = prerequisites.create_role(aws, f"{logical_id[:50]}-{suffix}", trust)
        refs[logical_id] = created["RoleName"]
        attributes[(logical_id, "Arn")] = created["Arn"]
    for logical_id in assembly.resources("AWS::Lambda::Function"):
        function = f"{assembly.stack}-{logical_id}"[:64]
        refs[logical_id] = function
        attributes[(logical_id, "Arn")] = function_arn(function, aws.region)
    return refs, attributes


def _create_origin_endpoint(aws: LocalAws, endpoint_id: str) -> None:
    if prerequisites.origin_endpoint(aws, endpoint_id, channel_id=CHANNEL_ID):
        print(f"  local channel {CHANNEL_ID}, HLS origin endpoint {endpoint_id} with a 24 h startover window")


def _recent_window(properties: dict[str, Any]) -> dict[str, str]:
    """The same length of window as the template's (at most 1 h here), ending a minute ago."""
    start = datetime.fromisoformat(properties["StartTime"])
    length = min(datetime.fromisoformat(properties["EndTime"]) - start, timedelta(hours=1))
    start_time, end_time = prerequisites.recent_window(minutes=length / timedelta(minutes=1))
    return {"StartTime": start_time, "EndTime": end_time}


def _show_harvest(aws: LocalAws, job: dict[str, Any]) -> bool:
    """List what the job wrote next to its manifest (waiting for it first, if the stack did not)."""
    mediapackage = aws.mediapackage()
    deadline = time.monotonic() + 60
    record = mediapackage.describe_harvest_job(Id=job["Id"])
    while record["Status"] == "IN_PROGRESS" and time.monotonic() < deadline:
        time.sleep(0.5)
        record = mediapackage.describe_harvest_job(Id=job["Id"])
    status = record["Status"]
    print(f"\nHarvest job {job['Id']}: {status}")
    if status != "SUCCEEDED":
        print(f"error: harvest job {job['Id']} ended {status}, not SUCCEEDED; nothing was harvested")
        return False
    bucket, key = record["S3Destination"]["BucketName"], record["S3Destination"]["ManifestKey"]
    folder = key.rpartition("/")[0]
    listing = aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"{folder}/" if folder else "")
    for entry in listing.get("Contents", []):
        print(f"  s3://{bucket}/{entry['Key']}  {entry['Size']} bytes")
    return True


if __name__ == "__main__":
    sys.exit(main())
