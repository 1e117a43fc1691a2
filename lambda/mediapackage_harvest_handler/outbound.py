"""Every call that leaves the process: MediaPackage (v1 and v2), EventBridge, CloudWatch Logs, and the
answer's HTTPS PUT.

The one place a test fakes. Clients are built on first use, one per container, each call bounded
by the contract's timeouts. Imports the contract module, boto3 and the standard library only.
"""

from __future__ import annotations

import functools
import http.client
import ssl
from typing import TYPE_CHECKING, Any

import boto3
import cdk_mediapackage_harvest_contract as contract
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_mediapackage import MediaPackageClient

#: What MediaPackage v1 answers both for throttling and for a full quota of concurrent jobs.
THROTTLED = "TooManyRequestsException"


def bounded_config() -> Config:
    """botocore's settings for every AWS call: standard retries, at most ``contract.CALL_SECONDS``.

    4 attempts survive a burst of 3 throttles or 5xx (with 30% of requests throttled, a call gives
    up less than 1% of the time); 2 s to connect covers a lost packet; 5 s to read is far over the
    well-under-a-second these APIs answer in.
    """
    return Config(
        retries={"mode": "standard", "total_max_attempts": contract.MAX_ATTEMPTS},
        connect_timeout=contract.CONNECT_TIMEOUT_SECONDS,
        read_timeout=contract.READ_TIMEOUT_SECONDS,
        user_agent_extra="cdk-mediapackage-harvest",
    )


@functools.cache
def mediapackage_client() -> MediaPackageClient:
    """MediaPackage (v1), created the standard way (``AWS_ENDPOINT_URL_MEDIAPACKAGE`` works)."""
    return boto3.client("mediapackage", config=bounded_config())


@functools.cache
def mediapackagev2_client() -> Any:
    """MediaPackage v2, created the standard way (``AWS_ENDPOINT_URL_MEDIAPACKAGEV2`` works).

    Typed ``Any``: the environment has no ``mypy-boto3-mediapackagev2`` stubs.
    """
    return boto3.client("mediapackagev2", config=bounded_config())


@functools.cache
def events_client() -> EventBridgeClient:
    """EventBridge, for the poller's rules (``AWS_ENDPOINT_URL_EVENTBRIDGE`` works)."""
    return boto3.client("events", config=bounded_config())


@functools.cache
def logs_client() -> Any:
    """CloudWatch Logs, for claims and reasons in the function's own log group
    (``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`` works). Untyped: its stubs are not among the locked packages."""
    return boto3.client("logs", config=bounded_config())


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_text(error: BaseException) -> str:
    """``Code: message`` for an AWS error, ``Type: message`` for anything else."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code') or 'Error'}: {details.get('Message') or error}"
    return f"{type(error).__name__}: {error}"


def is_transient(error: BaseException | None) -> bool:
    """Throttling (v1's code, or any 429), a 5xx or a connection failure: worth asking again later."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(error) == THROTTLED or status == 429 or status >= 500
    return isinstance(error, BotoCoreError)


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One TLS context per container: crhelper built one per answer, loading the CA bundle each time."""
    return ssl.create_default_context()


def put(netloc: str, target: str, payload: str, *, timeout: float) -> int:
    """One HTTPS PUT of ``payload`` (CloudFormation's answer, to its pre-signed S3 URL): the status.

    Raises OSError and http.client.HTTPException as they come; the caller decides about retries.
    """
    connection = http.client.HTTPSConnection(netloc, timeout=timeout, context=ssl_context())
    try:
        headers = {"content-type": "", "content-length": str(len(payload))}
        connection.request("PUT", target, body=payload, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()
