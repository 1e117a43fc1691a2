"""The local MediaPackage v2 origin endpoints (local_aws/origin_endpoints_v2.py) through a real boto3
``mediapackagev2`` client: create, get, list and delete under a channel of moto's v2 backend, with the
rules a harvest job relies on (container type, manifests, startover window, unique names)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support import ACCOUNT_ID

from local_aws import prerequisites
from local_aws.server import CREDENTIALS, LocalAws

CHANNEL = {"ChannelGroupName": "live", "ChannelName": "main"}


@pytest.fixture
def client(aws: LocalAws) -> Any:
    v2 = aws.mediapackagev2()
    v2.create_channel_group(ChannelGroupName="live")
    v2.create_channel(**CHANNEL)
    return v2


def unvalidated(aws: LocalAws) -> Any:
    return boto3.client(
        "mediapackagev2",
        region_name=aws.region,
        endpoint_url=aws.endpoint_url,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
        config=Config(parameter_validation=False, retries={"total_max_attempts": 1}),
    )


def rejected(call: Callable[[], object], code: str, status: int, *names: str) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    response: dict[str, Any] = dict(caught.value.response)
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == (code, status), (
        response
    )
    for name in names:
        assert name in response["Error"]["Message"]
    return response


def test_create_get_list_delete(aws: LocalAws, client: Any) -> None:
    created = client.create_origin_endpoint(
        **CHANNEL,
        OriginEndpointName="cmaf",
        ContainerType="CMAF",
        StartoverWindowSeconds=7200,
        HlsManifests=[{"ManifestName": "index", "ChildManifestName": "child"}],
        DashManifests=[{"ManifestName": "dash"}],
        Description="for clips",
    )
    arn = (
        f"arn:aws:mediapackagev2:{aws.region}:{ACCOUNT_ID}:channelGroup/live/channel/main/originEndpoint/cmaf"
    )
    assert created["Arn"] == arn
    assert (created["ContainerType"], created["StartoverWindowSeconds"]) == ("CMAF", 7200)
    assert [m["ManifestName"] for m in created["HlsManifests"]] == ["index"]
    assert created["HlsManifests"][0]["Url"].endswith("/live/main/cmaf/index.m3u8")
    assert created["DashManifests"][0]["Url"].endswith("/dash.mpd")
    got = client.get_origin_endpoint(**CHANNEL, OriginEndpointName="cmaf")
    assert {k: got[k] for k in ("Arn", "ETag", "HlsManifests", "Description")} == {
        k: created[k] for k in ("Arn", "ETag", "HlsManifests", "Description")
    }
    client.create_origin_endpoint(**CHANNEL, OriginEndpointName="ts", ContainerType="TS")
    assert [e["OriginEndpointName"] for e in client.list_origin_endpoints(**CHANNEL)["Items"]] == [
        "cmaf",
        "ts",
    ]
    client.delete_origin_endpoint(**CHANNEL, OriginEndpointName="cmaf")
    response = rejected(
        lambda: client.get_origin_endpoint(**CHANNEL, OriginEndpointName="cmaf"),
        "ResourceNotFoundException",
        404,
    )
    assert response["ResourceTypeNotFound"] == "ORIGIN_ENDPOINT"
    assert [e["OriginEndpointName"] for e in client.list_origin_endpoints(**CHANNEL)["Items"]] == ["ts"]


def test_names_are_unique_within_the_channel(client: Any) -> None:
    client.create_origin_endpoint(**CHANNEL, OriginEndpointName="hls", ContainerType="TS")
    response = rejected(
        lambda: client.create_origin_endpoint(**CHANNEL, OriginEndpointName="hls", ContainerType="CMAF"),
        "ConflictException",
        409,
        "hls",
    )
    assert response["ConflictExceptionType"] == "RESOURCE_ALREADY_EXISTS"
    client.create_channel(ChannelGroupName="live", ChannelName="backup")
    client.create_origin_endpoint(
        ChannelGroupName="live", ChannelName="backup", OriginEndpointName="hls", ContainerType="TS"
    )


@pytest.mark.parametrize(
    ("changes", "kind", "mentioned"),
    [
        pytest.param({"ContainerType": "ISM"}, "MEMBER_INVALID_ENUM_VALUE", "ContainerType", id="ism"),
        pytest.param(
            {"ContainerType": None}, "MEMBER_INVALID_ENUM_VALUE", "ContainerType", id="no-container"
        ),
        pytest.param({"OriginEndpointName": "a.b"}, "MEMBER_DOES_NOT_MATCH_PATTERN", "a.b", id="name-dot"),
        pytest.param(
            {"StartoverWindowSeconds": 1209601},
            "MEMBER_MAX_VALUE",
            "StartoverWindowSeconds",
            id="startover-15d",
        ),
        pytest.param(
            {"StartoverWindowSeconds": -1},
            "MEMBER_MAX_VALUE",
            "StartoverWindowSeconds",
            id="startover-negative",
        ),
        pytest.param(
            {"DashManifests": [{"ManifestName": "d"}]},
            "TS_CONTAINER_TYPE_WITH_DASH_MANIFEST",
            "TS",
            id="ts-dash",
        ),
        pytest.param(
            {"HlsManifests": [{"ManifestName": "x"}], "LowLatencyHlsManifests": [{"ManifestName": "x"}]},
            "MANIFEST_NAME_COLLISION",
            "'x'",
            id="manifest-collision",
        ),
        pytest.param(
            {"HlsManifests": [{"ManifestName": f"m{n}"} for n in range(26)]},
            "NUM_MANIFESTS_HIGH",
            "25",
            id="26-manifests",
        ),
    ],
)
def test_endpoint_rules(
    aws: LocalAws, client: Any, changes: dict[str, Any], kind: str, mentioned: str
) -> None:
    request = {**CHANNEL, "OriginEndpointName": "hls", "ContainerType": "TS"} | changes
    response = rejected(
        lambda: unvalidated(aws).create_origin_endpoint(
            **{k: v for k, v in request.items() if v is not None}
        ),
        "ValidationException",
        400,
        mentioned,
    )
    assert response["ValidationExceptionType"] == kind
    assert client.list_origin_endpoints(**CHANNEL)["Items"] == []


def test_missing_channel_group_and_channel_are_not_found(aws: LocalAws) -> None:
    client = aws.mediapackagev2()
    response = rejected(
        lambda: client.create_origin_endpoint(**CHANNEL, OriginEndpointName="hls", ContainerType="TS"),
        "ResourceNotFoundException",
        404,
        "live",
    )
    assert response["ResourceTypeNotFound"] == "CHANNEL_GROUP"
    client.create_channel_group(ChannelGroupName="live")
    response = rejected(
        lambda: client.list_origin_endpoints(**CHANNEL), "ResourceNotFoundException", 404, "main"
    )
    assert response["ResourceTypeNotFound"] == "CHANNEL"


def test_create_v2_makes_what_a_harvest_job_needs(aws: LocalAws) -> None:
    setup = prerequisites.create_v2(aws, startover_seconds=3600)
    again = prerequisites.create_v2(aws, origin_endpoint_name="hls-2", bucket="second-bucket", allow=False)
    client = aws.mediapackagev2()
    endpoint = client.get_origin_endpoint(**CHANNEL, OriginEndpointName="hls")
    assert (endpoint["Arn"], endpoint["StartoverWindowSeconds"]) == (setup.origin_endpoint_arn, 3600)
    assert [m["ManifestName"] for m in endpoint["HlsManifests"]] == [setup.manifest_name]
    assert again.origin_endpoint_arn.endswith("/originEndpoint/hls-2")
    s3 = aws.client("s3")
    assert json.loads(s3.get_bucket_policy(Bucket=setup.bucket)["Policy"])["Statement"]
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket="second-bucket")
