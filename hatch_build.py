"""Hatch build hook: the wheel carries the Lambda handler from lambda/ inside the package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        for handler in sorted(Path(self.root, "lambda").glob("*.py")):
            build_data["force_include"][str(handler)] = f"cdk_mediapackage_harvest/_handler/{handler.name}"
