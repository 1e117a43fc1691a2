"""The handler as Lambda runs it: from the asset folder alone, beside boto3, without the CDK."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cdk_mediapackage_harvest._asset import HANDLER_MODULE, build_asset

PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import {module} as handler
modules = {{name: getattr(sys.modules.get(name), "__file__", None) for name in
           ("{module}", "crhelper", "cdk_mediapackage_harvest_rules")}}
print(json.dumps({{
    "files": modules,
    "cdk": sorted(name for name in sys.modules
                  if name.split(".")[0] in ("aws_cdk", "jsii", "cdk_mediapackage_harvest")),
    "entry": callable(handler.handler),
    "sleep_on_delete": handler.helper._sleep_on_delete,
}}))
"""


def test_the_asset_imports_on_its_own_without_the_cdk(tmp_path: Path) -> None:
    build_asset(tmp_path)
    result = subprocess.run(
        [sys.executable, "-I", "-c", PROBE.format(module=HANDLER_MODULE), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        env={"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    probe = json.loads(result.stdout)

    assert probe["entry"] is True
    assert probe["cdk"] == [], "the handler must not import aws-cdk-lib, jsii or the construct library"
    assert probe["sleep_on_delete"] == 0
    for name, file in probe["files"].items():
        assert file is not None, name
        assert Path(file).resolve().is_relative_to(tmp_path.resolve()), f"{name} came from {file}"
