"""Completion-detection latency after the wait was handed over (``make bench``): from the moment a
local job leaves IN_PROGRESS to the moment the ResponseURL receives the answer, for the example stack's
handler from its synthesized asset, each invocation in its own process, against the local AWS.

Three paths, each measured ``--runs`` times:

- **notification**: MediaPackage's notification, delivered by the local EventBridge through the
  stack's rule, starts an invocation that looks at the job and answers at once;
- **fallback, poll watching**: notifications lost; a scheduled poll is already watching the job (it
  looks every 5 s for 45 s of each minute) when the job finishes;
- **fallback, next poll**: notifications lost; the job finishes in the 15 s between two polls'
  watches. Measured: from the next poll's start to the answer; the wait for that poll (up to 15 s,
  uniform) is added from the schedule, not slept.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from local_aws import ACCOUNT_ID, cloudformation, eventbridge, harvest_jobs, prerequisites  # noqa: E402
from local_aws.server import LocalAws  # noqa: E402

SHORT_MS = 20_000
"""A first invocation this short hands the job over at once."""


def synthesize(outdir: Path) -> cloudformation.Assembly:
    import aws_cdk as cdk

    from app import build

    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    app = cdk.App(outdir=str(outdir), context=context)
    build(app)
    app.synth()
    return cloudformation.Assembly(outdir, "HarvestStack")


def one_run(
    assembly: cloudformation.Assembly, aws: LocalAws, responses: Any, path: str, phase: float
) -> float:
    """Seconds from the job's end to the answer, for one handed-over Create on ``path``."""
    aws.reset()
    setup = prerequisites.create(aws)
    ((logical_id, resource),) = assembly.resources(cloudformation.RESOURCE_TYPE).items()
    environment = {**aws.environment(), "SSL_CERT_FILE": str(responses.cert_file)}
    function = assembly.function(logical_id, environment, max_timeout_ms=180_000)
    eventbridge.register(aws, function, assembly.rules(assembly.function_id(logical_id)))
    bus = eventbridge.Bus(aws, [function])
    if path == "notification":
        harvest_jobs.STORE.listeners.append(bus.put)
    else:
        aws.harvest.notifications = False
    aws.harvest.completion_delay = 300.0  # ended below, once the wait was handed over
    template = resource["Properties"]
    destination = template["S3Destination"]
    properties = cloudformation.resolve(
        template,
        {destination["BucketName"]["Ref"]: setup.bucket},
        {
            (destination["RoleArn"]["Fn::GetAtt"][0], "Arn"): setup.role_arn,
            (template["ServiceToken"]["Fn::GetAtt"][0], "Arn"): function.arn,
        },
    )
    start, end = prerequisites.recent_window()
    properties.update(OriginEndpointId=setup.endpoint_id, StartTime=start, EndTime=end)
    event = cloudformation.event(
        "Create",
        responses=responses,
        stack=cloudformation.stack_id("HarvestStack"),
        logical_id=logical_id,
        properties=properties,
    )
    dataclasses.replace(function, timeout_ms=SHORT_MS).invoke(event, invocation_id="first")
    job_id = json.loads(
        eventbridge.Scheduler(aws, [function]).targets(_poll_rule(aws, function))[0]["Input"]
    )["HarvestJobWait"]["Id"]
    polled = 0.0
    if path == "poll watching":  # the poll is under way (its first look done) when the job ends
        threading.Thread(target=eventbridge.Scheduler(aws, [function]).tick, daemon=True).start()
        time.sleep(phase)
    harvest_jobs.STORE.finish(ACCOUNT_ID, aws.region, job_id)
    finished = harvest_jobs.STORE.finishes_at(ACCOUNT_ID, aws.region, job_id)
    if path == "next poll":
        polled = time.monotonic()
        threading.Thread(target=eventbridge.Scheduler(aws, [function]).tick, daemon=True).start()
    answer = responses.wait(event["RequestId"], timeout=60)
    bus.wait()
    if path == "next poll":
        return float(answer.received - polled)
    return float(answer.received - finished)


def _poll_rule(aws: LocalAws, function: Any) -> str:
    prefix = function.environment["HARVEST_POLL_RULE_PREFIX"]
    (rule,) = eventbridge.Scheduler(aws, [function]).rules(prefix)
    return str(rule["Name"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 runs per path")
    parser.add_argument("--output", type=Path, help="also append the figures, in Markdown, to this file")
    args, _ = parser.parse_known_args()
    runs = 3 if args.quick else args.runs
    with tempfile.TemporaryDirectory() as scratch, LocalAws() as aws:
        assembly = synthesize(Path(scratch) / "cdk.out")
        with cloudformation.ResponseServer(Path(scratch)) as responses:
            results = {
                path: [
                    one_run(assembly, aws, responses, path, phase=2.0 + n * 5.0 / runs) for n in range(runs)
                ]
                for path in ("notification", "poll watching", "next poll")
            }
    gap = 15.0
    print(f"Completion-detection latency after hand-over (s, median / worst of {runs}):")
    if args.output:
        with args.output.open("a") as report:
            report.write(
                f"\n## Completion-detection latency after hand-over (`bench/handover_latency.py`)\n\n"
                "From a local job leaving IN_PROGRESS to the answer's arrival, once the first\n"
                f"invocation has handed the wait over (s, median / worst of {runs}); the next poll is\n"
                f"measured from that poll's start, and the wait for it (up to {gap:.0f} s) comes on top.\n\n"
                "| path | median | worst |\n"
                "| --- | --- | --- |\n"
                + "".join(
                    f"| {path} | {statistics.median(seconds):.2f} | {max(seconds):.2f} |\n"
                    for path, seconds in results.items()
                )
            )
    for path, seconds in results.items():
        line = f"  {path:<16} {statistics.median(seconds):5.2f} / {max(seconds):5.2f}"
        if path == "next poll":
            line += (
                f"   measured from the poll's start; plus the wait for it: up to {gap:.0f} s "
                f"(worst {gap + max(seconds):.2f}, "
                f"mean over the gap {gap / 2 + statistics.median(seconds):.2f})"
            )
        print(line)


if __name__ == "__main__":
    main()
