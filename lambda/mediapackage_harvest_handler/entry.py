"""The Lambda entry point (``Handler``: ``mediapackage_harvest_handler.entry.handler``), thin.

Each crhelper entry point returns the lifecycle's decision; the only module-level state is the
crhelper instance. A MediaPackage notification is handled first (``notifications``), and runs as a
poll when a wait is on its job. Imports ``notifications``, ``crhelper_resource`` and ``lifecycle``;
nothing imports this module.
"""

from __future__ import annotations

from typing import Any

from mediapackage_harvest_handler import lifecycle, notifications
from mediapackage_harvest_handler.crhelper_resource import HarvestJobResource
from mediapackage_harvest_handler.lifecycle import Decision

# sleep_on_delete=0: crhelper would otherwise sleep 120 s before answering every Delete.
helper = HarvestJobResource(json_logging=True, log_level="INFO", boto_level="ERROR", sleep_on_delete=0)


@helper.on("create")
def create(event: dict[str, Any], context: object) -> Decision:
    return lifecycle.create(event, context)


@helper.on("update")
def update(event: dict[str, Any], context: object) -> Decision:
    return lifecycle.update(event, context)


@helper.on("delete")
def delete(event: dict[str, Any], context: object) -> Decision:
    return lifecycle.delete(event, context)


@helper.on("poll_create", "poll_update")
def poll(event: dict[str, Any], context: object) -> Decision:
    return lifecycle.poll(event, context)


def handler(event: Any, context: object) -> None:
    """The Lambda entry point: any event, answered once or, when it has no ResponseURL, logged; a
    notification is recorded, and looked into when the stack waits for its job."""
    if notifications.is_notification(event):
        helper.log_as("Notification", context)
        polled = notifications.handle(event)
        if polled is None:
            return
        event = polled
    helper(event, context)
