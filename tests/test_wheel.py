"""The wheel carries the handler, and an installed library finds it there, not in this repo."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
from cdk_mediapackage_harvest import _asset
print(_asset.handler_source_dir())
"""


def test_the_wheel_carries_the_handler_and_the_library_finds_it(tmp_path: Path) -> None:
    # Offline: hatchling comes from the venv (requirements.txt) instead of an isolated build env.
    build = ["wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(tmp_path / "dist")]
    subprocess.run(
        [sys.executable, "-m", "pip", *build, str(REPO_ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("cdk_mediapackage_harvest-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    assert "cdk_mediapackage_harvest/_handler/mediapackage_harvest_handler.py" in names
    assert "cdk_mediapackage_harvest_rules.py" in names
    assert "cdk_mediapackage_harvest/py.typed" in names
    assert not any("__pycache__" in name or name.startswith(("tests/", "lambda/")) for name in names)

    found = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "site")],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
        env={"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "PATH": "/usr/bin:/bin"},
    )
    assert Path(found.stdout.strip()) == tmp_path / "site" / "cdk_mediapackage_harvest" / "_handler"
