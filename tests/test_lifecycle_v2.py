"""``HarvestJobV2``'s custom resource for real: the example app's ``HarvestV2Stack``, its handler from the
asset that synthesis produced (run in its own process, like Lambda), crhelper's HTTPS PUT to a
ResponseURL on loopback, and the local MediaPackage v2. The bucket's policy is the template's own,
resolved and put on the local bucket, so the local MediaPackage v2 judges the statement the construct
wrote. Each test checks the exact body CloudFormation receives and the job on the endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cdk_mediapackage_harvest_contract as contract
import cdk_mediapackage_harvest_rules as rules
import pytest
from mediapackage_harvest_handler import answering
from support import Stack, assert_answer, recent_window

from local_aws import cloudformation, demo_v2, prerequisites
from local_aws.server import LocalAws

BUCKET = "harvest-v2-clips"
NAMES = ("ChannelGroupName", "ChannelName", "OriginEndpointName")


@pytest.fixture
def stack_v2(example_assembly: Path, aws: LocalAws, tmp_path: Path) -> Iterator[Stack]:
    """HarvestV2Stack's job on the local AWS: its endpoint made from its names, its bucket with the
    template's policy, and a ResponseURL server of its own."""
    assembly = cloudformation.Assembly(example_assembly, "HarvestV2Stack")
    ((_, resource),) = assembly.resources(contract.RESOURCE_TYPE_V2).items()
    names = {key: resource["Properties"][key] for key in NAMES}
    prerequisites.create_v2(
        aws,
        channel_group_name=names["ChannelGroupName"],
        channel_name=names["ChannelName"],
        origin_endpoint_name=names["OriginEndpointName"],
        manifest_name=resource["Properties"]["HlsManifestNames"][0],
        bucket=BUCKET,
        allow=False,
    )
    bucket_id = resource["Properties"]["S3Destination"]["BucketName"]["Ref"]
    refs = {bucket_id: BUCKET}
    demo_v2.apply_bucket_policies(assembly, aws, refs, {(bucket_id, "Arn"): f"arn:aws:s3:::{BUCKET}"})
    aws.harvest_v2.queue_delay = 0.1
    aws.harvest_v2.completion_delay = 1.0
    with cloudformation.ResponseServer(tmp_path) as responses:
        yield Stack(assembly, aws, responses, resource_type=contract.RESOURCE_TYPE_V2)


def properties(stack: Stack, *, wait: bool = True, **changes: Any) -> dict[str, Any]:
    """The synthesized properties resolved locally, with a window that ended a minute ago."""
    bucket_id = stack.template_properties["S3Destination"]["BucketName"]["Ref"]
    token_id = stack.template_properties["ServiceToken"]["Fn::GetAtt"][0]
    resolved: dict[str, Any] = cloudformation.resolve(
        stack.template_properties, {bucket_id: BUCKET}, {(token_id, "Arn"): stack.function.arn}
    )
    start, end = recent_window()
    resolved.update(StartTime=start, EndTime=end)
    if not wait:
        resolved["WaitForCompletion"] = False
        resolved.pop("CompletionTimeout", None)
    resolved.update(changes)
    return resolved


def get_job(aws: LocalAws, props: dict[str, Any], name: str) -> dict[str, Any]:
    job: dict[str, Any] = aws.mediapackagev2().get_harvest_job(
        **{key: props[key] for key in NAMES}, HarvestJobName=name
    )
    return job


def job_names(aws: LocalAws, props: dict[str, Any]) -> list[str]:
    listed = aws.mediapackagev2().list_harvest_jobs(ChannelGroupName=props["ChannelGroupName"])
    return sorted(job["HarvestJobName"] for job in listed["Items"])


def expected_data(job: dict[str, Any], status: str) -> dict[str, str]:
    """The attributes the handler answers for ``job`` (times as ISO-8601 UTC with a Z)."""
    schedule = job["ScheduleConfiguration"]
    return {
        "Arn": job["Arn"],
        "HarvestJobName": job["HarvestJobName"],
        "Status": status,
        "CreatedAt": rules.format_time(job["CreatedAt"]),
        "StartTime": rules.format_time(schedule["StartTime"]),
        "EndTime": rules.format_time(schedule["EndTime"]),
    }


def test_a_waiting_create_answers_completed_once_and_a_redelivery_adopts_the_job(
    stack_v2: Stack, aws: LocalAws
) -> None:
    props = properties(stack_v2)
    create = stack_v2.event("Create", props)
    name = stack_v2.job_id(create)
    delivery = stack_v2.deliver(create)
    job = get_job(aws, props, name)
    assert job["Status"] == "COMPLETED"
    assert_answer(delivery, "SUCCESS", physical_id=name, data=expected_data(job, "COMPLETED"))
    listing = aws.client("s3").list_objects_v2(
        Bucket=BUCKET, Prefix=props["S3Destination"]["DestinationPath"]
    )
    assert [entry["Key"].rsplit("/", 1)[-1] for entry in listing["Contents"]] == [
        "index.m3u8",
        "index_1.m3u8",
    ]

    # The same request again (Lambda's retry, or CloudFormation's redelivery): the same job, no second one.
    again = stack_v2.function.invoke(create, invocation_id=create["RequestId"] + "-again")
    assert again.returncode == 0, again.logs
    answers = stack_v2.answered(create).answers
    assert len(answers) == 2
    assert answers[1].body["PhysicalResourceId"] == name
    assert answers[1].body["Status"] == "SUCCESS"
    assert job_names(aws, props) == [name]


def test_updates_keep_or_replace_the_job_and_a_rollback_keeps_the_old_one(
    stack_v2: Stack, aws: LocalAws
) -> None:
    props = properties(stack_v2, wait=False)
    create = stack_v2.event("Create", props)
    name = stack_v2.job_id(create)
    assert stack_v2.deliver(create).body["PhysicalResourceId"] == name

    # Only the ServiceToken changed (a new handler), and the tags' order: the job is kept.
    kept = dict(props, ServiceToken=props["ServiceToken"] + "-new", Tags={"b": "2", "a": "1"})
    old = dict(props, Tags={"a": "1", "b": "2"})
    first = stack_v2.event("Create", old)
    stack_v2.deliver(first)
    first_name = stack_v2.job_id(first)
    update = stack_v2.event("Update", kept, physical_id=first_name, old_properties=old)
    body = stack_v2.deliver(update).body
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", first_name)

    # A harvest property changed: a new job with a new name.
    moved = dict(props, S3Destination={**props["S3Destination"], "DestinationPath": "clips/moved/"})
    replace = stack_v2.event("Update", moved, physical_id=name, old_properties=props)
    body = stack_v2.deliver(replace).body
    new_name = stack_v2.job_id(replace)
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", new_name)
    assert new_name != name
    assert get_job(aws, moved, new_name)["Destination"]["S3Destination"]["DestinationPath"] == "clips/moved/"

    # Rollback: CloudFormation sends the old properties with the old physical id; the old job is kept.
    rollback = stack_v2.event("Update", props, physical_id=name, old_properties=moved)
    body = stack_v2.deliver(rollback).body
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", name)
    assert sorted(job_names(aws, props)) == sorted([name, first_name, new_name])


def test_delete_cancels_a_running_job_and_leaves_a_finished_one(stack_v2: Stack, aws: LocalAws) -> None:
    aws.harvest_v2.completion_delay = 600
    props = properties(stack_v2, wait=False)
    create = stack_v2.event("Create", props)
    name = stack_v2.job_id(create)
    stack_v2.deliver(create)
    delete = stack_v2.event("Delete", props, physical_id=name)
    assert_answer(stack_v2.deliver(delete), "SUCCESS", physical_id=name)
    assert get_job(aws, props, name)["Status"] == "CANCELLED"

    aws.harvest_v2.completion_delay = 0.5
    done = stack_v2.event("Create", properties(stack_v2))
    done_name = stack_v2.job_id(done)
    assert stack_v2.deliver(done).body["Data"]["Status"] == "COMPLETED"
    delete = stack_v2.event("Delete", props, physical_id=done_name)
    assert_answer(stack_v2.deliver(delete), "SUCCESS", physical_id=done_name)
    assert get_job(aws, props, done_name)["Status"] == "COMPLETED"


def test_a_failed_job_fails_the_create_with_mediapackages_error_message_then_rolls_back(
    stack_v2: Stack, aws: LocalAws
) -> None:
    aws.client("s3").delete_bucket_policy(Bucket=BUCKET)  # MediaPackage v2 may no longer write there
    props = properties(stack_v2)
    create = stack_v2.event("Create", props)
    name = stack_v2.job_id(create)
    body = stack_v2.deliver(create).body
    job = get_job(aws, props, name)
    assert job["Status"] == "FAILED"
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", name)
    assert body["Reason"] == answering.reason(f"Harvest job {name} failed: {job['ErrorMessage']}")
    assert "mediapackagev2.amazonaws.com" in job["ErrorMessage"]
    # The rollback's Delete of the failed resource succeeds.
    delete = stack_v2.event("Delete", props, physical_id=body["PhysicalResourceId"])
    assert_answer(stack_v2.deliver(delete), "SUCCESS", physical_id=name)
