"""``Custom::MediaPackageV2HarvestJob`` through crhelper's real entry point, with botocore's Stubber
checking every request against the ``mediapackagev2`` service model: create with its ClientToken,
adoption and conflicts, the quota, kept and replacing updates, Delete's cancel, the answer's size.
The answer is captured from crhelper's own ``_send`` (only the HTTPS PUT is replaced)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules
import pytest
from botocore.stub import Stubber
from mediapackage_harvest_handler import answering, entry, jobs_v2
from support import (
    LOGICAL_ID,
    REQUEST_ID,
    STACK_ID,
    V2_GENERATED,
    function_arn,
    invoke,
    v2_create_params,
    v2_data,
    v2_event,
    v2_get_params,
    v2_job,
    v2_properties,
)

TOKEN = answering.request_token(
    {"StackId": STACK_ID, "LogicalResourceId": LOGICAL_ID, "RequestId": REQUEST_ID}
)
OTHER_REQUEST = "c0ffee00-0000-4000-8000-000000000002"


def create_params(name: str = V2_GENERATED, token: str = TOKEN, **changes: Any) -> dict[str, Any]:
    return v2_create_params(name, token, **changes)


def test_create_sends_the_checked_request_with_its_client_token(
    answers: list[dict[str, Any]], v2_stub: Stubber
) -> None:
    props = v2_properties(
        StartTime="2026-11-28T12:00:00+02:00", Description="Final", LowLatencyHlsManifestNames=[]
    )
    v2_stub.add_response("create_harvest_job", v2_job(), create_params(Description="Final"))

    answer = invoke(entry.handler, answers, v2_event("Create", props))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == V2_GENERATED
    assert answer["Data"] == v2_data()


def test_a_redelivered_create_sends_the_same_token_and_adopts_its_job(
    answers: list[dict[str, Any]], v2_stub: Stubber
) -> None:
    v2_stub.add_response("create_harvest_job", v2_job(), create_params())
    v2_stub.add_client_error(
        "create_harvest_job", "ConflictException", "exists", 409, expected_params=create_params()
    )
    v2_stub.add_response("get_harvest_job", v2_job(status="IN_PROGRESS"), v2_get_params())

    first = invoke(entry.handler, answers, v2_event("Create"))
    second = invoke(entry.handler, answers, v2_event("Create"))

    assert (first["Status"], second["Status"]) == ("SUCCESS", "SUCCESS")
    assert first["PhysicalResourceId"] == second["PhysicalResourceId"] == V2_GENERATED
    assert second["Data"] == v2_data(status="IN_PROGRESS")


def test_a_fixed_name_used_by_another_harvest_fails_naming_the_difference(
    answers: list[dict[str, Any]], v2_stub: Stubber
) -> None:
    v2_stub.add_client_error("create_harvest_job", "ConflictException", "exists", 409)
    other = v2_job(
        "clip", Destination={"S3Destination": {"BucketName": "harvest-bucket", "DestinationPath": "x/"}}
    )
    v2_stub.add_response("get_harvest_job", other, v2_get_params("clip"))

    answer = invoke(entry.handler, answers, v2_event("Create", v2_properties(HarvestJobName="clip")))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        "HarvestJobName clip is already used by a harvest job with a different S3Destination.DestinationPath"
    )


def test_a_fixed_name_taken_on_another_endpoint_of_the_channel_fails_clearly(
    answers: list[dict[str, Any]], v2_stub: Stubber
) -> None:
    v2_stub.add_client_error("create_harvest_job", "ConflictException", "Harvest job name in use", 409)
    v2_stub.add_client_error("get_harvest_job", "ResourceNotFoundException", "no such job", 404)

    answer = invoke(entry.handler, answers, v2_event("Create", v2_properties(HarvestJobName="clip")))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        "HarvestJobName clip is already used by another harvest job of channel main"
    )


def test_a_rejected_create_fails_with_the_services_error(
    answers: list[dict[str, Any]], v2_stub: Stubber
) -> None:
    v2_stub.add_client_error(
        "create_harvest_job", "ValidationException", "Manifest not on endpoint " + "x" * 400, 400
    )
    v2_stub.add_client_error("get_harvest_job", "ResourceNotFoundException", "no such job", 404)

    answer = invoke(entry.handler, answers, v2_event("Create"))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        f"CreateHarvestJob {V2_GENERATED} failed: ValidationException: Manifest not on"
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
    answers: list[dict[str, Any]], v2_stub: Stubber, waits: list[float], code: str, status: int, fields: Any
) -> None:
    for _ in range(3):
        v2_stub.add_client_error("create_harvest_job", code, "Too many jobs", status, modeled_fields=fields)
    v2_stub.add_response("create_harvest_job", v2_job(), create_params())

    answer = invoke(entry.handler, answers, v2_event("Create"))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", V2_GENERATED)
    assert waits == [2, 4, 8]


def test_a_create_still_refused_when_the_budget_ends_fails_naming_the_quota(
    answers: list[dict[str, Any]], v2_stub: Stubber, waits: list[float]
) -> None:
    v2_stub.add_client_error("create_harvest_job", "ServiceQuotaExceededException", "Quota", 402)
    v2_stub.add_client_error("get_harvest_job", "ResourceNotFoundException", "no such job", 404)

    answer = invoke(entry.handler, answers, v2_event("Create"), remaining_ms=60_000)

    assert waits == []
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(
        f"CreateHarvestJob {V2_GENERATED} refused for 0 s until time ran out (quota"
    )


def update(
    props: Any, *, old: Any = None, request_id: str = OTHER_REQUEST, physical_id: str = V2_GENERATED
) -> Any:
    return v2_event(
        "Update",
        props,
        old_properties=v2_properties() if old is None else old,
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
    answers: list[dict[str, Any]], v2_stub: Stubber, changes: dict[str, Any]
) -> None:
    v2_stub.add_response("get_harvest_job", v2_job(status="COMPLETED"), v2_get_params())

    answer = invoke(entry.handler, answers, update(v2_properties(**changes)))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", V2_GENERATED)
    assert answer["Data"] == v2_data(status="COMPLETED")


@pytest.mark.parametrize(
    ("changes", "create_changes"),
    [
        (
            {"EndTime": "2026-11-28T10:31:00Z"},
            {
                "ScheduleConfiguration": {
                    "StartTime": datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
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
    answers: list[dict[str, Any]], v2_stub: Stubber, changes: dict[str, Any], create_changes: dict[str, Any]
) -> None:
    new_name = rules.generated_harvest_job_id(STACK_ID, LOGICAL_ID, OTHER_REQUEST)
    token = answering.request_token(
        {"StackId": STACK_ID, "LogicalResourceId": LOGICAL_ID, "RequestId": OTHER_REQUEST}
    )
    v2_stub.add_response("get_harvest_job", v2_job(status="COMPLETED"), v2_get_params())
    v2_stub.add_response(
        "create_harvest_job", v2_job(new_name), create_params(new_name, token, **create_changes)
    )

    answer = invoke(entry.handler, answers, update(v2_properties(**changes)))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == new_name != V2_GENERATED


def test_an_update_of_a_fixed_name_with_changed_properties_fails(
    answers: list[dict[str, Any]], v2_stub: Stubber
) -> None:
    v2_stub.add_response("get_harvest_job", v2_job("clip"), v2_get_params("clip"))

    answer = invoke(
        entry.handler,
        answers,
        update(
            v2_properties(HarvestJobName="clip", EndTime="2026-11-28T10:45:00Z"),
            old=v2_properties(HarvestJobName="clip"),
            physical_id="clip",
        ),
    )

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("HarvestJobName clip is kept but EndTime changed")
    assert answer["PhysicalResourceId"] == "clip"


def test_an_update_of_a_job_no_longer_known_keeps_it_when_unchanged(
    answers: list[dict[str, Any]], v2_stub: Stubber
) -> None:
    v2_stub.add_client_error("get_harvest_job", "ResourceNotFoundException", "no such job", 404)

    answer = invoke(entry.handler, answers, update(v2_properties(ServiceToken=function_arn("handler-v2"))))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", V2_GENERATED)
    assert answer["Data"] == {**v2_data(status=jobs_v2.EXPIRED_STATUS), "CreatedAt": ""}


def test_an_update_fails_when_the_job_cannot_be_read(answers: list[dict[str, Any]], v2_stub: Stubber) -> None:
    v2_stub.add_client_error("get_harvest_job", "AccessDeniedException", "Denied", 403)

    answer = invoke(entry.handler, answers, update(v2_properties()))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == f"GetHarvestJob {V2_GENERATED} failed: AccessDeniedException: Denied"


@pytest.mark.parametrize("status", ["QUEUED", "IN_PROGRESS"])
def test_delete_cancels_a_running_job_with_its_etag(
    answers: list[dict[str, Any]], v2_stub: Stubber, status: str
) -> None:
    v2_stub.add_response("get_harvest_job", v2_job(status=status, ETag="etag-7"), v2_get_params())
    v2_stub.add_response("cancel_harvest_job", {}, {**v2_get_params(), "ETag": "etag-7"})

    answer = invoke(entry.handler, answers, v2_event("Delete", physical_id=V2_GENERATED))

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", V2_GENERATED)


@pytest.mark.parametrize("status", ["COMPLETED", "FAILED", "CANCELLED"])
def test_delete_of_a_finished_job_only_looks(
    answers: list[dict[str, Any]], v2_stub: Stubber, status: str
) -> None:
    v2_stub.add_response("get_harvest_job", v2_job(status=status), v2_get_params())

    assert invoke(entry.handler, answers, v2_event("Delete", physical_id=V2_GENERATED))["Status"] == "SUCCESS"


FINISHED_MEANWHILE = "The job finished before it could be cancelled"
STOP_FAILED = "Stopping the harvest job failed; Delete succeeds"


@pytest.mark.parametrize(
    ("code", "status", "fields", "logged"),
    [
        ("ConflictException", 409, None, FINISHED_MEANWHILE),
        ("PreconditionFailed", 412, None, FINISHED_MEANWHILE),
        (
            "ValidationException",
            400,
            {"Message": "no", "ValidationExceptionType": "HARVEST_JOB_INELIGIBLE_FOR_CANCELLATION"},
            FINISHED_MEANWHILE,
        ),
        ("AccessDeniedException", 403, None, STOP_FAILED),
        ("InternalServerException", 500, None, STOP_FAILED),
    ],
)
def test_delete_succeeds_whatever_the_cancel_answers(
    answers: list[dict[str, Any]],
    v2_stub: Stubber,
    caplog: pytest.LogCaptureFixture,
    code: str,
    status: int,
    fields: Any,
    logged: str,
) -> None:
    v2_stub.add_response("get_harvest_job", v2_job(status="IN_PROGRESS"), v2_get_params())
    v2_stub.add_client_error("cancel_harvest_job", code, "no", status, modeled_fields=fields)

    answer = invoke(entry.handler, answers, v2_event("Delete", physical_id=V2_GENERATED))

    assert (answer["Status"], answer["Reason"]) == ("SUCCESS", "")
    assert logged in caplog.text


def test_delete_of_an_unknown_job_does_nothing_more(answers: list[dict[str, Any]], v2_stub: Stubber) -> None:
    made_up = answering.made_up_physical_id(v2_event("Create"))
    v2_stub.add_client_error(
        "get_harvest_job",
        "ResourceNotFoundException",
        "no such job",
        404,
        expected_params=v2_get_params(made_up),
    )

    assert invoke(entry.handler, answers, v2_event("Delete", physical_id=made_up))["Status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("props", "physical_id"),
    [
        (None, V2_GENERATED),
        ({"ServiceToken": "x"}, V2_GENERATED),
        (v2_properties(ChannelName="bad name"), V2_GENERATED),
        (v2_properties(), "not a name!"),
    ],
    ids=["no-properties", "no-address", "bad-address", "bad-physical-id"],
)
def test_delete_with_nothing_to_look_up_makes_no_call(
    answers: list[dict[str, Any]], v2_stub: Stubber, props: Any, physical_id: str
) -> None:
    body = v2_event("Delete", props, physical_id=physical_id)
    if props is None:
        del body["ResourceProperties"]

    answer = invoke(entry.handler, answers, body)

    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", physical_id)


def test_the_answer_fits_with_names_of_256_characters(
    answers: list[dict[str, Any]], v2_stub: Stubber
) -> None:
    long = {"ChannelGroupName": "g" * 256, "ChannelName": "c" * 256, "OriginEndpointName": "e" * 256}
    name = "n" * 256
    body = v2_event("Create", v2_properties(**long, HarvestJobName=name))
    body["StackId"] = STACK_ID.replace("HarvestStack", "S" * 128)
    body["LogicalResourceId"] = "L" * 255
    token = answering.request_token(body)
    record = {**v2_job(name), **long, "Arn": "arn:aws:mediapackagev2:us-east-1:123456789012:" + "x" * 1100}
    v2_stub.add_response("create_harvest_job", record, {**create_params(name, token), **long})

    answer = invoke(entry.handler, answers, body)

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["Data"]["HarvestJobName"] == name
