"""CloudFormation's side of the custom resource protocol, on loopback.

``ResponseServer`` plays the pre-signed S3 URL that CloudFormation puts in ``ResponseURL``: HTTPS with
a self-signed certificate (trusted by the handler process through ``SSL_CERT_FILE``), answering only
the URLs it issued. ``event`` builds the events CloudFormation sends, with every property value a
string. ``Assembly`` reads a synthesized cloud assembly: the template, a custom resource's properties
and the handler asset that synthesis produced; ``Intrinsics`` (:mod:`local_aws.intrinsics`) resolves
the template's references.
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import secrets
import ssl
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from local_aws import ACCOUNT_ID, REGION
from local_aws.eventbridge import TemplateRule
from local_aws.intrinsics import Intrinsics
from local_aws.intrinsics import resolve as resolve  # re-exported: cloudformation.resolve
from local_aws.lambda_runtime import Function

MAX_BODY_BYTES = 4096
"""CloudFormation rejects a response body over 4096 bytes."""
RESOURCE_TYPE = "Custom::MediaPackageHarvestJob"
RESPONSE_HOST = "cloudformation-custom-resource-response-useast1.s3.amazonaws.com"


@dataclass(frozen=True)
class Answer:
    """One PUT to a ResponseURL, as CloudFormation would receive it."""

    request_id: str
    status: int
    """What the server answered (200 unless told otherwise)."""
    headers: Mapping[str, str]
    raw: bytes
    received: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when it arrived."""

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed


@dataclass
class _Issued:
    signature: str
    answers: list[Answer] = field(default_factory=list)


class ResponseServer:
    """An HTTPS server on 127.0.0.1 that takes the handler's responses, like CloudFormation's S3 URLs."""

    def __init__(self, directory: Path) -> None:
        self.cert_file = directory / "response-server.pem"
        self.statuses: list[int] = []
        """Statuses to answer the next PUTs with, in order (then 200): fault injection."""
        self._issued: dict[str, _Issued] = {}
        self._arrived = threading.Condition()
        key_file = directory / "response-server.key"
        _self_signed_certificate(self.cert_file, key_file)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, key_file)
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._http.daemon_threads = True
        self._http.socket = context.wrap_socket(self._http.socket, server_side=True)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def __enter__(self) -> ResponseServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._http.shutdown()
        self._http.server_close()

    def issue(self, stack_id: str, logical_id: str, request_id: str) -> str:
        """A pre-signed-looking URL for one request; its query string is a credential, like the real one."""
        signature = secrets.token_hex(32)
        with self._arrived:
            self._issued[request_id] = _Issued(signature)
        host, port = self._http.server_address[:2]
        base = f"{host!s}:{port}/cloudformation-custom-resource-response-useast1"
        return _presigned_url(base, stack_id, logical_id, request_id, signature)

    def answers(self, request_id: str) -> list[Answer]:
        with self._arrived:
            return list(self._issued[request_id].answers)

    def wait(self, request_id: str, timeout: float = 30.0) -> Answer:
        """The first answer accepted (2xx) for ``request_id``; TimeoutError if none arrives in time."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: self._accepted(request_id), timeout):
                raise TimeoutError(f"no response for request {request_id} within {timeout} s")
            return next(answer for answer in self._issued[request_id].answers if answer.status < 300)

    def _accepted(self, request_id: str) -> bool:
        return any(answer.status < 300 for answer in self._issued[request_id].answers)

    def _receive(self, path: str, headers: Mapping[str, str], raw: bytes) -> int:
        parts = urlsplit(path)
        request_id = parts.path.rsplit("%7C", 1)[-1]
        with self._arrived:
            issued = self._issued.get(request_id)
            if issued is None or parse_qs(parts.query).get("X-Amz-Signature") != [issued.signature]:
                return HTTPStatus.FORBIDDEN  # S3 refuses a URL it did not sign
            status = self.statuses.pop(0) if self.statuses else HTTPStatus.OK
            issued.answers.append(Answer(request_id, status, headers, raw))
            self._arrived.notify_all()
            return status


def _handler_class(server: ResponseServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = server._receive(self.path, dict(self.headers.items()), raw)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read the answers, not a log line per request."""

    return Handler


def _self_signed_certificate(cert_file: Path, key_file: Path) -> None:
    """A certificate for 127.0.0.1 and localhost, valid for a day, that is its own trust anchor."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cdk-mediapackage-harvest local ResponseURL")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def _presigned_url(base: str, stack: str, logical_id: str, request_id: str, signature: str) -> str:
    """A URL shaped like the pre-signed S3 URL CloudFormation sends: its query string is a credential."""
    key = quote(f"{stack}|{logical_id}|{request_id}", safe="")
    now = datetime.datetime.now(datetime.UTC)
    query = (
        f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={now:%Y%m%dT%H%M%SZ}&X-Amz-SignedHeaders=host"
        f"&X-Amz-Expires=7200&X-Amz-Credential=AKIAEXAMPLE%2F{now:%Y%m%d}%2F{REGION}%2Fs3%2Faws4_request"
        f"&X-Amz-Signature={signature}"
    )
    return f"https://{base}/{key}?{query}"


def unreachable_url(stack: str, logical_id: str, request_id: str) -> str:
    """A ResponseURL on CloudFormation's S3 host, for a handler whose answer is captured in process
    (never sent)."""
    return _presigned_url(RESPONSE_HOST, stack, logical_id, request_id, secrets.token_hex(32))


def stack_id(stack_name: str, region: str = REGION, account: str = ACCOUNT_ID) -> str:
    """A stack ARN shaped like CloudFormation's."""
    return f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/{uuid.uuid4()}"


def event(
    request_type: str,
    *,
    stack: str,
    logical_id: str,
    properties: Mapping[str, Any] | None,
    responses: ResponseServer | None = None,
    request_id: str | None = None,
    resource_type: str = RESOURCE_TYPE,
    physical_id: str | None = None,
    old_properties: Mapping[str, Any] | None = None,
    as_strings: bool = True,
    **changes: Any,
) -> dict[str, Any]:
    """One CloudFormation custom resource event (Create, Update or Delete).

    Its ResponseURL is issued by ``responses``, or else ``unreachable_url``. The properties' values
    become strings, as CloudFormation sends them, unless ``as_strings`` is false (to send what a test
    built, malformed on purpose); then they are copied. ``None`` properties: no ResourceProperties.
    ``changes`` replace keys of the event (``ResponseURL="..."``); a change to None removes its key.
    """
    request_id = str(uuid.uuid4()) if request_id is None else request_id
    body: dict[str, Any] = {"RequestType": request_type}
    if isinstance(properties, Mapping) and "ServiceToken" in properties:
        body["ServiceToken"] = str(properties["ServiceToken"])
    body.update(
        ResponseURL=(
            unreachable_url(stack, logical_id, request_id)
            if responses is None
            else responses.issue(stack, logical_id, request_id)
        ),
        StackId=stack,
        RequestId=request_id,
        LogicalResourceId=logical_id,
        ResourceType=resource_type,
    )
    as_sent = stringified if as_strings else copy.deepcopy
    if properties is not None:
        body["ResourceProperties"] = as_sent(properties)
    if physical_id is not None:
        body["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        body["OldResourceProperties"] = as_sent(old_properties)
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def stringified(value: Any) -> Any:
    """Every scalar as a string, the way CloudFormation passes custom resource properties."""
    if isinstance(value, Mapping):
        return {key: stringified(item) for key, item in value.items()}
    if isinstance(value, list):
        return [stringified(item) for item in value]
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


class Assembly:
    """A synthesized cloud assembly (``cdk.out``): one stack's template and its handler asset."""

    def __init__(self, outdir: Path, stack: str) -> None:
        self.outdir = outdir
        self.stack = stack
        self.template: dict[str, Any] = json.loads((outdir / f"{stack}.template.json").read_text())
        manifest = json.loads((outdir / f"{stack}.assets.json").read_text())
        zips = [
            entry["source"]["path"]
            for entry in manifest["files"].values()
            if entry["source"]["packaging"] == "zip"
        ]
        if len(zips) != 1:
            raise ValueError(f"{outdir}: expected one Lambda asset in {stack}, found {len(zips)}")
        self.handler_asset = outdir / zips[0]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """The logical ids and definitions of the resources of one type."""
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type
        }

    def function(self, logical_id: str, environment: Mapping[str, str], *, max_timeout_ms: int) -> Function:
        """The Lambda function behind a custom resource's ServiceToken, run locally from the asset.

        Its timeout is the template's, capped at ``max_timeout_ms``: the handler retries an answer it
        cannot send until shortly before its deadline, so a broken ResponseURL must end in seconds, not
        in the function's minutes.
        """
        function_id = self.function_id(logical_id)
        settings = self.template["Resources"][function_id]["Properties"]
        # The function's own variables that are plain strings (intrinsics need a deployment).
        variables = settings.get("Environment", {}).get("Variables", {})
        own = {name: value for name, value in variables.items() if isinstance(value, str)}
        rule_arns = {
            (rule_id, "Arn"): f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{self.rule_name(rule_id)}"
            for rule_id in self.resources("AWS::Events::Rule")
        }
        permissions = tuple(
            (permission["Principal"], Intrinsics(attributes=rule_arns)(permission["SourceArn"]))
            for resource in self.resources("AWS::Lambda::Permission").values()
            if (permission := resource["Properties"]).get("FunctionName")
            == {"Fn::GetAtt": [function_id, "Arn"]}
        )
        return Function(
            asset=self.handler_asset,
            handler=settings["Handler"],
            environment={**own, **environment},
            invoke_permissions=permissions,
            timeout_ms=min(int(settings.get("Timeout", 3)) * 1000, max_timeout_ms),
            name=f"{self.stack}-{function_id}"[:64],
        )

    def function_id(self, logical_id: str) -> str:
        """The logical id of the function behind a custom resource's ServiceToken."""
        function_id: str = self.template["Resources"][logical_id]["Properties"]["ServiceToken"]["Fn::GetAtt"][
            0
        ]
        return function_id

    def rule_name(self, logical_id: str) -> str:
        """The name CloudFormation gives a rule the template does not name (stack, logical id, suffix)."""
        return f"{self.stack}-{logical_id}"[:55] + "-LOCAL1234"

    def rules(self, function_id: str) -> list[TemplateRule]:
        """The template's event rules that target the function ``function_id``."""
        found = []
        for rule_id, resource in self.resources("AWS::Events::Rule").items():
            properties = resource["Properties"]
            for target in properties.get("Targets", []):
                if target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]} and "EventPattern" in properties:
                    found.append(
                        TemplateRule(self.rule_name(rule_id), properties["EventPattern"], target["Id"])
                    )
        return found
