"""The local AWS: moto's ``ThreadedMotoServer`` on 127.0.0.1 with harvest jobs and fault injection.

>>> with LocalAws() as aws:
...     aws.client("mediapackage").list_harvest_jobs()

Everything a handler process needs to reach it (endpoint URLs, fake credentials, the region) comes
from ``LocalAws.environment()``: the handler finds the endpoint only through ``AWS_ENDPOINT_URL*``.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local_aws import REGION, harvest_api_v2, harvest_jobs, harvest_jobs_v2
from local_aws.origin_endpoints_v2 import ENDPOINTS as V2_ENDPOINTS

if TYPE_CHECKING:
    from mypy_boto3_mediapackage import MediaPackageClient

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
# The modelled MediaPackage errors that fault injection answers with, by status.
_ERRORS = {
    403: "ForbiddenException",
    429: "TooManyRequestsException",
    500: "InternalServerErrorException",
    503: "ServiceUnavailableException",
}
# MediaPackage v2's model names them otherwise; it models no 503, which AWS front ends answer anyway.
_ERRORS_BY_SERVICE = {
    "mediapackagev2": {
        403: "AccessDeniedException",
        429: "ThrottlingException",
        500: "InternalServerException",
        503: "ServiceUnavailableException",
    }
}

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Faults:
    """Faults injected into the requests for ``services``, decided before moto sees the request."""

    services: frozenset[str] = frozenset({"mediapackage", "mediapackagev2"})
    throttle_share: float = 0.0
    """Share of requests answered 429 (TooManyRequestsException; ThrottlingException for v2), drawn from a
    seeded generator."""
    throttle_next: int = 0
    """The next this-many requests are answered 429."""
    error_next: int = 0
    """The next this-many requests (after throttling) are answered ``error_status``."""
    error_after: int = 0
    """Requests let through before ``error_next`` starts: a fault in the middle of a sequence."""
    error_status: int = 503
    latency: float = 0.0
    """Seconds added to every request before it is answered."""
    seed: int = 0
    stats: Counter[str] = field(default_factory=Counter)
    """Requests per service and outcome: ``mediapackage``, ``mediapackage:429``, ``mediapackage:503``."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "throttle_share" and not (isinstance(value, int | float) and 0 <= value <= 1):
            raise ValueError(f"Faults.throttle_share: {value!r}; expected a share from 0 to 1")
        if name in ("throttle_next", "error_next", "error_after") and not (
            isinstance(value, int) and value >= 0
        ):
            raise ValueError(f"Faults.{name}: {value!r}; expected a count >= 0")
        if name == "latency" and not (isinstance(value, int | float) and value >= 0):
            raise ValueError(f"Faults.latency: {value!r}; expected seconds >= 0")
        if name == "error_status" and value not in _ERRORS.keys() - {429}:
            raise ValueError(
                f"Faults.error_status: {value!r}; expected one of 403, 500, 503 (429: throttle_*)"
            )
        super().__setattr__(name, value)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._seeded_with = self.seed
        self._random = random.Random(self.seed)  # noqa: S311 - fault injection, not cryptography

    def decide(self, service: str) -> int | None:
        """The status to inject for one request to ``service``, or None to let moto answer."""
        with self._lock:
            self.stats[service] += 1
            if service not in self.services:
                return None
            if self._seeded_with != self.seed:  # a new seed starts a new sequence
                self._seeded_with = self.seed
                self._random.seed(self.seed)
            status = None
            if self.throttle_next > 0:
                self.throttle_next -= 1
                status = 429
            elif self.throttle_share and self._random.random() < self.throttle_share:
                status = 429
            elif self.error_next > 0 and self.error_after > 0:
                self.error_after -= 1
            elif self.error_next > 0:
                self.error_next -= 1
                status = self.error_status
            if status is not None:
                self.stats[f"{service}:{status}"] += 1
            return status


class _FaultInjection:
    """WSGI middleware in front of moto's app: latency, throttling and 5xx per ``Faults``."""

    def __init__(self, app: WsgiApp, faults: Callable[[], Faults]) -> None:
        self.app = app
        self.faults = faults

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        faults = self.faults()
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope.group(1) if scope else "unsigned"
        if faults.latency and service in faults.services:
            time.sleep(faults.latency)
        status = faults.decide(service)
        if status is None:
            return self.app(environ, start_response)
        error = _ERRORS_BY_SERVICE.get(service, _ERRORS)[status]
        body = json.dumps(
            {"__type": error, "message": f"Injected fault: {error}"}
        ).encode()  # JSON and REST-JSON
        start_response(
            f"{status} Injected",
            [
                ("Content-Type", "application/json"),
                ("x-amzn-ErrorType", error),
                ("Content-Length", str(len(body))),
            ],
        )
        return [body]


class _Server(ThreadedMotoServer):
    """moto's threaded server, with the fault injection middleware in front of its app."""

    def __init__(self, faults: Callable[[], Faults]) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self._faults = faults

    def _server_entry(self) -> None:
        app = _FaultInjection(DomainDispatcherApplication(create_backend_app), self._faults)
        self._server = make_server(
            self._ip_address, self._port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


class LocalAws:
    """A local AWS on loopback: S3, IAM, MediaPackage v1 and v2 with harvest jobs, EventBridge, Lambda..."""

    def __init__(self, *, region: str = REGION) -> None:
        self.region = region
        self.faults = Faults()
        self._server = _Server(lambda: self.faults)
        self.endpoint_url = ""

    @property
    def harvest(self) -> harvest_jobs.HarvestSettings:
        """The harvest job behaviour (completion delay, outcome, quota); shared by every LocalAws."""
        return harvest_jobs.STORE.settings

    @property
    def harvest_v2(self) -> harvest_jobs_v2.HarvestV2Settings:
        """The MediaPackage v2 harvest job behaviour (delays, failures, quota); shared by every LocalAws."""
        return harvest_jobs_v2.STORE.settings

    def start(self) -> LocalAws:
        # Loopback never goes through a proxy, whatever HTTP(S)_PROXY the machine sets.
        for name in ("NO_PROXY", "no_proxy"):
            os.environ[name] = ",".join(filter(None, [os.environ.get(name), "127.0.0.1", "localhost"]))
        harvest_jobs.install()
        harvest_api_v2.install()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self.reset()
        return self

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        """Forget every resource (moto's reset, and the harvest jobs), and inject no faults."""
        harvest_jobs.STORE.reset()
        harvest_jobs_v2.STORE.reset()
        V2_ENDPOINTS.reset()
        self.faults = Faults()
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own loopback server
            answer.read()

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def environment(self) -> dict[str, str]:
        """The variables a handler process needs: endpoint URLs, fake credentials, the region."""
        return {
            **CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ENDPOINT_URL_MEDIAPACKAGE": self.endpoint_url,
            "AWS_ENDPOINT_URL_MEDIAPACKAGEV2": self.endpoint_url,
            "NO_PROXY": "127.0.0.1,localhost",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on this endpoint (no retries: tests see every answer)."""
        return boto3.client(
            service,  # type: ignore[call-overload]
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
            config=Config(retries={"total_max_attempts": 1}),
        )

    def mediapackage(self) -> MediaPackageClient:
        client: MediaPackageClient = self.client("mediapackage")
        return client

    def mediapackagev2(self) -> Any:
        """A ``mediapackagev2`` client (no stubs for it are installed: typed ``Any``)."""
        return self.client("mediapackagev2")
