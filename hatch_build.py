"""Hatch build hook: the wheel carries the Lambda handler package from lambda/ inside the library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        package = Path(self.root, "lambda", "mediapackage_harvest_handler")
        for module in sorted(package.glob("*.py")):
            target = f"cdk_mediapackage_harvest/_handler/{package.name}/{module.name}"
            build_data["force_include"][str(module)] = target
