"""Pinned dependencies: requirements.lock pins every Python package with its hashes and matches
requirements.txt, the environment the tests run in is exactly the lock, and package-lock.json pins the
CDK CLI that node_modules/ holds."""

from __future__ import annotations

import importlib.metadata
import json
import re
import sysconfig
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PROJECT = "cdk-mediapackage-harvest"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements() -> dict[str, str]:
    """requirements.txt's pins; any line that is not a comment must be one."""
    pins: dict[str, str] = {}
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = PIN.match(line)
            assert match, f"requirements.txt: {line!r} is not pinned with =="
            pins[normalized(match[1])] = match[2]
    return pins


def locked() -> dict[str, tuple[str, int]]:
    """requirements.lock's packages: version and number of hashes."""
    entries: dict[str, tuple[str, int]] = {}
    name = ""
    for line in (REPO_ROOT / "requirements.lock").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("--hash=sha256:"):
            version, hashes = entries[name]
            entries[name] = (version, hashes + 1)
            continue
        match = PIN.match(stripped)
        assert match, f"requirements.lock: {line!r} is neither a pin nor a hash"
        name = normalized(match[1])
        entries[name] = (match[2], 0)
    return entries


def test_the_lock_pins_every_package_with_its_hashes() -> None:
    lock = locked()
    assert len(lock) > len(requirements()), "the lock holds the transitive packages too"
    assert [name for name, (_, hashes) in lock.items() if hashes == 0] == []


def test_the_lock_is_made_from_requirements_txt() -> None:
    """A pin changed in requirements.txt without `make lock` fails here."""
    lock = locked()
    assert {name: lock.get(name, ("missing", 0))[0] for name in requirements()} == requirements()
    for name in ("aws-cdk-lib", "constructs", "crhelper"):  # the library's own, from pyproject.toml
        assert name in lock


def test_the_environment_is_exactly_the_lock() -> None:
    """`make` installed every locked package at its locked version, and nothing else but the library."""
    # Only what is installed: once imported, pkg_resources puts setuptools' vendored packages on sys.path.
    site_packages = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    installed = {
        normalized(distribution.metadata["Name"]): distribution.version
        for distribution in importlib.metadata.distributions(path=site_packages)
    }
    assert installed.pop(normalized(PROJECT)) is not None
    assert installed == {name: version for name, (version, _) in locked().items()}


def test_the_cdk_cli_is_pinned_by_package_lock_json() -> None:
    declared = json.loads((REPO_ROOT / "package.json").read_text())["devDependencies"]
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text())
    assert list(declared) == ["aws-cdk"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", declared["aws-cdk"]), "an exact version, not a range"
    entry = lock["packages"]["node_modules/aws-cdk"]
    assert entry["version"] == declared["aws-cdk"]
    assert entry["integrity"].startswith("sha512-")
    assert set(lock["packages"]) == {"", "node_modules/aws-cdk"}, "the CLI has no dependencies to pin"
    installed = json.loads((REPO_ROOT / "node_modules" / "aws-cdk" / "package.json").read_text())
    assert installed["version"] == declared["aws-cdk"]
