"""Per-event handler time against the local AWS: the synthesized handler, warm, in one process (as a
warm Lambda container runs it), answering through the handler's HTTPS PUT to a loopback ResponseURL;
the floor is one bare ``create_harvest_job`` call from the same process to the same endpoint.

The parent (``per_event_times``) starts the local AWS and the ResponseURL server and issues the
events; a child (``python bench/handler_events.py ASSET``) imports the handler from the asset folder,
times each call, and prints the times as JSON.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local_aws.cloudformation import ResponseServer
    from local_aws.server import LocalAws

REPO_ROOT = Path(__file__).resolve().parents[1]
FUNCTION_NAME = "HarvestBench-Handler"
CONTRACT = "cdk_mediapackage_harvest_contract.py"


def asset_contract(asset: Path) -> ModuleType:
    """The asset's own contract module (standard library only), loaded without the handler."""
    spec = importlib.util.spec_from_file_location("bench_asset_contract", asset / CONTRACT)
    if spec is None or spec.loader is None:
        raise LookupError(f"{asset} holds no {CONTRACT}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def handler_setting(asset: Path) -> str:
    """The function's ``Handler``: the entry point's module and function, ``module.function``."""
    return str(asset_contract(asset).HANDLER)


def per_event_times(asset: Path, runs: int) -> dict[str, list[float]]:
    """Seconds per Create, per Delete and per bare create_harvest_job call, ``runs`` of each."""
    sys.path.insert(0, str(REPO_ROOT))
    from local_aws import cloudformation
    from local_aws.server import LocalAws

    with tempfile.TemporaryDirectory() as scratch, LocalAws() as aws:
        aws.harvest.completion_delay = 0  # no job stays IN_PROGRESS: the quota never throttles
        with cloudformation.ResponseServer(Path(scratch)) as responses:
            properties = _local_job(aws)
            stack = cloudformation.stack_id("HarvestBench")

            def event(kind: str, physical_id: str | None = None) -> dict[str, Any]:
                return _event(responses, stack, properties, kind, physical_id)

            work = {
                "creates": [event("Create") for _ in range(runs)],
                "deletes": [event("Delete", f"bench-job-{n}") for n in range(runs)],
                "bare": [
                    {
                        "Id": f"bare-{n}",
                        "OriginEndpointId": properties["OriginEndpointId"],
                        "StartTime": properties["StartTime"],
                        "EndTime": properties["EndTime"],
                        "S3Destination": properties["S3Destination"],
                    }
                    for n in range(runs)
                ],
            }
            environment = {
                **aws.environment(),
                "SSL_CERT_FILE": str(responses.cert_file),
                "PATH": "/usr/bin:/bin",
            }
            child = subprocess.run(
                [sys.executable, "-I", __file__, str(asset)],
                input=json.dumps(work),
                capture_output=True,
                text=True,
                env=environment,
                timeout=600,
                check=False,
            )
            if child.returncode != 0:
                raise RuntimeError(f"the handler benchmark failed:\n{child.stdout}\n{child.stderr}")
            for created in work["creates"]:
                status = responses.wait(created["RequestId"], timeout=10).body["Status"]
                if status != "SUCCESS":
                    raise RuntimeError(f"a benchmarked Create answered {status}")
            times: dict[str, list[float]] = json.loads(child.stdout.strip().splitlines()[-1])
            return times


def completion_latencies(asset: Path, runs: int, poll_interval: float) -> list[float]:
    """Seconds from a local job finishing to CloudFormation receiving SUCCESS, with waiting on.

    Each Create runs in its own handler process (``local_aws.lambda_runtime``). The handler first
    looks one interval after the create, then every interval; the jobs' run times are spread over
    the interval after that first look, starting just after it (the worst case: a job that finishes
    right after a look waits a whole interval), so the figures cover every phase of the polling.
    """
    sys.path.insert(0, str(REPO_ROOT))
    from local_aws import ACCOUNT_ID, cloudformation, harvest_jobs
    from local_aws.lambda_runtime import Function
    from local_aws.server import LocalAws

    latencies = []
    with (
        tempfile.TemporaryDirectory() as scratch,
        LocalAws() as aws,
        cloudformation.ResponseServer(Path(scratch)) as responses,
    ):
        properties = {**_local_job(aws), "WaitForCompletion": "true"}
        function = Function(
            asset=asset,
            handler=handler_setting(asset),
            environment={**aws.environment(), "SSL_CERT_FILE": str(responses.cert_file)},
            timeout_ms=300_000,  # the handler keeps 2 minutes of it for handing over and answering
            name=FUNCTION_NAME,
        )
        stack = cloudformation.stack_id("HarvestBench")
        for run in range(runs):
            aws.harvest.completion_delay = poll_interval * (1 + run / runs) + 0.05
            create = _event(responses, stack, properties, "Create")
            invocation = function.invoke(create, invocation_id=create["RequestId"])
            answer = responses.wait(create["RequestId"], timeout=10)
            if answer.body["Status"] != "SUCCESS" or answer.body["Data"]["Status"] != "SUCCEEDED":
                raise RuntimeError(f"a waiting Create answered {answer.body}:\n{invocation.logs}")
            job_id = answer.body["PhysicalResourceId"]
            finished = harvest_jobs.STORE.finishes_at(ACCOUNT_ID, aws.region, job_id)
            latencies.append(answer.received - finished)
    return latencies


def _local_job(aws: LocalAws) -> dict[str, Any]:
    """The properties of a harvest job the local AWS accepts (its prerequisites made there)."""
    from local_aws import prerequisites
    from local_aws.lambda_runtime import function_arn

    setup = prerequisites.create(aws)
    start, end = prerequisites.recent_window()
    return {
        "ServiceToken": function_arn(FUNCTION_NAME),
        "OriginEndpointId": setup.endpoint_id,
        "StartTime": start,
        "EndTime": end,
        "S3Destination": {
            "BucketName": setup.bucket,
            "ManifestKey": "clips/bench/index.m3u8",
            "RoleArn": setup.role_arn,
        },
    }


def _event(
    responses: ResponseServer,
    stack: str,
    properties: Mapping[str, Any],
    kind: str,
    physical_id: str | None = None,
) -> dict[str, Any]:
    from local_aws import cloudformation

    return cloudformation.event(
        kind,
        responses=responses,
        stack=stack,
        logical_id="HarvestJob",
        properties=properties,
        physical_id=physical_id,
    )


def _child(asset: str, work: Mapping[str, Any]) -> dict[str, list[float]]:
    """In the child: the handler from the asset, warm; each kind of call timed in turn."""
    sys.path.insert(0, asset)
    import boto3

    handler = importlib.import_module(handler_setting(Path(asset)).rpartition(".")[0])
    outbound = importlib.import_module("mediapackage_harvest_handler.outbound")
    sys.path.append(str(REPO_ROOT))  # after the handler: only for the context
    from local_aws.lambda_runtime import Context

    bare = boto3.client("mediapackage")
    bare.list_harvest_jobs()  # warm: the client's endpoint and connection pool, like the handler's
    outbound.mediapackage_client().list_harvest_jobs()
    times: dict[str, list[float]] = {"creates": [], "deletes": [], "bare": []}
    for create, delete, arguments in zip(work["creates"], work["deletes"], work["bare"], strict=True):
        start = time.perf_counter()
        handler.handler(create, Context())
        times["creates"].append(time.perf_counter() - start)
        start = time.perf_counter()
        handler.handler(delete, Context())
        times["deletes"].append(time.perf_counter() - start)
        start = time.perf_counter()
        bare.create_harvest_job(**arguments)
        times["bare"].append(time.perf_counter() - start)
    return times


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], json.load(sys.stdin))))
