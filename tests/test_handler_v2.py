"""``Custom::MediaPackageV2HarvestJob`` through crhelper's real entry point, with botocore's Stubber
checking every request against the ``mediapackagev2`` service model: create, adopt, conflicts, the
ClientToken, kept and replacing updates, the quota, waiting's outcomes and Delete's cancel. The
answer is captured from crhelper's own ``_send`` (only the HTTPS PUT is replaced)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules
import pytest
import support
from botocore.stub import Stubber
from mediapackage_harvest_handler import answering, entry, jobs_v2, lifecycle, outbound, poll_rules, waiting
from support import ACCOUNT_ID, LOGICAL_ID, REGION, REQUEST_ID, STACK_ID, Context, function_arn

RESPONSE_URL = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?X-Amz-Signature=0"
START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
END = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)
CREATED = datetime(2026, 11, 28, 16, 0, 0, 123000, tzinfo=UTC)
GENERATED = rules.generated_harvest_job_id(STACK_ID, LOGICAL_ID, REQUEST_ID)
TOKEN = answering.request_token(
    {"StackId": STACK_ID, "LogicalResourceId": LOGICAL_ID, "RequestId": REQUEST_ID}
)
OTHER_REQUEST = "c0ffee00-0000-4000-8000-000000000002"
ADDRESS = {"ChannelGroupName": "live", "ChannelName": "main", "OriginEndpointName": "hls"}


def properties(**changes: Any) -> dict[str, Any]:
    """A v2 resource's properties as CloudFormation sends them (resolved tokens: strings)."""
    props: dict[str, Any] = {
        "ServiceToken": function_arn("handler-v1"),
        **ADDRESS,
        "StartTime": "2026-11-28T10:00:00Z",
        "EndTime": "2026-11-28T10:30:00Z",
        "S3Destination": {"BucketName": "harvest-bucket", "DestinationPath": "clips/final/"},
        "HlsManifestNames": ["index"],
        "DashManifestNames": ["dash"],
        "Tags": {"team": "video", "env": "prod"},
    }
    props.update(changes)
    return {key: value for key, value in props.items() if value is not None}


def event(request_type: str, props: Any = None, **settings: Any) -> dict[str, Any]:
    return support.event(
        request_type,
        properties() if props is None else props,
        resource_type=contract.RESOURCE_TYPE_V2,
        ResponseURL=RESPONSE_URL,
        **settings,
    )


def job(name: str = GENERATED, status: str = "QUEUED", **changes: Any) -> dict[str, Any]:
    """A CreateHarvestJob/GetHarvestJob answer as botocore parses it (timestamps as datetimes)."""
    record: dict[str, Any] = {
        **ADDRESS,
        "Destination": {"S3Destination": {"BucketName": "harvest-bucket", "DestinationPath": "clips/final/"}},
        "HarvestJobName": name,
        "HarvestedManifests": {
            "HlsManifests": [{"ManifestName": "index"}],
            "DashManifests": [{"ManifestName": "dash"}],
        },
        "ScheduleConfiguration": {"StartTime": START, "EndTime": END},
        "Arn": arn(name),
        "CreatedAt": CREATED,
        "ModifiedAt": CREATED,
        "Status": status,
        "ETag": "etag-1",
        "Tags": {"env": "prod", "team": "video"},
    }
    record.update(changes)
    return record


def arn(name: str) -> str:
    return (
        f"arn:aws:mediapackagev2:{REGION}:{ACCOUNT_ID}:channelGroup/live/channel/main/originEndpoint/hls/"
        f"harvestJob/{name}"
    )


def create_params(name: str = GENERATED, token: str = TOKEN, **changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        **ADDRESS,
        "HarvestJobName": name,
        "ClientToken": token,
        "HarvestedManifests": {
            "HlsManifests": [{"ManifestName": "index"}],
            "DashManifests": [{"ManifestName": "dash"}],
        },
        "ScheduleConfiguration": {"StartTime": START, "EndTime": END},
        "Destination": {"S3Destination": {"BucketName": "harvest-bucket", "DestinationPath": "clips/final/"}},
        "Tags": {"team": "video", "env": "prod"},
    }
    params.update(changes)
    return params


def get_params(name: str = GENERATED) -> dict[str, Any]:
    return {**ADDRESS, "HarvestJobName": name}


def data(name: str = GENERATED, status: str = "QUEUED") -> dict[str, str]:
    return {
        "Arn": arn(name),
        "HarvestJobName": name,
        "Status": status,
        "CreatedAt": "2026-11-28T16:00:00.123000Z",
        "StartTime": "2026-11-28T10:00:00Z",
        "EndTime": "2026-11-28T10:30:00Z",
    }


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    def record(url: str, body: dict[str, Any], *, stop_at: float) -> bool:
        assert url == RESPONSE_URL
        sent.append(json.loads(json.dumps(body)))
        return True

    monkeypatch.setattr(answering, "put_answer", record)
    return sent


@pytest.fixture
def stub() -> Iterator[Stubber]:
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


def invoke(
    answers: list[dict[str, Any]], body: dict[str, Any], *, remaining_ms: int = 300_000
) -> dict[str, Any]:
    before = len(answers)
    entry.handler(body, Context(remaining_ms=remaining_ms))
    assert len(answers) == before + 1, "exactly one answer per event"
    assert len(json.dumps(answers[-1]).encode()) <= contract.MAX_ANSWER_BYTES
    return answers[-1]


def test_create_sends_the_checked_request_with_its_client_token(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    props = properties(
        StartTime="2026-11-28T12:00:00+02:00", Description="Final", LowLatencyHlsManifestNames=[]
    )
    stub.add_response("create_harvest_job", job(), create_params(Description="Final"))

    answer = invoke(answers, event("Create", props))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == GENERATED
    assert answer["Data"] == data()


def test_the_client_token_is_stable_per_request_and_fits_the_model() -> None:
    envelope = {"StackId": STACK_ID, "LogicalResourceId": LOGICAL_ID, "RequestId": REQUEST_ID}
    token = answering.request_token(envelope)
    assert token == answering.request_token(dict(envelope)) == TOKEN
    assert token != answering.request_token({**envelope, "RequestId": OTHER_REQUEST})
    assert token != answering.request_token({**envelope, "LogicalResourceId": "Other"})
    assert 1 <= len(token) <= 256
    assert not any(character.isspace() for character in token)


def test_a_redelivered_create_sends_the_same_token_and_adopts_its_job(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    stub.add_response("create_harvest_job", job(), create_params())
    stub.add_client_error(
        "create_harvest_job", "ConflictException", "exists", 409, expected_params=create_params()
    )
    stub.add_response("get_harvest_job", job(status="IN_PROGRESS"), get_params())

    first = invoke(answers, event("Create"))
    second = invoke(answers, event("Create"))

    assert (first["Status"], second["Status"]) == ("SUCCESS", "SUCCESS")
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"] == GENERATED
    assert second["Data"] == data(status="IN_PROGRESS")


def test_a_fixed_name_used_by_another_harvest_fails_naming_the_difference(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    stub.add_client_error("create_harvest_job", "ConflictException", "exists", 409)
    other = job(
        "clip", Destination={"S3Destination": {"BucketName": "harvest-bucket", "DestinationPath": "x/"}}
    )
    stub.add_response("get_harvest_job", other, get_params("clip"))

    answer = invoke(answers, event("Create", properties(HarvestJobName="clip")))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        "HarvestJobName clip is already used by a harvest job with a different S3Destination.DestinationPath"
    )


def test_a_fixed_name_taken_on_another_endpoint_of_the_channel_fails_clearly(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    stub.add_client_error("create_harvest_job", "ConflictException", "Harvest job name in use", 409)
    stub.add_client_error("get_harvest_job", "ResourceNotFoundException", "no such job", 404)

    answer = invoke(answers, event("Create", properties(HarvestJobName="clip")))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        "HarvestJobName clip is already used by another harvest job of channel main"
    )


def test_a_rejected_create_fails_with_the_services_error(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    stub.add_client_error(
        "create_harvest_job", "ValidationException", "Manifest not on endpoint " + "x" * 400, 400
    )
    stub.add_client_error("get_harvest_job", "ResourceNotFoundException", "no such job", 404)

    answer = invoke(answers, event("Create"))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        f"CreateHarvestJob {GENERATED} failed: ValidationException: Manifest not on"
    )
    assert len(answer["Reason"]) <= contract.MAX_REASON_LENGTH


QUOTA_ERRORS = [
    pytest.param("ServiceQuotaExceededException", 402, None, id="service-quota"),
    pytest.param("ThrottlingException", 429, None, id="throttled"),
    pytest.param(
        "ValidationException",
        400,
        {"Message": "Too many jobs", "ValidationExceptionType": "TOO_MANY_IN_PROGRESS_HARVEST_JOBS"},
        id="too-many-in-progress",
    ),
]


@pytest.mark.parametrize(("code", "status", "fields"), QUOTA_ERRORS)
def test_a_create_refused_for_the_quota_is_called_again_with_backoff(
    answers: list[dict[str, Any]], stub: Stubber, waits: list[float], code: str, status: int, fields: Any
) -> None:
    for _ in range(3):
        stub.add_client_error("create_harvest_job", code, "Too many jobs", status, modeled_fields=fields)
    stub.add_response("create_harvest_job", job(), create_params())

    answer = invoke(answers, event("Create"))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", GENERATED)
    assert waits == [2, 4, 8]


def test_a_create_still_refused_when_the_budget_ends_fails_naming_the_quota(
    answers: list[dict[str, Any]], stub: Stubber, waits: list[float]
) -> None:
    stub.add_client_error("create_harvest_job", "ServiceQuotaExceededException", "Quota", 402)
    stub.add_client_error("get_harvest_job", "ResourceNotFoundException", "no such job", 404)

    answer = invoke(answers, event("Create"), remaining_ms=60_000)

    assert waits == []
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        f"CreateHarvestJob {GENERATED} refused for 0 s until time ran out (quota"
    )


def update(
    props: Any, *, old: Any = None, request_id: str = OTHER_REQUEST, physical_id: str = GENERATED
) -> Any:
    return event(
        "Update",
        props,
        old_properties=properties() if old is None else old,
        physical_id=physical_id,
        request_id=request_id,
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"ServiceToken": function_arn("handler-v2")},
        {"Tags": {"env": "prod", "team": "video"}},
        {"HlsManifestNames": ["index"], "DashManifestNames": ["dash"], "WaitForCompletion": "false"},
    ],
    ids=["service-token", "tags-order", "waiting-only"],
)
def test_an_update_changing_no_harvest_property_keeps_the_job(
    answers: list[dict[str, Any]], stub: Stubber, changes: dict[str, Any]
) -> None:
    stub.add_response("get_harvest_job", job(status="COMPLETED"), get_params())

    answer = invoke(answers, update(properties(**changes)))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", GENERATED)
    assert answer["Data"] == data(status="COMPLETED")


@pytest.mark.parametrize(
    ("changes", "create_changes"),
    [
        (
            {"EndTime": "2026-11-28T10:31:00Z"},
            {
                "ScheduleConfiguration": {
                    "StartTime": START,
                    "EndTime": datetime(2026, 11, 28, 10, 31, tzinfo=UTC),
                }
            },
        ),
        ({"Tags": {"team": "audio"}}, {"Tags": {"team": "audio"}}),
        ({"DashManifestNames": None}, {"HarvestedManifests": {"HlsManifests": [{"ManifestName": "index"}]}}),
        ({"Description": "new"}, {"Description": "new"}),
    ],
    ids=["window", "tags", "manifests", "description"],
)
def test_an_update_changing_a_harvest_property_creates_a_new_job(
    answers: list[dict[str, Any]], stub: Stubber, changes: dict[str, Any], create_changes: dict[str, Any]
) -> None:
    new_name = rules.generated_harvest_job_id(STACK_ID, LOGICAL_ID, OTHER_REQUEST)
    token = answering.request_token(
        {"StackId": STACK_ID, "LogicalResourceId": LOGICAL_ID, "RequestId": OTHER_REQUEST}
    )
    stub.add_response("get_harvest_job", job(status="COMPLETED"), get_params())
    stub.add_response("create_harvest_job", job(new_name), create_params(new_name, token, **create_changes))

    answer = invoke(answers, update(properties(**changes)))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == new_name != GENERATED


def test_an_update_of_a_fixed_name_with_changed_properties_fails(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    stub.add_response("get_harvest_job", job("clip"), get_params("clip"))

    answer = invoke(
        answers,
        update(
            properties(HarvestJobName="clip", EndTime="2026-11-28T10:45:00Z"),
            old=properties(HarvestJobName="clip"),
            physical_id="clip",
        ),
    )

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("HarvestJobName clip is kept but EndTime changed")
    assert answer["PhysicalResourceId"] == "clip"


def test_an_update_of_a_job_no_longer_known_keeps_it_when_unchanged(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    stub.add_client_error("get_harvest_job", "ResourceNotFoundException", "no such job", 404)

    answer = invoke(answers, update(properties(ServiceToken=function_arn("handler-v2"))))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", GENERATED)
    assert answer["Data"] == {**data(status=jobs_v2.EXPIRED_STATUS), "CreatedAt": ""}


def test_an_update_fails_when_the_job_cannot_be_read(answers: list[dict[str, Any]], stub: Stubber) -> None:
    stub.add_client_error("get_harvest_job", "AccessDeniedException", "Denied", 403)

    answer = invoke(answers, update(properties()))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == f"GetHarvestJob {GENERATED} failed: AccessDeniedException: Denied"


def waiting_properties(**changes: Any) -> dict[str, Any]:
    return properties(WaitForCompletion="true", CompletionTimeout="600", **changes)


@pytest.mark.parametrize(
    ("final", "reason"),
    [
        (job(status="COMPLETED"), ""),
        (
            job(status="FAILED", ErrorMessage="Access denied writing to bucket harvest-bucket"),
            "Harvest job failed: Access denied writing to bucket harvest-bucket (job " + GENERATED + ")",
        ),
        (job(status="CANCELLED"), f"Harvest job {GENERATED} was cancelled before it completed"),
    ],
    ids=["completed", "failed", "cancelled"],
)
def test_waiting_answers_the_jobs_outcome(
    answers: list[dict[str, Any]], stub: Stubber, waits: list[float], final: dict[str, Any], reason: str
) -> None:
    stub.add_response("create_harvest_job", job(), create_params())
    stub.add_response("get_harvest_job", job(status="IN_PROGRESS"), get_params())
    stub.add_response("get_harvest_job", final, get_params())

    answer = invoke(answers, event("Create", waiting_properties()))

    assert answer["Reason"] == reason
    assert answer["Status"] == ("SUCCESS" if not reason else "FAILED")
    if not reason:
        assert answer["Data"] == data(status="COMPLETED")
    assert waits == [contract.POLL_INTERVAL_SECONDS] * 2


def test_a_failure_message_is_kept_first_in_the_reason_whatever_the_name(
    answers: list[dict[str, Any]], stub: Stubber, waits: list[float]
) -> None:
    name = "n" * 256
    stub.add_response("create_harvest_job", job(name), create_params(name))
    stub.add_response(
        "get_harvest_job", job(name, "FAILED", ErrorMessage="No segments in window"), get_params(name)
    )

    answer = invoke(answers, event("Create", waiting_properties(HarvestJobName=name)))

    assert answer["Reason"].startswith("Harvest job failed: No segments in window (job nnn")
    assert len(answer["Reason"]) <= contract.MAX_REASON_LENGTH


@pytest.mark.parametrize("status", ["QUEUED", "IN_PROGRESS"])
def test_delete_cancels_a_running_job_with_its_etag(
    answers: list[dict[str, Any]], stub: Stubber, status: str
) -> None:
    stub.add_response("get_harvest_job", job(status=status, ETag="etag-7"), get_params())
    stub.add_response("cancel_harvest_job", {}, {**get_params(), "ETag": "etag-7"})

    answer = invoke(answers, event("Delete", physical_id=GENERATED))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", GENERATED)


@pytest.mark.parametrize("status", ["COMPLETED", "FAILED", "CANCELLED"])
def test_delete_of_a_finished_job_only_looks(
    answers: list[dict[str, Any]], stub: Stubber, status: str
) -> None:
    stub.add_response("get_harvest_job", job(status=status), get_params())

    assert invoke(answers, event("Delete", physical_id=GENERATED))["Status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ConflictException", 409),
        ("PreconditionFailed", 412),
        ("AccessDeniedException", 403),
        ("InternalServerException", 500),
    ],
)
def test_delete_succeeds_whatever_the_cancel_answers(
    answers: list[dict[str, Any]], stub: Stubber, code: str, status: int
) -> None:
    stub.add_response("get_harvest_job", job(status="IN_PROGRESS"), get_params())
    stub.add_client_error("cancel_harvest_job", code, "no", status)

    assert invoke(answers, event("Delete", physical_id=GENERATED))["Status"] == "SUCCESS"


def test_delete_of_an_unknown_job_does_nothing_more(answers: list[dict[str, Any]], stub: Stubber) -> None:
    made_up = answering.made_up_physical_id(event("Create"))
    stub.add_client_error(
        "get_harvest_job",
        "ResourceNotFoundException",
        "no such job",
        404,
        expected_params=get_params(made_up),
    )

    assert invoke(answers, event("Delete", physical_id=made_up))["Status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("props", "physical_id"),
    [
        (None, GENERATED),
        ({"ServiceToken": "x"}, GENERATED),
        (properties(ChannelName="bad name"), GENERATED),
        (properties(), "not a name!"),
    ],
    ids=["no-properties", "no-address", "bad-address", "bad-physical-id"],
)
def test_delete_with_nothing_to_look_up_makes_no_call(
    answers: list[dict[str, Any]], stub: Stubber, props: Any, physical_id: str
) -> None:
    body = event("Delete", props, physical_id=physical_id)
    if props is None:
        del body["ResourceProperties"]

    answer = invoke(answers, body)

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", physical_id)


def test_the_answer_fits_with_names_of_256_characters(answers: list[dict[str, Any]], stub: Stubber) -> None:
    long = {"ChannelGroupName": "g" * 256, "ChannelName": "c" * 256, "OriginEndpointName": "e" * 256}
    name = "n" * 256
    body = event("Create", properties(**long, HarvestJobName=name))
    body["StackId"] = STACK_ID.replace("HarvestStack", "S" * 128)
    body["LogicalResourceId"] = "L" * 255
    token = answering.request_token(body)
    record = {**job(name), **long, "Arn": "arn:aws:mediapackagev2:us-east-1:123456789012:" + "x" * 1100}
    stub.add_response("create_harvest_job", record, {**create_params(name, token), **long})

    answer = invoke(answers, body)

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["Data"]["HarvestJobName"] == name


def _without(key: str) -> dict[str, Any]:
    props = properties()
    del props[key]
    return props


def _destination(**changes: Any) -> dict[str, Any]:
    destination = {**properties()["S3Destination"], **changes}
    return properties(S3Destination={key: value for key, value in destination.items() if value is not None})


BAD_PROPERTIES = [
    pytest.param(None, "ResourceProperties is missing or not an object", id="no-properties"),
    pytest.param(_without("ChannelGroupName"), "Missing property ChannelGroupName", id="no-group"),
    pytest.param(_without("ChannelName"), "Missing property ChannelName", id="no-channel"),
    pytest.param(_without("OriginEndpointName"), "Missing property OriginEndpointName", id="no-endpoint"),
    pytest.param(
        properties(ChannelName="main channel"),
        "ChannelName: 'main channel' has characters",
        id="channel-chars",
    ),
    pytest.param(properties(OriginEndpointName="e" * 257), "OriginEndpointName: 'eee", id="endpoint-long"),
    pytest.param(
        properties(ChannelGroupName=7), "ChannelGroupName: 7 is a int; expected a string", id="group-number"
    ),
    pytest.param(_without("StartTime"), "Missing property StartTime", id="no-start"),
    pytest.param(properties(StartTime="noon"), "StartTime: 'noon' is not an ISO-8601", id="start-text"),
    pytest.param(
        properties(EndTime="2026-11-28T10:30:00"),
        "EndTime: '2026-11-28T10:30:00' has no time zone",
        id="naive",
    ),
    pytest.param(
        properties(EndTime="2026-11-28T09:00:00Z"),
        "EndTime: '2026-11-28T09:00:00Z' is not after",
        id="reversed",
    ),
    pytest.param(properties(EndTime="2026-11-29T10:00:01Z"), "EndTime: the window", id="over-24h"),
    pytest.param(_without("S3Destination"), "Missing property S3Destination", id="no-destination"),
    pytest.param(
        properties(S3Destination="bucket"),
        "Property S3Destination is a str; expected an object",
        id="destination-text",
    ),
    pytest.param(_destination(BucketName=None), "Missing property S3Destination.BucketName", id="no-bucket"),
    pytest.param(
        _destination(BucketName="Bad_Bucket"), "S3Destination.BucketName: 'Bad_Bucket' is not", id="bucket"
    ),
    pytest.param(
        _destination(BucketName=["b"]), "Property S3Destination.BucketName is a list", id="bucket-list"
    ),
    pytest.param(
        _destination(DestinationPath=None), "Missing property S3Destination.DestinationPath", id="no-path"
    ),
    pytest.param(
        _destination(DestinationPath="a b/"),
        "S3Destination.DestinationPath: 'a b/' contains whitespace",
        id="path-space",
    ),
    pytest.param(
        _destination(DestinationPath="p" * 1025), "S3Destination.DestinationPath: 'ppp", id="path-long"
    ),
    pytest.param(
        _destination(ManifestKey="x.m3u8"), "Unknown property S3Destination.ManifestKey", id="v1-key"
    ),
    pytest.param(
        properties(HlsManifestNames="index"),
        "HlsManifestNames: 'index' is a str; expected a list",
        id="names-text",
    ),
    pytest.param(
        properties(DashManifestNames=["ok", "bad name"]), "DashManifestNames[1]: 'bad name'", id="name-chars"
    ),
    pytest.param(
        properties(HlsManifestNames=["a", "a"]), "HlsManifestNames: ['a'] appear more than once", id="twice"
    ),
    pytest.param(
        properties(HlsManifestNames=None, DashManifestNames=[], LowLatencyHlsManifestNames=[]),
        "HlsManifestNames, DashManifestNames, LowLatencyHlsManifestNames: all empty",
        id="no-manifest",
    ),
    pytest.param(
        properties(HarvestJobName="my clip"), "HarvestJobName: 'my clip' has characters", id="job-name"
    ),
    pytest.param(properties(HarvestJobName=""), "HarvestJobName: is empty", id="job-name-empty"),
    pytest.param(properties(Description="d" * 1025), "Description: 'ddd", id="description-long"),
    pytest.param(properties(Description=["d"]), "Description: ['d'] is a list", id="description-list"),
    pytest.param(properties(Tags=["a"]), "Tags: ['a'] is a list; expected a mapping", id="tags-list"),
    pytest.param(properties(Tags={"team": 1}), "Tags: tag value of 'team' 1 is a int", id="tag-value"),
    pytest.param(properties(Tags={"aws:x": "y"}), "Tags: tag key 'aws:x' starts with 'aws:'", id="tag-aws"),
    pytest.param(properties(Id="x"), "Unknown property Id; expected only", id="v1-id"),
    pytest.param(properties(WaitForCompletion="yes"), "Property WaitForCompletion is 'yes'", id="wait"),
]


@pytest.mark.parametrize("request_type", ["Create", "Update"])
@pytest.mark.parametrize(("props", "expected"), BAD_PROPERTIES)
def test_bad_properties_fail_with_a_reason_naming_them(
    answers: list[dict[str, Any]], stub: Stubber, request_type: str, props: Any, expected: str
) -> None:
    body = event(request_type, props, **({"physical_id": GENERATED} if request_type == "Update" else {}))
    if props is None:
        del body["ResourceProperties"]

    answer = invoke(answers, body)

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(expected), answer["Reason"]
    assert len(answer["Reason"]) <= contract.MAX_REASON_LENGTH


def test_a_window_that_has_not_ended_fails_before_any_job_is_created(
    answers: list[dict[str, Any]], stub: Stubber
) -> None:
    answer = invoke(
        answers, event("Create", properties(StartTime="2099-01-01T00:00:00Z", EndTime="2099-01-01T01:00:00Z"))
    )

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("EndTime: '2099-01-01T01:00:00Z' is in the future")


def test_a_create_out_of_time_hands_the_job_and_its_address_to_the_poller(stub: Stubber) -> None:
    stub.add_response("create_harvest_job", job(), create_params())

    decision = lifecycle.create(event("Create", waiting_properties()), Context(remaining_ms=30_000))

    assert (decision.status, decision.physical_id, dict(decision.data)) == ("SUCCESS", GENERATED, data())
    assert decision.pending is not None
    assert (decision.pending.job_id, dict(decision.pending.address)) == (GENERATED, ADDRESS)
    assert decision.pending.timeout_seconds == 600


def poll(pending: waiting.PendingWait) -> dict[str, Any]:
    """A scheduled poll's event as the poller's rule delivers it (JSON, without the properties)."""
    create = event("Create", waiting_properties())
    polled = poll_rules.poll_event(create, pending, "arn:aws:events:us-east-1:123456789012:rule/R")
    return dict(json.loads(json.dumps(polled)))


def test_a_v2_poll_finds_the_job_at_its_address(stub: Stubber) -> None:
    pending = waiting.PendingWait(GENERATED, time.time() + 600, 600, ADDRESS)
    stub.add_response("get_harvest_job", job(status="IN_PROGRESS"), get_params())
    stub.add_response("get_harvest_job", job(status="COMPLETED"), get_params())
    polled = poll(pending)
    assert "ResourceProperties" not in polled
    assert waiting.PendingWait.from_event(polled) == pending

    still = lifecycle.poll(polled, Context(remaining_ms=0))
    done = lifecycle.poll(polled, Context(remaining_ms=contract.ANSWER_MARGIN_SECONDS * 1000 + 10_000))

    assert (still.status, still.pending) == ("SUCCESS", pending)
    assert (done.status, done.physical_id, dict(done.data), done.pending) == (
        "SUCCESS",
        GENERATED,
        data(status="COMPLETED"),
        None,
    )


def test_a_v1_poll_event_written_without_an_address_still_parses() -> None:
    v1_state = {"Id": "clip", "Deadline": 1_000_000.5, "TimeoutSeconds": 600}
    pending = waiting.PendingWait.from_event({waiting.WAIT_KEY: v1_state})
    assert pending == waiting.PendingWait("clip", 1_000_000.5, 600)
    assert pending.as_event() == v1_state, "a v1 wait is written as before"


@pytest.mark.parametrize("address", ["live", ["live"], {"ChannelName": 1}, {2: "x"}])
def test_a_poll_event_with_a_bad_address_is_refused(address: Any) -> None:
    state = {"Id": "clip", "Deadline": 1.0, "TimeoutSeconds": 60, "Address": address}
    with pytest.raises(answering.RequestError, match="The poll event has no valid HarvestJobWait"):
        waiting.PendingWait.from_event({waiting.WAIT_KEY: state})


def test_a_create_whose_job_fails_answers_with_the_jobs_name_for_the_rollback(
    answers: list[dict[str, Any]], stub: Stubber, waits: list[float]
) -> None:
    """A fixed name: the rollback's Delete must find the job (to cancel it if it still ran)."""
    stub.add_response("create_harvest_job", job("clip"), create_params("clip"))
    stub.add_response("get_harvest_job", job("clip", "CANCELLED"), get_params("clip"))

    answer = invoke(answers, event("Create", waiting_properties(HarvestJobName="clip")))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("FAILED", "clip")


def test_a_create_polled_to_its_deadline_fails_with_the_jobs_name(stub: Stubber) -> None:
    pending = waiting.PendingWait("clip", time.time() - 1, 60, ADDRESS)
    stub.add_response("get_harvest_job", job("clip", "IN_PROGRESS"), get_params("clip"))

    decision = lifecycle.poll(poll(pending), Context())

    assert (decision.status, decision.physical_id) == ("FAILED", "clip")
    assert decision.reason.startswith("Harvest job clip was still IN_PROGRESS when the completion timeout")
