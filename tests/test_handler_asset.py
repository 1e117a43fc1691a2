"""The handler as Lambda runs it: from the asset folder alone, beside boto3, without the CDK."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cdk_mediapackage_harvest._asset import HANDLER_MODULE, HANDLER_PACKAGE, build_asset
from mediapackage_harvest_handler import crhelper_resource

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "lambda" / HANDLER_PACKAGE
MAX_MODULE_LINES = 350

PROBE = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
import {module} as handler
modules = {{name: getattr(sys.modules.get(name), "__file__", None) for name in
           ("{module}", "crhelper", "cdk_mediapackage_harvest_contract", "cdk_mediapackage_harvest_rules")}}
print(json.dumps({{
    "files": modules,
    "cdk": sorted(name for name in sys.modules
                  if name.split(".")[0] in ("aws_cdk", "jsii", "cdk_mediapackage_harvest")),
    "entry": callable(handler.handler),
    "sleep_on_delete": handler.helper._sleep_on_delete,
    "crhelper_clients": [name for name in ("_lambda_client", "_events_client", "_logs_client")
                         if hasattr(handler.helper, name)],
    "sam_local": os.environ.get("AWS_SAM_LOCAL"),
    "helper_sam_local": handler.helper._sam_local,
    "init_failed": repr(handler.helper._init_failed),
}}))
"""


@pytest.mark.parametrize("sam_local", [None, "1"], ids=["lambda", "under-sam-local"])
def test_the_asset_imports_on_its_own_without_the_cdk_and_builds_no_client(
    tmp_path: Path, sam_local: str | None
) -> None:
    build_asset(tmp_path)
    # No region and no credentials: crhelper's constructor would fail to build its clients (and
    # then fail every event); the handler builds none at import.
    env = {"PATH": "/usr/bin:/bin", **({"AWS_SAM_LOCAL": sam_local} if sam_local else {})}
    result = subprocess.run(
        [sys.executable, "-I", "-c", PROBE.format(module=HANDLER_MODULE), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=120,
    )
    probe = json.loads(result.stdout)

    assert probe["entry"] is True
    assert probe["cdk"] == [], "the handler must not import aws-cdk-lib, jsii or the construct library"
    assert probe["sleep_on_delete"] == 0
    assert probe["crhelper_clients"] == [], "crhelper's lambda, events and logs clients are never used"
    assert probe["init_failed"] == "None"
    assert probe["sam_local"] == sam_local, "the handler leaves the environment as it found it"
    assert probe["helper_sam_local"] is None, "waiting and polling work under sam local too"
    for name, file in probe["files"].items():
        assert file is not None, name
        assert Path(file).resolve().is_relative_to(tmp_path.resolve()), f"{name} came from {file}"


def test_the_installed_crhelper_is_the_version_whose_private_state_was_checked() -> None:
    assert importlib.metadata.version("crhelper") == crhelper_resource.CHECKED_CRHELPER_VERSION, (
        "crhelper_resource.py relies on crhelper's private names: check each one it lists against "
        "the new version, then update CHECKED_CRHELPER_VERSION"
    )


def _imports(tree: ast.AST) -> set[str]:
    """The modules of the handler package imported under ``tree``."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(HANDLER_PACKAGE):
            if node.module == HANDLER_PACKAGE:
                found.update(alias.name for alias in node.names)
            else:
                found.add(node.module.removeprefix(f"{HANDLER_PACKAGE}."))
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.removeprefix(f"{HANDLER_PACKAGE}.")
                for alias in node.names
                if alias.name.startswith(f"{HANDLER_PACKAGE}.")
            )
    return found


def _run_time_imports(path: Path) -> set[str]:
    """What ``path`` imports when it runs: everything but the ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text())
    typing_only = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
    ]
    return _imports(tree) - set().union(*(_imports(block) for block in typing_only))


def test_the_handler_package_imports_one_way_in_small_modules() -> None:
    """entry; notifications; crhelper_resource and lifecycle; poll_rules, jobs_v1 and jobs_v2;
    notices_v1; waiting and requests_v2; answering and log_streams; outbound."""
    layers = [
        {"entry"},
        {"notifications"},
        {"crhelper_resource", "lifecycle"},
        {"jobs_v1", "jobs_v2", "poll_rules"},
        {"notices_v1"},
        {"waiting", "requests_v2"},
        {"answering", "log_streams"},
        {"outbound"},
    ]
    layer_of = {module: depth for depth, modules in enumerate(layers) for module in modules}
    modules = sorted(path for path in PACKAGE_DIR.glob("*.py") if path.name != "__init__.py")
    assert {path.stem for path in modules} == set(layer_of)
    for path in modules:
        text = path.read_text()
        assert text.startswith('"""'), f"{path.name} opens with a docstring saying what it owns"
        assert len(text.splitlines()) <= MAX_MODULE_LINES, path.name
        for imported in _run_time_imports(path):
            assert layer_of[imported] > layer_of[path.stem], f"{path.stem} imports {imported}"
    everything = set().union(*(_imports(ast.parse(path.read_text())) for path in modules))
    assert "entry" not in everything, "nothing imports the entry point"
    assert _imports(ast.parse((PACKAGE_DIR / "__init__.py").read_text())) == set()
