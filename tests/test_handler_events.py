"""Property-based: thousands of generated events through the real ``helper`` and the local MediaPackage.

Each event starts as a valid Create, Update or Delete and gets up to three mutations: keys dropped or
added, values of the wrong type, empty, huge or unicode strings, an unknown RequestType, no
ResourceProperties, bad times, bad ids, no usable ResponseURL. Each mutation says which names a
FAILED Reason must mention. For every event: exactly one answer, to that event's own URL (none when
it has no usable URL, and then a log line); a FAILED answer names one of the culprits; every Delete
succeeds; nothing raises; no log line holds the URL's signature or fails to format.

Only the HTTPS PUT is replaced (``put_answer``, by a recorder); MediaPackage is the local endpoint.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import boto3
import botocore.session
import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mediapackage_harvest_handler import answering, entry, outbound
from support import FUNCTION_ARN, Context, LocalSetup, iso, recent_window, stack_id
from support import event as cloudformation_event

from local_aws.server import LocalAws

EXAMPLES = 2000
ENVELOPE_KEYS = ("RequestType", "StackId", "RequestId", "LogicalResourceId")
#: Keys an added key must not be: CloudFormation's own. Nor may it start with CrHelper or HarvestJob,
#: the poller's keys (crhelper's polling protocol), which CloudFormation never sends.
RESERVED_KEYS = {
    *ENVELOPE_KEYS,
    "ResponseURL",
    "ResourceType",
    "ServiceToken",
    "ResourceProperties",
    "OldResourceProperties",
    "PhysicalResourceId",
}
KNOWN_PROPERTIES = {*contract.Property.KEYS}
REQUIRED_PROPERTIES = ("OriginEndpointId", "StartTime", "EndTime", "S3Destination")
DESTINATION_KEYS = ("BucketName", "ManifestKey", "RoleArn")
#: One window for every event: two events that generate the same job Id (hypothesis reuses ids
#: such as "0") then ask for the same harvest, which is adopted, not refused as a different one.
WINDOW = recent_window()


def huge(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A long string made cheaply (hypothesis keeps each example's data small)."""
    return st.builds(lambda chunk, times: chunk * times, alphabet, st.integers(200, 3000))


TEXT = st.one_of(st.text(max_size=30), huge(st.text(min_size=1, max_size=3)))
SHORT_TEXT = st.text(min_size=1, max_size=300)  # CloudFormation's own values are short
SOME_VALUE = st.one_of(
    st.booleans(),
    st.integers(),
    st.floats(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
NOT_A_STRING = st.one_of(st.none(), SOME_VALUE)
NOT_AN_OBJECT = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10))


def _not_a_time(text: str) -> bool:
    try:
        rules.parse_time("t", text)
    except rules.HarvestRuleError:
        return True
    return False


@dataclass
class Case:
    event: Any
    culprits: list[str] = field(default_factory=list)
    answerable: bool = True


Mutation = Callable[[Case, st.DataObject], None]


def drop_envelope(case: Case, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(ENVELOPE_KEYS))
    case.event.pop(key, None)
    case.culprits.append(key)


def spoil_envelope(case: Case, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(ENVELOPE_KEYS))
    case.event[key] = data.draw(st.one_of(NOT_A_STRING, st.just("")))
    case.culprits.append(key)


def unknown_request_type(case: Case, data: st.DataObject) -> None:
    case.event["RequestType"] = data.draw(
        TEXT.filter(lambda text: text not in ("Create", "Update", "Delete"))
    )
    case.culprits.append("RequestType")


def odd_envelope_text(case: Case, data: st.DataObject) -> None:
    """Unicode and odd characters in the ids CloudFormation sends: not a problem in itself, except
    in the StackId (always a stack ARN) and beyond the lengths CloudFormation sends."""
    key = data.draw(st.sampled_from(("StackId", "RequestId", "LogicalResourceId")))
    if key not in case.culprits:  # keep an earlier mutation's problem
        text = case.event[key] = data.draw(SHORT_TEXT)
        limits = {"RequestId": answering.MAX_REQUEST_ID_LENGTH, "LogicalResourceId": 255}
        if key == "StackId" or len(text) > limits[key]:
            case.culprits.append(key)


def extra_event_key(case: Case, data: st.DataObject) -> None:
    key = data.draw(
        st.text(max_size=20).filter(
            lambda text: text not in RESERVED_KEYS and not text.startswith(("CrHelper", "HarvestJob"))
        )
    )
    case.event[key] = data.draw(st.one_of(NOT_A_STRING, TEXT))


def no_response_url(case: Case, data: st.DataObject) -> None:
    choice = data.draw(st.sampled_from(["drop", "junk", "text"]))
    if choice == "drop":
        case.event.pop("ResponseURL", None)
    elif choice == "junk":
        case.event["ResponseURL"] = data.draw(SOME_VALUE)
    else:
        case.event["ResponseURL"] = data.draw(TEXT.filter(lambda text: not text.startswith("https://")))
    case.answerable = False


def no_properties(case: Case, data: st.DataObject) -> None:
    if data.draw(st.booleans()):
        case.event.pop("ResourceProperties", None)
    else:
        case.event["ResourceProperties"] = data.draw(NOT_AN_OBJECT)
    case.culprits.append("ResourceProperties")


def _properties(case: Case) -> dict[str, Any] | None:
    properties = case.event.get("ResourceProperties")
    return properties if isinstance(properties, dict) else None


def _destination(case: Case) -> dict[str, Any] | None:
    properties = _properties(case)
    destination = properties and properties.get("S3Destination")
    return destination if isinstance(destination, dict) else None


def drop_property(case: Case, data: st.DataObject) -> None:
    properties, destination = _properties(case), _destination(case)
    key = data.draw(st.sampled_from(REQUIRED_PROPERTIES + DESTINATION_KEYS))
    target = destination if key in DESTINATION_KEYS else properties
    if target is not None and key in target:
        del target[key]
        case.culprits.append(key)


def bad_property_value(case: Case, data: st.DataObject) -> None:
    """A value that breaks its property's rule: wrong type, empty, bad characters, too long, unknown."""
    properties, destination = _properties(case), _destination(case)
    if properties is None:
        return
    key = data.draw(
        st.sampled_from(
            [
                "OriginEndpointId",
                "StartTime",
                "EndTime",
                "S3Destination",
                "Id",
                "WaitForCompletion",
                "CompletionTimeout",
                *DESTINATION_KEYS,
            ]
        )
    )
    bad_texts = {
        "OriginEndpointId": TEXT.filter(lambda text: text != properties.get("OriginEndpointId")),
        "StartTime": TEXT.filter(_not_a_time),
        "EndTime": TEXT.filter(_not_a_time),
        "S3Destination": st.nothing(),
        "Id": st.one_of(
            st.just(""),
            st.text(min_size=65, max_size=80, alphabet="abc_-1"),
            st.text(max_size=20).filter(lambda text: not rules._ID_PATTERN.fullmatch(text)),
        ),
        "WaitForCompletion": TEXT.filter(lambda text: text not in ("true", "false")),
        "CompletionTimeout": st.one_of(
            TEXT.filter(lambda text: not (text.isascii() and text.isdigit())),
            st.sampled_from(["0", "3601", "00000", "99999", "1" * 5000]),
        ),
        "BucketName": st.text(max_size=3000).filter(lambda text: text != "harvest-clips"),
        "ManifestKey": st.one_of(
            st.just(""),
            st.text(max_size=20).map(lambda text: "/" + text),
            st.integers(513, 3000).map(lambda n: "\u00e9" * n),  # over 1024 bytes of UTF-8
        ),
        "RoleArn": TEXT.filter(lambda text: not text.endswith("harvest-role")),
    }
    # An absent Id is allowed (None), and S3Destination is the one object.
    wrong_type: st.SearchStrategy[Any] = {"Id": SOME_VALUE, "S3Destination": NOT_AN_OBJECT}.get(
        key, NOT_A_STRING
    )
    value = data.draw(st.one_of(wrong_type, bad_texts[key]))
    if key in DESTINATION_KEYS:
        if destination is None:
            return
        destination[key] = value
    else:
        properties[key] = value
    case.culprits.append(key)


def bad_window(case: Case, data: st.DataObject) -> None:
    properties = _properties(case)
    if properties is None:
        return
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = WINDOW
    windows = [
        (end, start),  # reversed
        (start, start),  # empty
        (iso(now - timedelta(days=2)), end),  # over 24 hours
        (iso(now + timedelta(hours=1)), iso(now + timedelta(hours=2))),  # not ended
        (iso(now - timedelta(days=3)), iso(now - timedelta(days=3) + timedelta(minutes=5))),  # no startover
        ("2026-11-28T10:00:00", "2026-11-28T10:30:00"),  # no time zone
    ]
    properties["StartTime"], properties["EndTime"] = data.draw(st.sampled_from(windows))
    case.culprits += ["StartTime", "EndTime"]


def unknown_property(case: Case, data: st.DataObject) -> None:
    destination = _destination(case) if data.draw(st.booleans()) else None
    target = destination if destination is not None else _properties(case)
    if target is None:
        return
    known = DESTINATION_KEYS if destination is not None else KNOWN_PROPERTIES
    key = data.draw(st.one_of(st.text(max_size=20), huge(st.characters())).filter(lambda k: k not in known))
    target[key] = data.draw(st.one_of(NOT_A_STRING, TEXT))
    case.culprits.append(key)


def odd_old_state(case: Case, data: st.DataObject) -> None:
    """Update and Delete ids and old properties of any shape: never a reason to fail."""
    if data.draw(st.booleans()):
        case.event["PhysicalResourceId"] = data.draw(st.one_of(NOT_A_STRING, st.text(max_size=100)))
    else:
        case.event["OldResourceProperties"] = data.draw(st.one_of(NOT_A_STRING, TEXT))


MUTATIONS: list[Mutation] = [
    drop_envelope,
    spoil_envelope,
    unknown_request_type,
    odd_envelope_text,
    extra_event_key,
    no_response_url,
    no_properties,
    drop_property,
    bad_property_value,
    bad_window,
    unknown_property,
    odd_old_state,
]


class Capture(logging.StreamHandler[io.StringIO]):
    """The root logger's output, as CloudWatch would hold it; a record that fails to format is kept."""

    def __init__(self) -> None:
        super().__init__(io.StringIO())
        self.failures: list[str] = []

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        self.failures.append(str(record.msg)[:200])


@pytest.fixture
def capture() -> Iterator[Capture]:
    capture = Capture()
    logging.getLogger().addHandler(capture)
    try:
        yield capture
    finally:
        logging.getLogger().removeHandler(capture)


@pytest.fixture
def local_client(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler's MediaPackage client, on the local endpoint."""
    aws.harvest.completion_delay = 0  # jobs finish at once: the quota of running jobs never fills
    client = boto3.client(
        "mediapackage",
        region_name=aws.region,
        endpoint_url=aws.endpoint_url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 2}),
    )
    monkeypatch.setattr(outbound, "mediapackage_client", lambda: client)


@pytest.mark.usefixtures("local_client")
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_event_gets_exactly_one_answer_that_names_its_problem(
    data: st.DataObject, setup: LocalSetup, capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = Case(valid_event(data.draw(st.sampled_from(["Create", "Update", "Delete"])), setup, data))
    check_one_answer(case, MUTATIONS, data, capture, monkeypatch, id_key="Id")


def check_one_answer(
    case: Case,
    mutations: list[Mutation],
    data: st.DataObject,
    capture: Capture,
    monkeypatch: pytest.MonkeyPatch,
    *,
    id_key: str,
) -> None:
    """Mutate the valid ``case``, run the handler once, and check its one answer (``id_key``: the
    ``Data`` key of a created job's physical id)."""
    sent: list[tuple[str, dict[str, Any]]] = []

    def record(url: str, body: dict[str, Any], *, stop_at: float) -> bool:
        sent.append((url, json.loads(json.dumps(body))))
        return True

    monkeypatch.setattr(answering, "put_answer", record)
    monkeypatch.setattr(contract, "POLL_INTERVAL_SECONDS", 0.01)  # the local jobs finish at once
    for mutation in data.draw(st.lists(st.sampled_from(mutations), max_size=3)):
        mutation(case, data)
    if data.draw(st.integers(0, 50)) == 0:
        case = Case(data.draw(NOT_AN_OBJECT), answerable=False)
    url = case.event.get("ResponseURL") if isinstance(case.event, dict) else None
    logged = capture.stream.tell()

    entry.handler(case.event, Context())

    logs = capture.stream.getvalue()[logged:]
    assert capture.failures == []
    if isinstance(url, str) and "Signature=" in url:
        assert url.rsplit("Signature=", 1)[1] not in logs
    kind = case.event.get("RequestType") if isinstance(case.event, dict) else None
    event("dropped" if not case.answerable else kind if kind in ("Create", "Update", "Delete") else "other")
    if not case.answerable:
        assert sent == []
        assert "Dropped an event that cannot be answered" in logs
        return
    ((answered_url, body),) = sent
    assert answered_url == url
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        echoed = case.event.get(key)
        assert body[key] == (echoed if isinstance(echoed, str) else "")
    assert isinstance(body["PhysicalResourceId"], str)
    assert body["PhysicalResourceId"]
    assert len(body["Reason"]) <= contract.MAX_REASON_LENGTH
    event(f"answered {body['Status']}")
    if case.event.get("RequestType") == "Delete":
        assert body["Status"] == "SUCCESS", body["Reason"]
    elif case.culprits:
        assert body["Status"] == "FAILED", case.culprits
        assert any(culprit[:30] in body["Reason"] for culprit in case.culprits), (case.culprits, body)
    else:
        assert body["Status"] == "SUCCESS", body["Reason"]
        if case.event["RequestType"] == "Create":
            assert body["Data"][id_key] == body["PhysicalResourceId"]


def valid_event(request_type: str, setup: LocalSetup, data: st.DataObject) -> dict[str, Any]:
    start, end = WINDOW
    properties: dict[str, Any] = {
        "ServiceToken": FUNCTION_ARN,
        "OriginEndpointId": setup.endpoint_id,
        "StartTime": start,
        "EndTime": end,
        "S3Destination": {
            "BucketName": setup.bucket,
            "ManifestKey": "clips/final/index.m3u8",
            "RoleArn": setup.role_arn,
        },
    }
    # Waiting as the construct sets it by default, as it sets it off, or absent (no waiting).
    wait = data.draw(st.sampled_from([None, "false", "true"]))
    if wait is not None:
        properties["WaitForCompletion"] = wait
    if wait == "true":
        properties["CompletionTimeout"] = str(
            data.draw(st.integers(60, contract.MAX_COMPLETION_TIMEOUT_SECONDS))
        )
    old_properties = None
    if request_type == "Update":
        old_end = end if data.draw(st.booleans()) else recent_window(ended_ago=2)[1]
        old_properties = {**properties, "EndTime": old_end}
    return cloudformation_event(
        request_type,
        properties,
        stack=stack_id("HarvestStack"),
        request_id=str(uuid.uuid4()),
        physical_id=None if request_type == "Create" else f"HarvestStack-HarvestJob-{uuid.uuid4().hex[:12]}",
        old_properties=old_properties,
    )


# --- MediaPackage v2 (``Custom::MediaPackageV2HarvestJob``): the same guarantees. ---

V2 = contract.PropertyV2
V2_ADDRESS = {"ChannelGroupName": "live", "ChannelName": "main", "OriginEndpointName": "hls"}
V2_REQUIRED = (*V2_ADDRESS, "StartTime", "EndTime", "S3Destination", "HlsManifestNames")
V2_DESTINATION_KEYS = V2.DESTINATION_KEYS
V2_MANIFEST_KEYS = V2.MANIFEST_KEYS
_V2_NAME = rules._ID_PATTERN


class LocalMediaPackageV2:
    """An in-memory ``mediapackagev2`` client for the generated events: each request is checked
    against botocore's model (as the real client would, before sending), one origin endpoint
    (``V2_ADDRESS``) with a 24-hour startover window, jobs that complete at once, names unique per
    channel, and ClientToken: the same token and request give the same job."""

    STARTOVER = timedelta(hours=24)

    def __init__(self) -> None:
        self.model = botocore.session.get_session().get_service_model("mediapackagev2")
        self.jobs: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, dict[str, Any]] = {}

    def _check(self, operation: str, params: dict[str, Any]) -> None:
        shape = self.model.operation_model(operation).input_shape
        assert shape is not None
        validate_parameters(params, shape)
        if {key: params[key] for key in V2_ADDRESS} != V2_ADDRESS:
            raise self._error(operation, "ResourceNotFoundException", "No such origin endpoint", 404)

    @staticmethod
    def _error(operation: str, code: str, message: str, status: int) -> ClientError:
        response = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return ClientError(cast(Any, response), operation)

    def create_harvest_job(self, **params: Any) -> dict[str, Any]:
        self._check("CreateHarvestJob", params)
        token = params.pop("ClientToken", None)
        if token in self.tokens:
            if self.tokens[token]["request"] != params:
                raise self._error("CreateHarvestJob", "ConflictException", "ClientToken reused", 409)
            same: dict[str, Any] = self.tokens[token]["job"]
            return same
        name = params["HarvestJobName"]
        if name in self.jobs:
            raise self._error("CreateHarvestJob", "ConflictException", "Harvest job name in use", 409)
        schedule = params["ScheduleConfiguration"]
        if schedule["StartTime"] < datetime.now(UTC) - self.STARTOVER:
            raise self._error(
                "CreateHarvestJob", "ValidationException", "StartTime is outside the startover window", 400
            )
        now = datetime.now(UTC)
        job = {
            **{key: value for key, value in params.items() if key not in ("ClientToken",)},
            "Arn": f"arn:aws:mediapackagev2:us-east-1:123456789012:harvestJob/{name}",
            "CreatedAt": now,
            "ModifiedAt": now,
            "Status": "QUEUED",
            "ETag": "1",
        }
        self.jobs[name] = job
        if token is not None:
            self.tokens[token] = {"request": params, "job": job}
        return job

    def get_harvest_job(self, **params: Any) -> dict[str, Any]:
        self._check("GetHarvestJob", params)
        job = self.jobs.get(params["HarvestJobName"])
        if job is None:
            raise self._error("GetHarvestJob", "ResourceNotFoundException", "No such harvest job", 404)
        return {**job, "Status": "COMPLETED", "ETag": "2"}

    def cancel_harvest_job(self, **params: Any) -> dict[str, Any]:
        self._check("CancelHarvestJob", params)
        raise self._error("CancelHarvestJob", "ConflictException", "Already completed", 409)


def _not_a_name(text: str) -> bool:
    return not (_V2_NAME.fullmatch(text) and len(text) <= rules.MAX_V2_NAME_LENGTH)


V2_BAD_NAMES = st.one_of(
    TEXT.filter(_not_a_name), st.text(min_size=257, max_size=300, alphabet="ab_-1"), st.just("")
)
NOT_A_LIST = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=10),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def drop_property_v2(case: Case, data: st.DataObject) -> None:
    properties, destination = _properties(case), _destination(case)
    key = data.draw(st.sampled_from(V2_REQUIRED + V2_DESTINATION_KEYS))
    target = destination if key in V2_DESTINATION_KEYS else properties
    if target is not None and key in target:
        del target[key]
        case.culprits.append(key)


def bad_property_value_v2(case: Case, data: st.DataObject) -> None:
    """A value that breaks its v2 property's rule: wrong type, empty, bad characters, too long."""
    properties, destination = _properties(case), _destination(case)
    if properties is None:
        return
    bad_manifests = st.one_of(
        NOT_A_LIST.filter(lambda value: value is not None),
        st.lists(V2_BAD_NAMES, min_size=1, max_size=3),
        st.just(["index", "index"]),
    )
    bad: dict[str, st.SearchStrategy[Any]] = {
        **{key: st.one_of(NOT_A_STRING, V2_BAD_NAMES) for key in V2_ADDRESS},
        # Optional keys: None is as good as absent (as v1's Id).
        "HarvestJobName": st.one_of(SOME_VALUE, V2_BAD_NAMES),
        "StartTime": st.one_of(NOT_A_STRING, TEXT.filter(_not_a_time)),
        "EndTime": st.one_of(NOT_A_STRING, TEXT.filter(_not_a_time)),
        "S3Destination": NOT_AN_OBJECT,
        "BucketName": st.one_of(
            NOT_A_STRING, TEXT.filter(lambda text: not rules._BUCKET_NAME.fullmatch(text))
        ),
        "DestinationPath": st.one_of(
            NOT_A_STRING, st.just(""), st.just("a b/"), st.integers(1025, 3000).map(lambda n: "p" * n)
        ),
        **{key: bad_manifests for key in V2_MANIFEST_KEYS},
        "Description": st.one_of(SOME_VALUE, st.integers(1025, 3000).map(lambda n: "d" * n)),
        "Tags": st.one_of(
            NOT_A_LIST.filter(lambda value: value is not None and (not isinstance(value, dict) or value)),
            st.just({"aws:stack": "x"}),
            st.just({"team": 1}),
            st.just({"": "empty key"}),
            st.just({"k": "v" * 257}),
        ),
        "WaitForCompletion": TEXT.filter(lambda text: text not in ("true", "false")),
        "CompletionTimeout": st.sampled_from(["0", "3601", "99999", "soon"]),
    }
    key = data.draw(st.sampled_from(sorted(bad)))
    value = data.draw(bad[key])
    if key in V2_DESTINATION_KEYS:
        if destination is None:
            return
        destination[key] = value
    else:
        properties[key] = value
    case.culprits.append(key)


def unknown_property_v2(case: Case, data: st.DataObject) -> None:
    destination = _destination(case) if data.draw(st.booleans()) else None
    target = destination if destination is not None else _properties(case)
    if target is None:
        return
    known = set(V2_DESTINATION_KEYS) if destination is not None else set(V2.KEYS)
    key = data.draw(st.one_of(st.text(max_size=20), huge(st.characters())).filter(lambda k: k not in known))
    target[key] = data.draw(st.one_of(NOT_A_STRING, TEXT))
    case.culprits.append(key)


V2_MUTATIONS: list[Mutation] = [
    drop_envelope,
    spoil_envelope,
    unknown_request_type,
    odd_envelope_text,
    extra_event_key,
    no_response_url,
    no_properties,
    drop_property_v2,
    bad_property_value_v2,
    bad_window,
    unknown_property_v2,
    odd_old_state,
]


def valid_v2_event(request_type: str, data: st.DataObject) -> dict[str, Any]:
    start, end = WINDOW
    properties: dict[str, Any] = {
        "ServiceToken": FUNCTION_ARN,
        **V2_ADDRESS,
        "StartTime": start,
        "EndTime": end,
        "S3Destination": {"BucketName": "harvest-clips", "DestinationPath": "clips/final/"},
        "HlsManifestNames": ["index"],
    }
    if data.draw(st.booleans()):
        properties.update(Description="A clip", Tags={"team": "video", "env": "prod"})
    wait = data.draw(st.sampled_from([None, "false", "true"]))
    if wait is not None:
        properties["WaitForCompletion"] = wait
    if wait == "true":
        properties["CompletionTimeout"] = str(
            data.draw(st.integers(60, contract.MAX_COMPLETION_TIMEOUT_SECONDS))
        )
    old_properties = None
    if request_type == "Update":
        old_end = end if data.draw(st.booleans()) else recent_window(ended_ago=2)[1]
        old_properties = {**properties, "EndTime": old_end}
    return cloudformation_event(
        request_type,
        properties,
        stack=stack_id("HarvestV2Stack"),
        request_id=str(uuid.uuid4()),
        resource_type=contract.RESOURCE_TYPE_V2,
        physical_id=None if request_type == "Create" else f"HarvestV2Stack-Clip-{uuid.uuid4().hex[:12]}",
        old_properties=old_properties,
    )


@settings(
    max_examples=EXAMPLES // 2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_v2_event_gets_exactly_one_answer_that_names_its_problem(
    data: st.DataObject, capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A MediaPackage v2 of its own per example: hypothesis reuses RequestIds such as "0", and the same
    # request with other properties (which CloudFormation never sends) would meet the other's job.
    local = LocalMediaPackageV2()
    monkeypatch.setattr(outbound, "mediapackagev2_client", lambda: local)
    case = Case(valid_v2_event(data.draw(st.sampled_from(["Create", "Update", "Delete"])), data))
    check_one_answer(case, V2_MUTATIONS, data, capture, monkeypatch, id_key="HarvestJobName")
