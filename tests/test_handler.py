"""The handler through crhelper's real entry point, with botocore's Stubber checking every request
against the MediaPackage service model. The answer CloudFormation would receive is captured from
crhelper's own ``_send`` (only the final HTTPS PUT, ``put_answer``, is replaced)."""

from __future__ import annotations

import io
import json
import logging
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import botocore.awsrequest
import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules
import pytest
import support
from botocore.stub import Stubber
from mediapackage_harvest_handler import answering, entry, jobs_v1, outbound
from support import ACCOUNT_ID, LOGICAL_ID, REGION, REQUEST_ID, STACK_ID, Context, function_arn, iso

SIGNATURE = "X-Amz-Signature=0123456789abcdef"
RESPONSE_URL = (
    "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/"
    f"arn%3Aaws%3Acloudformation%3A{REGION}%3A{ACCOUNT_ID}%3Astack/HarvestStack/x?{SIGNATURE}"
)
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/HarvestStack-BucketMediaPackageHarvestRole-ABC"
START = "2026-11-28T10:00:00Z"
END = "2026-11-28T10:30:00Z"


def FakeContext(remaining_ms: int) -> Context:  # noqa: N802 - the name the entry point's calls use
    return Context(remaining_ms=remaining_ms)


def properties(**changes: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "ServiceToken": function_arn("handler-v1"),
        "ServiceTimeout": "900",
        "OriginEndpointId": "example-hls-endpoint",
        "StartTime": START,
        "EndTime": END,
        "S3Destination": {
            "BucketName": "harvest-bucket",
            "ManifestKey": "clips/final/index.m3u8",
            "RoleArn": ROLE_ARN,
        },
    }
    props.update(changes)
    return props


def event(request_type: str, props: Any = None, *, old: Any = None, **settings: Any) -> dict[str, Any]:
    """An event of ``properties()`` unless told otherwise, answered to ``RESPONSE_URL``."""
    return support.event(
        request_type,
        properties() if props is None else props,
        old_properties=old,
        ResponseURL=RESPONSE_URL,
        **settings,
    )


def job(job_id: str, status: str = "IN_PROGRESS", **changes: Any) -> dict[str, Any]:
    props = properties()
    record: dict[str, Any] = {
        "Arn": f"arn:aws:mediapackage:{REGION}:{ACCOUNT_ID}:harvest_jobs/{job_id}",
        "ChannelId": "example-channel",
        "CreatedAt": "2026-11-28T16:00:00Z",
        "EndTime": props["EndTime"],
        "Id": job_id,
        "OriginEndpointId": props["OriginEndpointId"],
        "S3Destination": dict(props["S3Destination"]),
        "StartTime": props["StartTime"],
        "Status": status,
    }
    record.update(changes)
    return record


def create_params(job_id: str, **changes: Any) -> dict[str, Any]:
    props = properties(**changes)
    return {
        "Id": job_id,
        "OriginEndpointId": props["OriginEndpointId"],
        "StartTime": props["StartTime"],
        "EndTime": props["EndTime"],
        "S3Destination": props["S3Destination"],
    }


GENERATED_ID = rules.generated_harvest_job_id(STACK_ID, LOGICAL_ID, REQUEST_ID)


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every body crhelper's ``_send`` builds for the ResponseURL (only the HTTPS PUT is replaced)."""
    sent: list[dict[str, Any]] = []

    def record(url: str, body: dict[str, Any], *, stop_at: float) -> bool:
        assert url == RESPONSE_URL
        assert stop_at > time.monotonic()
        sent.append(json.loads(json.dumps(body)))
        return True

    monkeypatch.setattr(answering, "put_answer", record)
    return sent


@pytest.fixture
def stub() -> Iterator[Stubber]:
    with Stubber(outbound.mediapackage_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def invoke(
    answers: list[dict[str, Any]], body: dict[str, Any], *, remaining_ms: int = 300_000
) -> dict[str, Any]:
    """Run the Lambda entry point once; exactly one answer must be sent."""
    before = len(answers)
    entry.handler(body, FakeContext(remaining_ms))
    assert len(answers) == before + 1, "exactly one answer per event"
    answer = answers[-1]
    assert len(json.dumps(answer).encode()) <= 4096
    return answer


def test_create_sends_the_normalized_request_and_answers_with_the_job(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    props = properties(StartTime="2026-11-28T12:00:00+02:00", EndTime="2026-11-28T10:30:00.000Z")
    stub.add_response("create_harvest_job", job(GENERATED_ID), create_params(GENERATED_ID))

    answer = invoke(answers, event("Create", props))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == GENERATED_ID
    assert answer["Data"] == {
        "Arn": f"arn:aws:mediapackage:{REGION}:{ACCOUNT_ID}:harvest_jobs/{GENERATED_ID}",
        "Id": GENERATED_ID,
        "Status": "IN_PROGRESS",
        "ChannelId": "example-channel",
        "CreatedAt": "2026-11-28T16:00:00Z",
        "StartTime": START,
        "EndTime": END,
    }
    assert (answer["StackId"], answer["LogicalResourceId"]) == (STACK_ID, LOGICAL_ID)


def test_create_with_a_fixed_id_uses_it(answers: list[dict[str, Any]], stub: Stubber) -> None:
    stub.add_response("create_harvest_job", job("my-clip_1"), create_params("my-clip_1"))

    answer = invoke(answers, event("Create", properties(Id="my-clip_1")))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", "my-clip_1")


def test_generated_ids_are_valid_unique_per_request_and_stable_per_delivery() -> None:
    first = rules.generated_harvest_job_id(STACK_ID, LOGICAL_ID, "request-1")
    assert first == rules.generated_harvest_job_id(STACK_ID, LOGICAL_ID, "request-1")
    assert first != rules.generated_harvest_job_id(STACK_ID, LOGICAL_ID, "request-2")
    assert first.startswith("HarvestStack-HarvestJob4AD607F3-")
    long_stack = STACK_ID.replace("HarvestStack", "S" * 128)
    for candidate in (
        first,
        rules.generated_harvest_job_id(long_stack, "L" * 255, "r"),
        rules.generated_harvest_job_id("", "", "r"),
    ):
        assert rules.check_identifier("Id", candidate) == candidate


def test_the_same_create_delivered_twice_answers_the_same_with_one_job(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    stub.add_response("create_harvest_job", job(GENERATED_ID), create_params(GENERATED_ID))
    stub.add_client_error(
        "create_harvest_job", "UnprocessableEntityException", "HarvestJob already exists", 422
    )
    stub.add_response("describe_harvest_job", job(GENERATED_ID), {"Id": GENERATED_ID})

    first = invoke(answers, event("Create"))
    second = invoke(answers, event("Create"))

    assert first["Status"] == second["Status"] == "SUCCESS"
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"] == GENERATED_ID
    assert first["Data"] == second["Data"]


def test_create_adopts_an_existing_job_with_the_same_harvest_written_differently(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    existing = job(
        "clip", "SUCCEEDED", StartTime="2026-11-28T10:00:00+00:00", EndTime="2026-11-28T10:30:00.000Z"
    )
    stub.add_client_error("create_harvest_job", "UnprocessableEntityException", "Id in use", 422)
    stub.add_response("describe_harvest_job", existing, {"Id": "clip"})

    answer = invoke(answers, event("Create", properties(Id="clip")))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", "clip")
    assert answer["Data"]["Status"] == "SUCCEEDED"


def test_create_conflicting_with_an_existing_job_fails_naming_the_field(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    other = job("clip")
    other["S3Destination"]["ManifestKey"] = "clips/other/index.m3u8"
    stub.add_client_error("create_harvest_job", "UnprocessableEntityException", "Id in use", 422)
    stub.add_response("describe_harvest_job", other, {"Id": "clip"})

    answer = invoke(answers, event("Create", properties(Id="clip")))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        "Harvest job Id clip already exists with a different S3Destination.ManifestKey"
    )
    assert "90 days" in answer["Reason"]


def test_create_rejected_by_mediapackage_fails_with_its_error_first(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    message = "The start time is outside the startover window. " + "x" * 600
    stub.add_client_error("create_harvest_job", "UnprocessableEntityException", message, 422)
    stub.add_client_error("describe_harvest_job", "NotFoundException", "not found", 404)

    answer = invoke(answers, event("Create"))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        f"CreateHarvestJob {GENERATED_ID} failed: UnprocessableEntityException: The start time is outside"
    )
    assert len(answer["Reason"]) <= contract.MAX_REASON_LENGTH
    assert answer["PhysicalResourceId"], "CloudFormation needs a physical id even for a failed Create"


def test_update_with_only_a_new_service_token_keeps_the_job_and_refreshes_its_data(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    stub.add_response("describe_harvest_job", job(GENERATED_ID, "SUCCEEDED"), {"Id": GENERATED_ID})
    new = properties(ServiceToken=function_arn("handler-v2"))

    answer = invoke(answers, event("Update", new, physical_id=GENERATED_ID, old=properties()))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", GENERATED_ID)
    assert answer["Data"]["Status"] == "SUCCEEDED"


def test_update_that_restores_the_job_properties_keeps_the_job(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    stub.add_response("describe_harvest_job", job("clip"), {"Id": "clip"})

    answer = invoke(
        answers,
        event("Update", properties(Id="clip"), physical_id="clip", old=properties(Id="clip", EndTime=START)),
    )

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", "clip")


def test_update_with_a_changed_window_creates_a_new_job(answers: list[dict[str, Any]], stub: Stubber) -> None:
    update_request = "c0ffee00-0000-4000-8000-000000000002"
    new_id = rules.generated_harvest_job_id(STACK_ID, LOGICAL_ID, update_request)
    changed_end = "2026-11-28T10:45:00Z"
    stub.add_response("describe_harvest_job", job(GENERATED_ID), {"Id": GENERATED_ID})
    stub.add_response(
        "create_harvest_job", job(new_id, EndTime=changed_end), create_params(new_id, EndTime=changed_end)
    )

    answer = invoke(
        answers,
        event(
            "Update",
            properties(EndTime=changed_end),
            request_id=update_request,
            physical_id=GENERATED_ID,
            old=properties(),
        ),
    )

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == new_id != GENERATED_ID
    assert answer["Data"]["EndTime"] == changed_end


def test_update_with_a_new_fixed_id_creates_that_job(answers: list[dict[str, Any]], stub: Stubber) -> None:
    stub.add_response("describe_harvest_job", job("clip-1"), {"Id": "clip-1"})
    stub.add_response("create_harvest_job", job("clip-2"), create_params("clip-2"))

    answer = invoke(answers, event("Update", properties(Id="clip-2"), physical_id="clip-1"))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", "clip-2")


def test_update_of_a_fixed_id_with_changed_properties_fails_clearly(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    stub.add_response("describe_harvest_job", job("clip"), {"Id": "clip"})

    answer = invoke(
        answers, event("Update", properties(Id="clip", EndTime="2026-11-28T10:45:00Z"), physical_id="clip")
    )

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("Id clip is kept but EndTime changed")
    assert "90 days" in answer["Reason"]
    assert answer["PhysicalResourceId"] == "clip"


def test_update_fails_when_mediapackage_will_not_describe_the_job(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    stub.add_client_error("describe_harvest_job", "TooManyRequestsException", "Rate exceeded", 429)

    answer = invoke(answers, event("Update", physical_id=GENERATED_ID, old=properties()))

    # Taking the error for "no such job" would harvest the same window again under a new Id.
    assert answer["Status"] == "FAILED"
    assert (
        answer["Reason"]
        == f"DescribeHarvestJob {GENERATED_ID} failed: TooManyRequestsException: Rate exceeded"
    )
    assert answer["PhysicalResourceId"] == GENERATED_ID


def test_update_keeps_a_job_whose_record_expired_when_its_harvest_is_unchanged(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    stub.add_client_error("describe_harvest_job", "NotFoundException", "not found", 404)
    new = properties(ServiceToken=function_arn("handler-v2"))

    answer = invoke(answers, event("Update", new, physical_id=GENERATED_ID, old=properties()))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", GENERATED_ID)
    assert answer["Data"] == {
        "Arn": f"arn:aws:mediapackage:{REGION}:{ACCOUNT_ID}:harvest_jobs/{GENERATED_ID}",
        "Id": GENERATED_ID,
        "Status": jobs_v1.EXPIRED_STATUS,
        "ChannelId": "",
        "CreatedAt": "",
        "StartTime": START,
        "EndTime": END,
    }


def test_update_of_an_expired_job_with_a_changed_harvest_creates_a_new_job(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    update_request = "c0ffee00-0000-4000-8000-000000000003"
    new_id = rules.generated_harvest_job_id(STACK_ID, LOGICAL_ID, update_request)
    stub.add_client_error("describe_harvest_job", "NotFoundException", "not found", 404)
    stub.add_response("create_harvest_job", job(new_id), create_params(new_id))
    old = properties(EndTime="2026-11-28T10:20:00Z")

    answer = invoke(answers, event("Update", request_id=update_request, physical_id=GENERATED_ID, old=old))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", new_id)


def test_a_failed_create_reports_a_failed_lookup_too(answers: list[dict[str, Any]], stub: Stubber) -> None:
    stub.add_client_error("create_harvest_job", "UnprocessableEntityException", "Bad window", 422)
    stub.add_client_error("describe_harvest_job", "ForbiddenException", "Denied", 403)

    answer = invoke(answers, event("Create"))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        f"CreateHarvestJob {GENERATED_ID} failed: UnprocessableEntityException: Bad window "
        f"(DescribeHarvestJob {GENERATED_ID} failed: ForbiddenException: Denied)"
    )


@pytest.mark.parametrize(
    "physical_id",
    [GENERATED_ID, "clip", "HarvestStack_HarvestJob4AD607F3_Q7K2M9XA", "not a job id / at all"],
)
def test_delete_answers_success_at_once_without_calling_mediapackage(
    answers: list[dict[str, Any]], stub: Stubber, physical_id: str
) -> None:
    started = time.monotonic()

    answer = invoke(answers, event("Delete", physical_id=physical_id))

    # crhelper's default would sleep 120 s here; the stub has no response, so any call would fail.
    assert time.monotonic() - started < 30
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", physical_id)


def test_delete_with_unusable_properties_still_succeeds(answers: list[dict[str, Any]], stub: Stubber) -> None:
    answer = invoke(answers, event("Delete", {"ServiceToken": "x", "StartTime": "never"}, physical_id="clip"))

    assert answer["Status"] == "SUCCESS"


def _without(key: str) -> dict[str, Any]:
    props = properties()
    del props[key]
    return props


def _destination(**changes: Any) -> dict[str, Any]:
    destination = dict(properties()["S3Destination"])
    destination.update(changes)
    return properties(S3Destination={k: v for k, v in destination.items() if v is not None})


FUTURE = iso(datetime.now(UTC) + timedelta(days=2))
FUTURE_START = iso(datetime.now(UTC) + timedelta(days=1))

BAD_PROPERTIES = [
    pytest.param(_without("OriginEndpointId"), "Missing property OriginEndpointId", id="no-endpoint"),
    pytest.param(
        properties(OriginEndpointId="my endpoint"), "OriginEndpointId: 'my endpoint'", id="endpoint-chars"
    ),
    pytest.param(_without("StartTime"), "Missing property StartTime", id="no-start"),
    pytest.param(
        properties(StartTime="yesterday"), "StartTime: 'yesterday' is not an ISO-8601", id="start-text"
    ),
    pytest.param(
        properties(EndTime="2026-11-28T10:30:00"),
        "EndTime: '2026-11-28T10:30:00' has no time zone",
        id="naive",
    ),
    pytest.param(
        properties(EndTime=START), "EndTime: '2026-11-28T10:00:00Z' is not after StartTime", id="empty-window"
    ),
    pytest.param(properties(EndTime="2026-11-29T10:00:01Z"), "EndTime: the window", id="over-24h"),
    pytest.param(properties(Id="bad id!"), "Id: 'bad id!' has characters other than", id="id-chars"),
    pytest.param(properties(Id="i" * 65), "Id: 'iii", id="id-long"),
    pytest.param(properties(Id=""), "Id: is empty", id="id-empty"),
    pytest.param(
        properties(StartTime=12), "Property StartTime is a int; expected a string", id="start-number"
    ),
    pytest.param(_without("S3Destination"), "Missing property S3Destination", id="no-destination"),
    pytest.param(
        properties(S3Destination="bucket"), "Property S3Destination is a str", id="destination-text"
    ),
    pytest.param(_destination(RoleArn=None), "Missing property S3Destination.RoleArn", id="no-role"),
    pytest.param(_destination(ManifestKey=""), "Property S3Destination.ManifestKey is empty", id="key-empty"),
    pytest.param(
        _destination(ManifestKey="/clips/x.m3u8"),
        "S3Destination.ManifestKey: '/clips/x.m3u8' starts",
        id="key-slash",
    ),
    pytest.param(_destination(ManifestKey="é" * 513), "S3Destination.ManifestKey: ", id="key-bytes"),
    pytest.param(
        _destination(Region="us-west-2"), "Unknown property S3Destination.Region", id="destination-extra"
    ),
    pytest.param(properties(EndTme=END), "Unknown property EndTme; expected only", id="typo"),
    pytest.param(None, "ResourceProperties is missing or not an object", id="no-properties"),
]


@pytest.mark.parametrize("request_type", ["Create", "Update"])
@pytest.mark.parametrize(("props", "expected"), BAD_PROPERTIES)
def test_bad_properties_fail_with_a_reason_naming_them(
    answers: list[dict[str, Any]], stub: Stubber, request_type: str, props: Any, expected: str
) -> None:
    body = event(request_type, props, physical_id="old-job" if request_type == "Update" else None)
    if props is None:
        del body["ResourceProperties"]

    answer = invoke(answers, body)

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(expected), answer["Reason"]
    assert len(answer["Reason"]) <= contract.MAX_REASON_LENGTH


def test_a_window_that_has_not_ended_fails_before_any_job_is_created(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    future = properties(StartTime=FUTURE_START, EndTime=FUTURE)
    stub.add_client_error("describe_harvest_job", "NotFoundException", "not found", 404)

    created = invoke(answers, event("Create", future))
    updated = invoke(answers, event("Update", future, physical_id="old-job"))

    for answer in (created, updated):
        assert answer["Status"] == "FAILED"
        assert answer["Reason"].startswith(f"EndTime: '{FUTURE}' is in the future"), answer["Reason"]


def _long_answer_event(key: str, job_id: str) -> dict[str, Any]:
    destination = {"BucketName": "b" * 63, "ManifestKey": key, "RoleArn": ROLE_ARN}
    body = event("Create", properties(Id=job_id, S3Destination=destination))
    body["StackId"] = STACK_ID.replace("HarvestStack", "S" * 128)
    body["LogicalResourceId"] = "L" * 255
    return body


def test_the_answer_carries_no_manifest_key_so_the_longest_one_fits(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    key = "\U0001f3ac" * 255  # 1020 bytes of UTF-8, 3060 once JSON-escaped
    body = _long_answer_event(key, "J" * 64)
    record = job("J" * 64, S3Destination=body["ResourceProperties"]["S3Destination"])
    stub.add_response(
        "create_harvest_job", record, {**create_params("J" * 64), "S3Destination": record["S3Destination"]}
    )

    answer = invoke(answers, body)

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert len(json.dumps(answer).encode()) <= 4096
    assert key not in json.dumps(answer, ensure_ascii=False)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self.body


class _ScriptedHttp:
    """Stands in for botocore's HTTP session: the real serializer, retry handler and parser run."""

    def __init__(self, responses: list[tuple[int, dict[str, Any]]]) -> None:
        self.responses = responses
        self.requests: list[botocore.awsrequest.AWSPreparedRequest] = []

    def send(self, request: botocore.awsrequest.AWSPreparedRequest) -> botocore.awsrequest.AWSResponse:
        self.requests.append(request)
        status, body = self.responses.pop(0)
        headers = {"Content-Type": "application/json"}
        if status >= 400:
            headers["x-amzn-ErrorType"] = body["__type"]
        return botocore.awsrequest.AWSResponse(
            request.url, status, cast(Any, headers), _Raw(json.dumps(body).encode())
        )


def test_throttling_and_5xx_are_retried_until_success(
    answers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    created = job(GENERATED_ID)
    api_record = {
        "arn": created["Arn"],
        "channelId": created["ChannelId"],
        "createdAt": created["CreatedAt"],
        "endTime": END,
        "id": GENERATED_ID,
        "originEndpointId": created["OriginEndpointId"],
        "s3Destination": {
            "bucketName": "harvest-bucket",
            "manifestKey": "clips/final/index.m3u8",
            "roleArn": ROLE_ARN,
        },
        "startTime": START,
        "status": "IN_PROGRESS",
    }
    http = _ScriptedHttp(
        [
            (429, {"__type": "TooManyRequestsException", "message": "Too many requests"}),
            (503, {"__type": "ServiceUnavailableException", "message": "Service unavailable"}),
            (200, api_record),
        ]
    )
    client = outbound.mediapackage_client()
    monkeypatch.setattr(cast(Any, client)._endpoint, "http_session", http)

    answer = invoke(answers, event("Create"))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["Data"]["Arn"] == created["Arn"]
    assert len(http.requests) == 3
    assert {request.body for request in http.requests} == {http.requests[0].body}
    assert json.loads(cast(bytes, http.requests[0].body))["id"] == GENERATED_ID
    assert http.requests[0].url.startswith("http://127.0.0.1:9/harvest_jobs")


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The handler's waits between CreateHarvestJob calls, each the most its backoff allows; not slept."""
    slept: list[float] = []
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


FUNCTION_TIMEOUT_SECONDS = 600  # the construct's handler function
QUOTA_FULL = "Limit exceeded: 10 harvest jobs are in progress"
#: A budget with room for one more wait of up to 2 s, the next call and the lookup after it.
ONE_MORE_WAIT_MS = int((contract.ANSWER_MARGIN_SECONDS + 2 * contract.CALL_SECONDS + 2.5) * 1000)


def test_a_create_refused_by_the_quota_is_called_again_with_capped_exponential_backoff(
    answers: list[dict[str, Any]], stub: Stubber, waits: list[float]
) -> None:
    for _ in range(7):
        stub.add_client_error("create_harvest_job", "TooManyRequestsException", QUOTA_FULL, 429)
    stub.add_response("create_harvest_job", job(GENERATED_ID), create_params(GENERATED_ID))

    answer = invoke(answers, event("Create"))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", GENERATED_ID)
    assert waits == [2, 4, 8, 16, 32, 60, 60]


def test_a_create_still_refused_when_the_budget_ends_fails_naming_the_quota(
    answers: list[dict[str, Any]], stub: Stubber, waits: list[float]
) -> None:
    for _ in range(2):
        stub.add_client_error("create_harvest_job", "TooManyRequestsException", QUOTA_FULL, 429)
    stub.add_client_error("describe_harvest_job", "NotFoundException", "not found", 404, {"Id": GENERATED_ID})

    answer = invoke(answers, event("Create"), remaining_ms=ONE_MORE_WAIT_MS)

    assert waits == [2], "one more wait fitted the budget, the next did not"
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == (
        f"CreateHarvestJob {GENERATED_ID} failed: TooManyRequestsException for 0 s until time ran out "
        f"(quota of 10 concurrent harvest jobs by default, or request rate): {QUOTA_FULL}"
    )


def test_a_create_refused_until_the_budget_ends_adopts_the_job_an_earlier_call_made(
    answers: list[dict[str, Any]], stub: Stubber, waits: list[float]
) -> None:
    """A call whose answer was lost may have made the job, which then counts against the quota."""
    stub.add_client_error("create_harvest_job", "TooManyRequestsException", QUOTA_FULL, 429)
    stub.add_response("describe_harvest_job", job(GENERATED_ID), {"Id": GENERATED_ID})

    answer = invoke(answers, event("Create"), remaining_ms=60_000)

    assert waits == []
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", GENERATED_ID)
    assert answer["Data"]["Arn"] == job(GENERATED_ID)["Arn"]


def test_only_too_many_requests_is_called_again(
    answers: list[dict[str, Any]], stub: Stubber, waits: list[float]
) -> None:
    stub.add_client_error("create_harvest_job", "InternalServerErrorException", "Oops", 500)
    stub.add_client_error("describe_harvest_job", "NotFoundException", "not found", 404, {"Id": GENERATED_ID})

    answer = invoke(answers, event("Create"))

    assert waits == []
    assert answer["Reason"] == f"CreateHarvestJob {GENERATED_ID} failed: InternalServerErrorException: Oops"


def test_one_call_and_the_retry_budget_fit_the_function_timeout() -> None:
    """The bound on one call follows the client's settings; the waiting leaves most of 10 minutes."""
    config = cast(Any, outbound.mediapackage_client().meta.config)
    per_attempt = config.connect_timeout + config.read_timeout
    attempts = config.retries["total_max_attempts"]
    backoff = sum(min(2**n, 20) for n in range(attempts - 1))  # botocore's throttling backoff, at most
    assert attempts * per_attempt + backoff == contract.CALL_SECONDS
    # Kept back: the answer margin (the call under way, handing over to the poller, the answer)
    # and the quota loop's room for two more calls; more than two thirds are left for waiting.
    reserved = contract.ANSWER_MARGIN_SECONDS + 2 * contract.CALL_SECONDS
    assert reserved < FUNCTION_TIMEOUT_SECONDS / 3


def test_the_client_retries_in_a_bounded_standard_mode() -> None:
    retries = cast(Any, outbound.mediapackage_client().meta.config).retries or {}
    assert retries.get("mode") in {"standard", "adaptive"}
    assert 1 < int(retries.get("total_max_attempts", 0)) <= 10


def test_logs_are_json_at_info_and_never_show_the_response_url(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    # Like Lambda's own: a handler on the root logger, whose formatter crhelper replaces.
    stream = io.StringIO()
    root_handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(root_handler)
    stub.add_response("create_harvest_job", job(GENERATED_ID), create_params(GENERATED_ID))
    stub.add_response("describe_harvest_job", job(GENERATED_ID), {"Id": GENERATED_ID})
    try:
        invoke(answers, event("Create"))
        invoke(answers, event("Update", physical_id=GENERATED_ID))
        invoke(answers, event("Delete", physical_id=GENERATED_ID))
        invoke(answers, event("Create", properties(StartTime="bad")))
    finally:
        logging.getLogger().removeHandler(root_handler)

    assert logging.getLogger().level == logging.INFO
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert {record["level"] for record in records} >= {"INFO", "ERROR"}
    assert {record["RequestType"] for record in records} == {"Create", "Update", "Delete"}
    assert "Created harvest job" in [
        record["message"].get("message") for record in records if isinstance(record["message"], dict)
    ]
    assert SIGNATURE not in stream.getvalue()
    assert "cloudformation-custom-resource-response" not in stream.getvalue()
