"""The checked CloudFormation answer, and nothing else: envelopes, Reasons, sizes, the PUT with retries.

Knows CloudFormation's wire format and limits, not MediaPackage. Imports the contract and rules
modules, ``outbound`` (for the PUT) and the standard library.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules

from mediapackage_harvest_handler import outbound

logger = logging.getLogger(__name__)

#: What every CloudFormation event carries besides RequestType and ResponseURL.
ENVELOPE_KEYS = ("StackId", "RequestId", "LogicalResourceId")
REQUEST_TYPES = ("Create", "Update", "Delete")
#: A stack's ARN: ``arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>`` (a stack
#: name is at most 128 letters, digits and ``-``, starting with a letter; the id is a UUID).
_STACK_ID = re.compile(
    r"arn:aws[a-z-]{0,20}:cloudformation:[a-z0-9-]{1,32}:\d{12}:stack/[A-Za-z][A-Za-z0-9-]{0,127}/[A-Za-z0-9-]{1,64}"
)
#: CloudFormation's RequestIds are UUIDs; anything far longer is not from CloudFormation.
MAX_REQUEST_ID_LENGTH = 128


class RequestError(Exception):
    """The CloudFormation request cannot be carried out; the message is the Reason it shows."""


def reason(text: str) -> str:
    """A Reason: the useful part first, cut at the end to what crhelper keeps whole."""
    limit = contract.MAX_REASON_LENGTH
    return text if len(text) <= limit else text[: limit - 3] + "..."


def envelope_text(event: Mapping[str, Any], key: str) -> str:
    value = event.get(key)
    return value if isinstance(value, str) else ""


def response_url_problem(event: object) -> str | None:
    """Why an event cannot be answered at all (never quoting the URL, a credential), or None."""
    if not isinstance(event, dict):
        return f"the event is a {type(event).__name__}, not an object"
    url = event.get("ResponseURL")
    if not isinstance(url, str):
        return "it has no ResponseURL" if url is None else f"its ResponseURL is a {type(url).__name__}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme != "https"
        or not parts.hostname
        or not url.isascii()
        or not url.isprintable()
        or " " in url
    ):
        return "its ResponseURL is not an https URL"
    return None


def envelope_problem(event: Mapping[str, Any]) -> str | None:
    """What is missing or wrong among the keys every CloudFormation event has, or None.

    Beyond presence and type, each is held to what CloudFormation sends: a stack ARN, a RequestId of
    at most ``MAX_REQUEST_ID_LENGTH`` characters, a LogicalResourceId of at most 255, and a
    PhysicalResourceId (when there is one) of at most 1,024 bytes. Values are never quoted whole.
    """
    problems = []
    request_type = event.get("RequestType")
    if request_type not in REQUEST_TYPES:
        shown = f"{request_type!r:.40}" if "RequestType" in event else "missing"
        problems.append(f"RequestType {shown} is not one of {', '.join(REQUEST_TYPES)}")
    limits = {"RequestId": MAX_REQUEST_ID_LENGTH, "LogicalResourceId": contract.MAX_LOGICAL_ID_LENGTH}
    for key in ENVELOPE_KEYS:
        value = event.get(key)
        if key not in event:
            problems.append(f"{key} is missing")
        elif not isinstance(value, str):
            problems.append(f"{key} is a {type(value).__name__}; expected a string")
        elif not value:
            problems.append(f"{key} is empty")
        elif key == "StackId" and not _STACK_ID.fullmatch(value):
            problems.append(f"StackId {value!r:.60} is not a stack ARN")
        elif key in limits and len(value) > limits[key]:
            problems.append(f"{key} has {len(value)} characters; CloudFormation sends at most {limits[key]}")
    physical_id = event.get("PhysicalResourceId")
    if isinstance(physical_id, str) and _utf8_size(physical_id) > contract.MAX_PHYSICAL_ID_BYTES:
        problems.append(
            f"PhysicalResourceId is {_utf8_size(physical_id)} bytes; at most "
            f"{contract.MAX_PHYSICAL_ID_BYTES} exist"
        )
    return "; ".join(problems) or None


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


def made_up_physical_id(event: Mapping[str, Any]) -> str:
    """A PhysicalResourceId for an answer that has none (a failed Create, say): the Id a generated
    harvest job would get, so at most 64 characters whatever the envelope."""
    return rules.generated_harvest_job_id(
        envelope_text(event, "StackId"),
        envelope_text(event, "LogicalResourceId"),
        envelope_text(event, "RequestId"),
    )


def request_token(event: Mapping[str, Any]) -> str:
    """A token for this CloudFormation request: 64 hex characters of a SHA-256 of its StackId,
    LogicalResourceId and RequestId. The same for every delivery and Lambda retry of the request,
    different for any other request (an API's idempotency token, such as v2's ``ClientToken``)."""
    parts = (envelope_text(event, key) for key in ("StackId", "LogicalResourceId", "RequestId"))
    return hashlib.sha256("\n".join(parts).encode("utf-8", errors="surrogatepass")).hexdigest()


def body_size(body: Mapping[str, Any]) -> int:
    """Bytes of an answer as sent: JSON with non-ASCII escaped, as crhelper sends it."""
    return len(json.dumps(body, default=str).encode())


def answer_size(event: Mapping[str, Any], physical_id: str, data: Mapping[str, str]) -> int:
    """Bytes of the SUCCESS answer to ``event`` with this physical id and data."""
    return body_size(
        {
            "Status": "SUCCESS",
            "PhysicalResourceId": physical_id,
            **{key: envelope_text(event, key) for key in ENVELOPE_KEYS},
            "Reason": "",
            "Data": data,
            "NoEcho": False,
        }
    )


def refusal(body: Mapping[str, Any]) -> str | None:
    """Why CloudFormation would refuse this answer (over 4,096 bytes, or a PhysicalResourceId over
    1,024 bytes), or None. Only an envelope CloudFormation never sends can lead to one."""
    size, id_size = body_size(body), _utf8_size(str(body.get("PhysicalResourceId", "")))
    if size > contract.MAX_ANSWER_BYTES or id_size > contract.MAX_PHYSICAL_ID_BYTES:
        return (
            f"the answer would be {size} bytes (at most {contract.MAX_ANSWER_BYTES}) with a {id_size}-byte "
            f"PhysicalResourceId (at most {contract.MAX_PHYSICAL_ID_BYTES})"
        )
    return None


def timeout_reason(event: Mapping[str, Any], context: object) -> str:
    """The Reason sent when the function is about to run out of time."""
    request_type = envelope_text(event, "RequestType") or "request"
    function = getattr(context, "function_name", "") or "the handler function"
    return reason(
        f"Timed out: the handler ran out of time during this {request_type} (MediaPackage slow, "
        f"throttled or unreachable?). Retry the deployment; the log group of {function} shows the last step"
    )


def put_answer(url: str, body: Mapping[str, Any], *, stop_at: float) -> bool:
    """PUT the answer to the ResponseURL; True once CloudFormation's S3 took it (2xx).

    Connection errors, 408, 429 and 5xx are retried with exponential backoff and full jitter until
    ``stop_at`` (a ``time.monotonic()`` instant); another status ends at once (a 403 stays a 403).
    The URL is a credential: only its host is ever logged. (An answer CloudFormation would refuse
    never gets here: see :func:`refusal`.)
    """
    parts = urlsplit(url)
    payload = json.dumps(body, default=str)  # ASCII, as crhelper sends it
    attempts, problem = 0, "no time left"
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    while (timeout := min(contract.SEND_ATTEMPT_TIMEOUT_SECONDS, stop_at - time.monotonic())) > 0:
        attempts += 1
        try:
            status = outbound.put(parts.netloc, target, payload, timeout=timeout)
        except OSError as error:  # refused, reset, timed out, TLS: messages without the URL
            problem = f"{type(error).__name__}: {error}"
        except Exception as error:  # http.client's protocol errors
            problem = type(error).__name__
        else:
            if 200 <= status < 300:
                logger.info(
                    {"message": "Answered CloudFormation", "status": body.get("Status"), "attempts": attempts}
                )
                return True
            problem = f"HTTP {status}"
            if status < 500 and status not in (408, 429):
                break
        ceiling = min(
            contract.SEND_BACKOFF_MAX_SECONDS, contract.SEND_BACKOFF_BASE_SECONDS * 2 ** (attempts - 1)
        )
        pause = random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography
        if time.monotonic() + pause >= stop_at:
            break
        time.sleep(pause)
    logger.error(
        {
            "message": "Could not answer CloudFormation; it will wait for its timeout",
            "host": parts.hostname,
            "status": body.get("Status"),
            "attempts": attempts,
            "lastProblem": problem,
        }
    )
    return False
