"""The MediaPackage v2 harvest-job API on moto's server: ``CreateHarvestJob``, ``GetHarvestJob``,
``CancelHarvestJob`` and ``ListHarvestJobs`` parsed and serialized from botocore's ``mediapackagev2`` model
by moto, answered by :data:`local_aws.harvest_jobs_v2.STORE`; and :func:`install`, which routes them and
the origin endpoints of :mod:`local_aws.origin_endpoints_v2` in moto's MediaPackage v2 app.

``ListHarvestJobs`` filters by channel, origin endpoint and status (all optional) within the channel
group in the path, in creation order, pages of ``MaxResults`` 1 to 100 (100 by default) with an opaque
``NextToken``; a bad status, page size or token is a ``ValidationException``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

from moto.core.responses import ActionResult, BaseResponse, EmptyResult
from moto.mediapackagev2 import urls as v2_urls

from local_aws.harvest_jobs_v2 import STATUSES, STORE
from local_aws.origin_endpoints_v2 import OriginEndpointResponse, Validation, channel_group

MAX_PAGE_SIZE = 100


class HarvestJobV2Response(BaseResponse):
    """The four harvest job operations, parsed and serialized from botocore's model by moto."""

    def __init__(self) -> None:
        super().__init__(service_name="mediapackagev2")
        self.automated_parameter_parsing = True

    def _names(self) -> tuple[str, str, str, str]:
        group, channel_name = self._get_param("ChannelGroupName"), self._get_param("ChannelName")
        return group, channel_name, self._get_param("OriginEndpointName"), self._get_param("HarvestJobName")

    def create_harvest_job(self) -> ActionResult:
        members = (
            "ChannelGroupName",
            "ChannelName",
            "OriginEndpointName",
            "Description",
            "HarvestedManifests",
            "ScheduleConfiguration",
            "Destination",
            "ClientToken",
            "HarvestJobName",
            "Tags",
        )
        request = {m: v for m in members if (v := self._get_param(m)) is not None}
        job = STORE.create(self.current_account, self.region, request)
        time.sleep(STORE.settings.create_answer_delay)
        return ActionResult(job)

    def get_harvest_job(self) -> ActionResult:
        return ActionResult(STORE.get(self.current_account, self.region, self._names()))

    def cancel_harvest_job(self) -> ActionResult:
        STORE.cancel(self.current_account, self.region, self._names(), self._get_param("ETag"))
        return EmptyResult()

    def list_harvest_jobs(self) -> ActionResult:
        group = self._get_param("ChannelGroupName")
        channel_group(self.current_account, self.region, group)
        status = self._get_param("Status")
        if status not in (None, *STATUSES):
            raise Validation(
                f"Status {status!r}: expected one of {', '.join(STATUSES)}", "MEMBER_INVALID_ENUM_VALUE"
            )
        limit = self._get_param("MaxResults")
        limit = MAX_PAGE_SIZE if limit is None else limit
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise Validation(
                f"MaxResults {limit}: expected 1 to {MAX_PAGE_SIZE}", "INVALID_PAGINATION_MAX_RESULTS"
            )
        filters = {
            "ChannelGroupName": group,
            "ChannelName": self._get_param("ChannelName"),
            "OriginEndpointName": self._get_param("OriginEndpointName"),
            "Status": status,
        }
        jobs = STORE.list(self.current_account, self.region, filters)
        start = _page_start(self._get_param("NextToken"))
        page: dict[str, Any] = {"Items": jobs[start : start + limit]}
        if start + limit < len(jobs):
            page["NextToken"] = base64.urlsafe_b64encode(
                json.dumps({"offset": start + limit}).encode()
            ).decode()
        return ActionResult(page)


def install() -> None:
    """Route v2 origin endpoints and harvest jobs in moto's app; call before its first v2 request."""
    channel_path = "{0}/channelGroup/(?P<ChannelGroupName>[^/]+)/channel/(?P<ChannelName>[^/]+)"
    endpoint_path = f"{channel_path}/originEndpoint/(?P<OriginEndpointName>[^/]+)"
    v2_urls.url_paths[f"{channel_path}/originEndpoint$"] = OriginEndpointResponse.dispatch
    v2_urls.url_paths[f"{endpoint_path}$"] = OriginEndpointResponse.dispatch
    v2_urls.url_paths[f"{endpoint_path}/harvestJob$"] = HarvestJobV2Response.dispatch
    v2_urls.url_paths[f"{endpoint_path}/harvestJob/(?P<HarvestJobName>[^/]+)$"] = (
        HarvestJobV2Response.dispatch
    )
    v2_urls.url_paths["{0}/channelGroup/(?P<ChannelGroupName>[^/]+)/harvestJob$"] = (
        HarvestJobV2Response.dispatch
    )


def _page_start(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        offset = None
    if not isinstance(offset, int) or offset < 0:
        raise Validation(f"NextToken {token!r}: not a token this API returned", "INVALID_PAGINATION_TOKEN")
    return offset
