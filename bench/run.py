"""Synth-side benchmarks: HarvestJob against the AwsCustomResource stack a user would write.

Prints a Markdown report (table, notes, machine, command); ``--output FILE`` also writes it to a
file (``docs/BENCHMARKS.md``). Every synthesis is a fresh ``python bench/synth_app.py`` process
timed from here, ours and the peer alternating within each round, so both pay the same Python and
jsii start-up. Offline; no AWS account, no Docker.

    python bench/run.py [--runs N] [--quick] [--output FILE]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import handler_events
import template_limits
from template_limits import LIMITS, broken_limits, predicted_maximum, template_metrics

BENCH_DIR = Path(__file__).resolve().parent
SYNTH_APP = BENCH_DIR / "synth_app.py"
TEMPLATE = "HarvestBench.template.json"
SIZES = (1, 10, 50, 200)
SLOPE_SIZES = (10, 50)
#: Kernel calls are counted once per kind at these sizes; per job is the difference over the jobs added.
CALL_SIZES = (1, 50)
# Goals from the issue "A real construct library: wheel, types, quality gates and benchmarks", and
# issue 11 for synthesis: faster than the peer by 5% up to 50 jobs, no slower at 200.
GOAL_SYNTH_RATIO = {1: 0.95, 10: 0.95, 50: 0.95, 200: 1.0}
GOAL_CALLS_RATIO = 2.0
GOAL_BYTES_RATIO = 0.5
GOAL_MAX_JOBS = 150
GOAL_ASSET_BYTES = 16 * 1024
GOAL_CREATE_RATIO = 1.3
REQUEST_ALLOWANCE = 1.0
"""Seconds allowed, beyond the poll interval, for the DescribeHarvestJob that sees the job and the answer."""
GOAL_DELETE_MS = 50
# Goal from the issue "The handler as a package of small modules...": the handler's cold import.
GOAL_IMPORT_RATIO = 1.5
# Synthesis never uses Docker: a fallback to it would fail at once instead of building an image.
SYNTH_ENV = {
    **os.environ,
    "CDK_DOCKER": "/bin/false",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}
# crhelper creates boto3 clients when imported: they need a region and credentials, never used.
IMPORT_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "PYTHONDONTWRITEBYTECODE": "1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
}


class SynthesisError(Exception):
    """A synthesis that failed; CDK itself refuses a stack of more than 500 resources."""


@dataclass
class Row:
    figure: str
    ours: str
    peer: str
    ratio: str
    goal: str
    met: str


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)


class Synthesizer:
    """Runs ``synth_app.py`` in fresh processes, each into its own new output folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0
        self.last: dict[tuple[str, int], Path] = {}
        #: The phases each synthesis reported (import with jsii start-up, build, synth), in order.
        self.phases: dict[tuple[str, int], list[dict[str, float]]] = {}
        #: The jsii kernel calls, by kind, of a counted synthesis (never a timed one).
        self.calls: dict[tuple[str, int], dict[str, int]] = {}

    def __call__(self, kind: str, jobs: int, *, count_calls: bool = False) -> tuple[float, Path]:
        self.count += 1
        outdir = self.root / f"{self.count:04d}-{kind}-{jobs}"
        command = [sys.executable, str(SYNTH_APP), kind, str(jobs), str(outdir)]
        if count_calls:
            command.append("--count-calls")
        start = time.perf_counter()
        result = subprocess.run(
            command, env=SYNTH_ENV, capture_output=True, text=True, timeout=900, check=False
        )
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            print(f"  synthesis failed: {kind}, {jobs} jobs", file=sys.stderr, flush=True)
            raise SynthesisError(f"synthesis failed: {' '.join(command)}\n{result.stderr}")
        reported = json.loads(result.stdout.strip().splitlines()[-1])
        if count_calls:
            self.calls[(kind, jobs)] = reported["calls"]
        else:
            self.phases.setdefault((kind, jobs), []).append(reported)
        print(f"  synthesized {kind}, {jobs} jobs: {elapsed:.2f} s", file=sys.stderr, flush=True)
        previous = self.last.get((kind, jobs))
        if previous is not None:
            shutil.rmtree(previous)
        self.last[(kind, jobs)] = outdir
        return elapsed, outdir

    def template(self, kind: str, jobs: int) -> Path:
        if (kind, jobs) not in self.last:
            self(kind, jobs)
        return self.last[(kind, jobs)] / TEMPLATE


def ratio(ours: float, peer: float) -> str:
    return f"{ours / peer:.2f}" if peer else "n/a"


def met(condition: bool) -> str:
    return "yes" if condition else "**no**"


def synthesis_times(synth: Synthesizer, runs: int, report: Report) -> None:
    # One untimed synthesis each first: the jsii runtime's cache and the page cache get warm.
    synth("ours", 1)
    synth("peer", 1)
    times: dict[tuple[str, int], list[float]] = {
        (kind, size): [] for kind in ("ours", "peer") for size in SIZES
    }
    refused: dict[int, str] = {}
    for run in range(runs):
        for position, size in enumerate(SIZES):
            if size in refused:
                continue
            kinds = ("ours", "peer") if (run + position) % 2 == 0 else ("peer", "ours")
            for kind in kinds:
                try:
                    times[(kind, size)].append(synth(kind, size)[0])
                except SynthesisError as error:
                    # CDK refuses a stack of more than 500 resources: no figure at that size.
                    if "TooManyResourcesInStack" not in str(error):
                        raise
                    refused[size] = f"{kind}: more than 500 resources in one stack, CDK refuses it"
                    break
    timed = [values for values in times.values() if values]
    spread = statistics.median(max(values) - min(values) for values in timed)
    if runs > 1:
        report.notes.append(
            f"Synthesis runs of the same kind and size spread over {spread:.2f} s (max - min, median "
            f"over the {len(timed)} groups) in this run; a goal counts as met only when the ratio of the "
            "medians is past it."
        )
    for size in SIZES:
        goal = GOAL_SYNTH_RATIO[size]
        label = f"Synthesis time, {size} job{'s' if size > 1 else ''} (s, median of {runs})"
        if size in refused:
            report.rows.append(Row(label, "n/a", "n/a", "n/a", f"ratio ≤ {goal:.2f}", refused[size]))
            continue
        ours, peer = statistics.median(times[("ours", size)]), statistics.median(times[("peer", size)])
        report.rows.append(
            Row(
                label,
                f"{ours:.2f}",
                f"{peer:.2f}",
                ratio(ours, peer),
                f"ratio ≤ {goal:.2f}",
                met(ours / peer <= goal),
            )
        )
        for kind in ("ours", "peer"):
            runs_text = ", ".join(f"{value:.2f}" for value in times[(kind, size)])
            # The timed runs only: the warm-up is the first of the 1-job phases.
            phases = synth.phases[(kind, size)][-runs:]
            inside = ", ".join(
                f"{phase} {statistics.median(entry[phase] for entry in phases):.2f}"
                for phase in ("import", "build", "synth")
            )
            report.details.append(
                f"synthesis, {kind}, {size} job{'s' if size > 1 else ''}: runs {runs_text} s; "
                f"inside the process (medians): {inside} s"
            )
        if ours / peer > goal:
            report.notes.append(_synthesis_miss(synth, size, runs, ours, peer, goal))


def _synthesis_miss(synth: Synthesizer, size: int, runs: int, ours: float, peer: float, goal: float) -> str:
    """Where the time of a missed synthesis goal goes: the constructs' own part against the rest."""

    def build(kind: str) -> float:
        return statistics.median(entry["build"] for entry in synth.phases[(kind, size)][-runs:])

    own, theirs = build("ours"), build("peer")
    rest = statistics.median([ours - own, peer - theirs])
    needed = (1 - goal) * (rest + theirs) - (theirs - own)
    return (
        f"Synthesis with {size} job{'s' if size > 1 else ''} misses its goal "
        f"({ours / peer:.2f} > {goal:.2f}). "
        f"Building the constructs takes {own:.2f} s for ours and {theirs:.2f} s for the peer; the rest of "
        f"the process, about {rest:.2f} s (Python and node start-up, importing the CDK, `app.synth()`), "
        "is the same work for both. Ours would have to build in "
        f"{max(0.0, own - needed):.2f} s, {needed:.2f} s less, for the ratio to reach the goal."
    )


def kernel_calls(synth: Synthesizer, report: Report) -> None:
    """jsii round trips (Python to node) per added job, counted in separate, untimed syntheses."""
    small, large = CALL_SIZES
    per_job: dict[str, float] = {}
    kinds: dict[str, dict[str, float]] = {}
    for kind in ("ours", "peer"):
        for size in CALL_SIZES:
            synth(kind, size, count_calls=True)
        at_small, at_large = synth.calls[(kind, small)], synth.calls[(kind, large)]
        kinds[kind] = {
            name: (at_large.get(name, 0) - at_small.get(name, 0)) / (large - small)
            for name in sorted(set(at_small) | set(at_large))
        }
        per_job[kind] = sum(kinds[kind].values())
        total = ", ".join(f"{name} {count}" for name, count in sorted(at_small.items()))
        report.details.append(
            f"jsii kernel calls, {kind}: {sum(at_small.values())} with {small} job ({total}), "
            f"{sum(at_large.values())} with {large}; per added job: "
            + ", ".join(f"{name} {count:.2f}" for name, count in kinds[kind].items() if count)
        )
    ours, peer = per_job["ours"], per_job["peer"]
    report.rows.append(
        Row(
            f"jsii kernel calls per additional job ({small} → {large} jobs, build and synth)",
            f"{ours:.2f}",
            f"{peer:.2f}",
            ratio(ours, peer),
            f"ratio ≤ {GOAL_CALLS_RATIO:.0f}",
            met(ours <= GOAL_CALLS_RATIO * peer),
        )
    )
    report.notes.append(
        "jsii kernel calls: every request the Python process sends to the CDK's node process "
        "(create, invoke, static invoke, property get/set, callback answers), counted by "
        "`bench/synth_app.py --count-calls`, which wraps jsii's process provider; deterministic, so "
        "one run each, never timed."
    )


def compact_bytes(path: Path) -> int:
    return template_limits.characters(json.loads(path.read_text()))


def template_slopes(synth: Synthesizer, report: Report) -> None:
    small, large = SLOPE_SIZES
    slopes: dict[str, tuple[float, float]] = {}
    for kind in ("ours", "peer", "peer-statements"):
        at_small, at_large = synth.template(kind, small), synth.template(kind, large)
        slopes[kind] = (
            (at_large.stat().st_size - at_small.stat().st_size) / (large - small),
            (compact_bytes(at_large) - compact_bytes(at_small)) / (large - small),
        )
    ours, peer = slopes["ours"][0], slopes["peer"][0]
    report.rows.append(
        Row(
            f"Template bytes per additional job (CDK's template file, {small} → {large} jobs)",
            f"{ours:,.0f}",
            f"{peer:,.0f}",
            ratio(ours, peer),
            f"ratio ≤ {GOAL_BYTES_RATIO}",
            met(ours / peer <= GOAL_BYTES_RATIO),
        )
    )
    compact_ours, compact_peer = slopes["ours"][1], slopes["peer"][1]
    statements, compact_statements = slopes["peer-statements"]
    report.notes.append(
        "Template bytes are those of the file CDK writes (JSON indented by one space, an "
        "`aws:cdk:path` entry on each resource), which is what is uploaded. As compact JSON: "
        f"ours {compact_ours:,.0f}, peer {compact_peer:,.0f} bytes per job (ratio "
        f"{ratio(compact_ours, compact_peer)}); the peer with `iam:PassRole` in each job's policy: "
        f"{statements:,.0f} ({compact_statements:,.0f} compact)."
    )


#: MediaPackage v2 (``HarvestJobV2``): synthesis sizes, timed beside v1's; no peer exists.
V2_SIZES = (1, 10, 50)


def v2_figures(synth: Synthesizer, runs: int, report: Report) -> None:
    """HarvestJobV2's synthesis time and template bytes per job, beside HarvestJob's (v1, ``ours``)."""
    synth("ours-v2", 1)  # untimed warm-up, as for the others
    for size in V2_SIZES:
        times = [synth("ours-v2", size)[0] for _ in range(runs)]
        v2 = statistics.median(times)
        v1_times = [synth("ours", size)[0] for _ in range(runs)]
        v1 = statistics.median(v1_times)
        report.rows.append(
            Row(
                f"MediaPackage v2: synthesis time, {size} job{'s' if size > 1 else ''} (s, median of {runs}; "
                "peer column: HarvestJob, v1)",
                f"{v2:.2f}",
                f"{v1:.2f}",
                ratio(v2, v1),
                "none (no v2 peer exists)",
                "n/a",
            )
        )
        report.details.append(
            f"synthesis, ours-v2, {size} job{'s' if size > 1 else ''}: runs "
            + ", ".join(f"{value:.2f}" for value in times)
            + " s; ours (v1) beside it: "
            + ", ".join(f"{value:.2f}" for value in v1_times)
            + " s"
        )
    small, large = SLOPE_SIZES
    at_small, at_large = synth.template("ours-v2", small), synth.template("ours-v2", large)
    v1_small, v1_large = synth.template("ours", small), synth.template("ours", large)
    v2_bytes = (at_large.stat().st_size - at_small.stat().st_size) / (large - small)
    v1_bytes = (v1_large.stat().st_size - v1_small.stat().st_size) / (large - small)
    report.rows.append(
        Row(
            f"MediaPackage v2: template bytes per additional job ({small} → {large} jobs; peer column: v1)",
            f"{v2_bytes:,.0f}",
            f"{v1_bytes:,.0f}",
            ratio(v2_bytes, v1_bytes),
            "none (no v2 peer exists)",
            "n/a",
        )
    )
    policy = _bucket_policy_bytes(at_large)
    report.notes.append(
        "MediaPackage v2: a v2 job has no role; its bytes include the bucket-policy statement that lets "
        f"MediaPackage v2 write under its path. With {large} jobs from one endpoint into one bucket the "
        f"bucket policy is {policy:,} characters as written in the template (S3 allows 20 KB once "
        "deployed, with intrinsic functions resolved)."
    )


def _bucket_policy_bytes(template: Path) -> int:
    resources = json.loads(template.read_text())["Resources"]
    return sum(
        template_limits.characters(resource["Properties"]["PolicyDocument"])
        for resource in resources.values()
        if resource["Type"] == "AWS::S3::BucketPolicy"
    )


def largest_stack(synth: Synthesizer, kind: str, cap: int = 2000) -> tuple[int, str]:
    """The most jobs one stack holds within every limit, and the rule that the next job breaks.

    Predicted from the 10- and 50-job templates (every figure grows linearly), then confirmed by
    synthesizing that many jobs and one more; a wrong prediction is corrected by search.
    """
    small, large = SLOPE_SIZES
    checked: dict[int, list[template_limits.Limit]] = {}

    def broken(jobs: int) -> list[template_limits.Limit]:
        if jobs not in checked:
            try:
                checked[jobs] = broken_limits(template_metrics(synth.template(kind, jobs)))
            except SynthesisError as error:
                # CDK checks CloudFormation's resource limit itself and writes no template.
                if "TooManyResourcesInStack" not in str(error):
                    raise
                checked[jobs] = [limit for limit in LIMITS if limit.key == "resources"]
        return checked[jobs]

    prediction = predicted_maximum(
        (small, template_metrics(synth.template(kind, small))),
        (large, template_metrics(synth.template(kind, large))),
    )
    guess = max(min(prediction if prediction is not None else cap, cap), 1)
    # Gallop from the guess towards the boundary, then bisect: low fits, high does not.
    step = 1
    if broken(guess):
        high = guess
        while high - step > 0 and broken(high - step):
            high -= step
            step *= 2
        low = max(high - step, 0)
    else:
        low = guess
        while low < cap and not broken(low + step):
            low += step
            step *= 2
        if low >= cap:
            return low, f"none up to {low} jobs (search stopped)"
        high = low + step
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if broken(middle) else (middle, high)
    return low, "; ".join(limit.rule for limit in broken(high))


def stack_limits(synth: Synthesizer, report: Report) -> None:
    found = {kind: largest_stack(synth, kind) for kind in ("ours", "peer", "peer-statements")}
    (ours, ours_rule), (peer, peer_rule) = found["ours"], found["peer"]
    report.rows.append(
        Row(
            "Largest number of jobs in one stack (one bucket, one destination role)",
            f"{ours} (then: {ours_rule})",
            f"{peer} (then: {peer_rule})",
            ratio(ours, peer),
            f"ours ≥ {GOAL_MAX_JOBS}",
            met(ours >= GOAL_MAX_JOBS),
        )
    )
    statements, statements_rule = found["peer-statements"]
    report.notes.append(
        f"The peer with `iam:PassRole` written into each job's own policy (`from_statements`) holds "
        f"{statements} jobs (then: {statements_rule}); with the statement added once to the shared "
        f"handler role (the peer above), {peer}. Limits checked: "
        + "; ".join(limit.rule for limit in LIMITS)
        + ". IAM counts policies with `Ref`/`Fn::GetAtt` resolved: generated names are taken at "
        f"their longest (64 characters), region `{template_limits.REGION}`."
    )


def zipped_size(folder: Path) -> tuple[int, dict[str, int]]:
    """Deflate (level 9, as CDK zips assets) of every file; the total and each file's share."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(item for item in folder.rglob("*") if item.is_file()):
            archive.write(path, path.relative_to(folder).as_posix())
    with zipfile.ZipFile(buffer) as archive:
        shares = {info.filename: info.compress_size for info in archive.infolist()}
    return len(buffer.getvalue()), shares


def only_asset(outdir: Path) -> Path:
    (asset,) = (path for path in outdir.iterdir() if path.is_dir() and path.name.startswith("asset."))
    return asset


def asset_sizes(synth: Synthesizer, report: Report) -> Path:
    ours_asset = only_asset(synth.template("ours", 1).parent)
    peer_asset = only_asset(synth.template("peer", 1).parent)
    (ours, shares), (peer, _) = zipped_size(ours_asset), zipped_size(peer_asset)
    report.rows.append(
        Row(
            "Lambda asset, zipped (bytes)",
            f"{ours:,}",
            f"{peer:,}",
            ratio(ours, peer),
            f"ours ≤ {GOAL_ASSET_BYTES:,} (16 KB)",
            met(ours <= GOAL_ASSET_BYTES),
        )
    )
    breakdown = ", ".join(
        f"{name} {size:,}" for name, size in sorted(shares.items(), key=lambda item: -item[1])
    )
    report.details.append(f"our asset, compressed bytes per file (without zip headers): {breakdown}")
    return ours_asset


def import_time(statement: str, pythonpath: Path | None) -> float:
    env = dict(IMPORT_ENV, PYTHONPATH=str(pythonpath)) if pythonpath else IMPORT_ENV
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], env=env, check=True, timeout=120)
    return time.perf_counter() - start


def cold_imports(asset: Path, runs: int, report: Report) -> None:
    entry = handler_events.handler_setting(asset).rpartition(".")[0]
    handler: list[float] = []
    floor: list[float] = []
    for run in range(runs):
        measure: list[tuple[list[float], Callable[[], float]]] = [
            (handler, lambda: import_time(f"import {entry}", asset)),
            (floor, lambda: import_time("import boto3", None)),
        ]
        for results, measured in measure if run % 2 == 0 else reversed(measure):
            results.append(measured())
    ours, boto3 = statistics.median(handler), statistics.median(floor)
    ratio = ours / boto3
    report.rows.append(
        Row(
            f"Handler cold import, fresh process (ms, median of {runs}); floor: `import boto3`",
            f"{ours * 1000:.0f}",
            f"floor {boto3 * 1000:.0f}",
            f"{ratio:.2f}x floor",
            f"<= {GOAL_IMPORT_RATIO}x floor",
            "met" if ratio <= GOAL_IMPORT_RATIO else "MISSED",
        )
    )
    report.notes.append(
        f"Cold import: `python -c 'import {entry}'` with the asset folder on PYTHONPATH and no "
        "bytecode written (Lambda's /var/task is read-only), so the handler package, the contract and "
        "rules modules and crhelper compile on each run; crhelper's constructor builds none of its "
        "three boto3 clients (the handler uses none). The floor imports boto3 alone, from the same "
        f"interpreter (Python {platform.python_version()} here; the function runs Python 3.14 in Lambda)."
    )


def per_event(asset: Path, runs: int, report: Report) -> None:
    times = handler_events.per_event_times(asset, runs)
    create, delete, floor = (statistics.median(times[kind]) for kind in ("creates", "deletes", "bare"))
    report.rows.extend(
        [
            Row(
                f"Per-event handler time, Create (ms, median of {runs}); floor: a bare `create_harvest_job`",
                f"{create * 1000:.1f}",
                f"floor {floor * 1000:.1f}",
                f"{create / floor:.2f}x floor",
                f"≤ {GOAL_CREATE_RATIO}x floor",
                met(create / floor <= GOAL_CREATE_RATIO),
            ),
            Row(
                f"Per-event handler time, Delete (ms, median of {runs})",
                f"{delete * 1000:.1f}",
                "crhelper default: sleeps 120 s",
                "—",
                f"< {GOAL_DELETE_MS} ms",
                met(delete * 1000 < GOAL_DELETE_MS),
            ),
        ]
    )
    interval = float(handler_events.asset_contract(asset).POLL_INTERVAL_SECONDS)
    latencies = handler_events.completion_latencies(asset, runs, interval)
    worst = max(latencies)
    report.rows.append(
        Row(
            f"Completion-detection latency, waiting on (s, median / worst of {runs})",
            f"{statistics.median(latencies):.2f} / {worst:.2f}",
            "no waiting (`AwsCustomResource` answers at once, `IN_PROGRESS`)",
            f"worst {worst / interval:.2f}x the poll interval",
            f"≤ the poll interval ({interval:.0f} s) + its request (≤ {REQUEST_ALLOWANCE:.0f} s)",
            met(worst <= interval + REQUEST_ALLOWANCE),
        )
    )
    report.notes.append(
        "Completion-detection latency: from the moment a local job leaves IN_PROGRESS to the moment the "
        "ResponseURL receives SUCCESS, for Creates with waiting on, each in its own handler process from "
        "the asset. The handler looks one interval after the create, then every interval; the jobs "
        "finish from 0.05 s after the first look onwards, spread over one interval, so every phase is "
        "covered, including the worst (a job finishing right after a look is seen one interval later, "
        "by a DescribeHarvestJob, then answered by an HTTPS PUT)."
    )
    report.notes.append(
        "Per-event time: the synthesized handler imported once from its asset folder (a warm Lambda "
        "container), each event timed from `handler(event, context)` to its return, against the local "
        "AWS (moto + harvest jobs) on loopback; it includes the handler's answer, an HTTPS PUT on a "
        "new TLS connection (one TLS context per container) to a loopback ResponseURL. Delete makes "
        "no API call, so the Delete time is about the cost of that answer; Create is the "
        "`CreateHarvestJob` call plus that answer. The floor is the same `create_harvest_job` call "
        "made bare from the same process, without an answer to send. Creates, Deletes and floor "
        "calls alternate."
    )


def node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "not found"
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def machine(load_before: str) -> list[str]:
    return [
        f"CPU: {cpu_model()}, {os.cpu_count()} cores",
        f"OS: {platform.platform()}",
        f"Python {platform.python_version()}, node {node_version()}",
        f"aws-cdk-lib {importlib.metadata.version('aws-cdk-lib')}, "
        f"jsii {importlib.metadata.version('jsii')}, "
        f"cdk-mediapackage-harvest {importlib.metadata.version('cdk-mediapackage-harvest')}",
        f"Load average (1, 5, 15 min) before the run: {load_before}; after: {load_average()} "
        "(the benchmark itself keeps about one core busy; more means other work shared the machine)",
    ]


def render(report: Report, command: str, runs: int, seconds: float, load_before: str) -> str:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    plural = "s" if runs > 1 else ""
    lines = [
        "# Benchmarks: HarvestJob against AwsCustomResource",
        "",
        "Ours: `HarvestJob`. Peer: the `aws_cdk.custom_resources.AwsCustomResource` stack a user would",
        "write (service `MediaPackage`, action `createHarvestJob`, the same parameters, physical id from",
        "the response's `Id`, policy from the SDK calls plus the `iam:PassRole` statement it needs, on",
        "its shared handler role). Layout: one stack, one bucket, one destination role (ours: the",
        "construct's default role for the bucket), every job writing into that bucket.",
        "",
        "| figure | ours | peer | ratio (ours/peer) | goal | met? |",
        "| --- | --- | --- | --- | --- | --- |",
        *(f"| {r.figure} | {r.ours} | {r.peer} | {r.ratio} | {r.goal} | {r.met} |" for r in report.rows),
        "",
        "## Notes",
        "",
        "- Synthesis: each run is a fresh `python bench/synth_app.py KIND JOBS OUTDIR` (an App with one",
        "  stack and the context `cdk synth` sets by default: path and asset metadata, version",
        "  reporting, bundling on; our handler asset is really laid out and staged, the peer's copied",
        "  from aws-cdk-lib; `app.synth()` into a new folder),",
        f"  timed from the parent; ours and the peer alternate, {runs} run{plural} per size after one",
        "  untimed warm-up each. The details split each run as the process saw it: importing the",
        "  CDK, building the constructs (with the assets' staging), `app.synth()`;",
        "  the rest is the interpreter's and node's start and exit.",
        *(f"- {note}" for note in report.notes),
        "",
        "## Details",
        "",
        *(f"- {detail}" for detail in report.details),
        "",
        "## Machine",
        "",
        *(f"- {line}" for line in machine(load_before)),
        "",
        f"Reproduce: `make bench` (this run: `{command}`, {today}, {seconds:.0f} s). To rewrite this",
        "file from a new run: `.venv/bin/python bench/run.py --output docs/BENCHMARKS.md`.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    try:
        benchmark()
    except SynthesisError as error:
        raise SystemExit(str(error)) from error


def benchmark() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", type=int, default=9, help="runs per figure; the median is reported (default 9)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="one run per synthesis figure, three cold imports"
    )
    parser.add_argument("--output", type=Path, help="also write the Markdown report to this file")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    runs = 1 if args.quick else args.runs
    command = "python bench/run.py " + " ".join(sys.argv[1:])
    started = time.perf_counter()
    load_before = load_average()
    report = Report()
    print(f"Benchmarking ({runs} runs per synthesis figure); the report follows.", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="harvest-bench-") as folder:
        synth = Synthesizer(Path(folder))
        synthesis_times(synth, runs, report)
        kernel_calls(synth, report)
        template_slopes(synth, report)
        v2_figures(synth, runs, report)
        stack_limits(synth, report)
        asset = asset_sizes(synth, report)
        cold_imports(asset, max(runs, 3), report)
        per_event(asset, max(runs, 9), report)
        seconds = time.perf_counter() - started
        report.details.append(f"{synth.count} syntheses in all")
    text = render(report, command.strip(), runs, seconds, load_before)
    print(text, end="")
    if args.output:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
