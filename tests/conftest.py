"""Test setup: offline, with fake credentials and a region; no request can reach AWS."""

from __future__ import annotations

import os

# Set before boto3 or crhelper is imported: crhelper creates clients at import time and fails
# silently without a region. Every AWS endpoint points at a closed port on loopback, so a request
# that a test forgot to stub fails at once instead of leaving the machine.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
)
for name in (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL_MEDIAPACKAGE",
    "AWS_ENDPOINT_URL_MEDIAPACKAGEV2",
):
    os.environ.pop(name, None)


# Fixtures for the tests against the local AWS (local_aws/): one server for the session, reset for
# every test; one synthesis of the example app, whose handler asset the lifecycle tests run.
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from botocore.stub import Stubber
from support import LocalSetup, LocalSetupV2, Stack, feature_flags

from app import build
from local_aws import cloudformation, prerequisites
from local_aws.server import LocalAws


@pytest.fixture(scope="session")
def local_aws_server() -> Iterator[LocalAws]:
    with LocalAws() as aws:
        yield aws


@pytest.fixture
def aws(local_aws_server: LocalAws) -> LocalAws:
    """The session's local AWS, with no resources, no faults and default harvest settings."""
    local_aws_server.reset()
    local_aws_server.harvest.completion_delay = 1.0
    return local_aws_server


@pytest.fixture
def setup(aws: LocalAws) -> LocalSetup:
    """A channel, an HLS origin endpoint with a 24 h startover window, a bucket and a trusted role."""
    return prerequisites.create(aws)


@pytest.fixture
def setup_v2(aws: LocalAws) -> LocalSetupV2:
    """For MediaPackage v2: a channel group, a channel, a TS origin endpoint with an HLS manifest and a 24 h
    startover window, and a bucket whose policy lets MediaPackage v2 write for that endpoint; jobs that
    queue for 0.05 s and run for 0.1 s."""
    aws.harvest_v2.queue_delay = 0.05
    aws.harvest_v2.completion_delay = 0.1
    return prerequisites.create_v2(aws)


@pytest.fixture(scope="session")
def example_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example app synthesized once, with bundling: the handler asset the lifecycle tests run."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    context = json.loads((Path(__file__).resolve().parents[1] / "cdk.json").read_text())["context"]
    app = cdk.App(outdir=str(outdir), context=context)
    build(app)
    app.synth()
    return outdir


@pytest.fixture
def stack(example_assembly: Path, aws: LocalAws, tmp_path: Path) -> Iterator[Stack]:
    """The example stack's harvest job on the local AWS, answering to a ResponseURL server of its own."""
    with cloudformation.ResponseServer(tmp_path) as responses:
        yield Stack(cloudformation.Assembly(example_assembly, "HarvestStack"), aws, responses)


@pytest.fixture(scope="module", params=[False, True], ids=["no-flags", "cdk-init-flags"])
def cdk_flags(request: pytest.FixtureRequest) -> dict[str, Any]:
    """No feature flags, then the ones ``cdk init`` writes (``cdk.json``): a module whose stacks take
    their context from this runs once with each, as users' apps old and new synthesize it."""
    return feature_flags() if request.param else {}


# Fixtures of the handler's tests in this process (imported here, not at collection: the construct
# tests never load the handler).
@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every body crhelper's ``_send`` builds for a ResponseURL (only the HTTPS PUT is replaced)."""
    from mediapackage_harvest_handler import answering

    sent: list[dict[str, Any]] = []

    def record(url: str, body: dict[str, Any], *, stop_at: float) -> bool:
        sent.append(json.loads(json.dumps(body)))
        return True

    monkeypatch.setattr(answering, "put_answer", record)
    return sent


@pytest.fixture
def v2_stub() -> Iterator[Stubber]:
    """botocore's Stubber on the handler's MediaPackage v2 client: requests checked against the model."""
    from mediapackage_harvest_handler import outbound

    with Stubber(outbound.mediapackagev2_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every sleep of the handler, not slept; each backoff wait the most it allows."""
    slept: list[float] = []
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept
