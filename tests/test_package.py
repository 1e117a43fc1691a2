"""The distribution: an sdist and a wheel built offline, their contents and metadata, and the
installed wheel synthesizing a stack on its own, outside this repository, without Docker."""

from __future__ import annotations

import email.parser
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from email.message import Message
from pathlib import Path

import cdk_mediapackage_harvest
import cdk_mediapackage_harvest_contract as contract
import pytest
from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parents[1]
HANDLER_PACKAGE = REPO_ROOT / "lambda" / "mediapackage_harvest_handler"
HANDLER_MODULES = sorted(path.name for path in HANDLER_PACKAGE.glob("*.py"))
IN_THE_SDIST = {
    "constructs/src/cdk_mediapackage_harvest/__init__.py",
    "constructs/src/cdk_mediapackage_harvest/_asset.py",
    "constructs/src/cdk_mediapackage_harvest/_provider.py",
    "constructs/src/cdk_mediapackage_harvest/harvest_job.py",
    "constructs/src/cdk_mediapackage_harvest/py.typed",
    "constructs/src/cdk_mediapackage_harvest_contract.py",
    "constructs/src/cdk_mediapackage_harvest_rules.py",
    *(f"lambda/mediapackage_harvest_handler/{name}" for name in HANDLER_MODULES),
    "hatch_build.py",
    "pyproject.toml",
    "README.md",
    "docs/PACKAGE.md",
    "LICENSE",
    "CHANGELOG.md",
    "PKG-INFO",
}
NOT_IN_THE_SDIST = ("tests/", ".venv/", "node_modules/", "cdk.out/", "bench/", ".git/", "dist/")
IN_THE_WHEEL = {
    "cdk_mediapackage_harvest/__init__.py",
    "cdk_mediapackage_harvest/_asset.py",
    "cdk_mediapackage_harvest/_provider.py",
    "cdk_mediapackage_harvest/harvest_job.py",
    "cdk_mediapackage_harvest/py.typed",
    "cdk_mediapackage_harvest_contract.py",
    "cdk_mediapackage_harvest_rules.py",
    *(f"cdk_mediapackage_harvest/_handler/mediapackage_harvest_handler/{name}" for name in HANDLER_MODULES),
}

# Three jobs, two buckets, and a MediaPackage v2 job: one handler function for all of them. Written
# into an empty folder outside the repository and run by the fresh environment's python.
APP = """
import json
import sys

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

import cdk_mediapackage_harvest
from cdk_mediapackage_harvest import HarvestJob, HarvestJobV2, _asset

app = cdk.App(outdir=sys.argv[1])
stack = cdk.Stack(app, "ClipsStack")
clips = s3.Bucket(stack, "Clips")
archive = s3.Bucket(stack, "Archive")
for name, bucket in (("Opening", clips), ("Goal", clips), ("Final", archive)):
    HarvestJob(
        stack,
        name,
        origin_endpoint_id="live-hls-endpoint",
        start_time="2025-03-01T10:00:00Z",
        end_time="2025-03-01T10:30:00Z",
        destination_bucket=bucket,
        manifest_key=f"clips/{name.lower()}/index.m3u8",
    )
HarvestJobV2(
    stack,
    "Replay",
    channel_group_name="live",
    channel_name="main",
    origin_endpoint_name="hls",
    start_time="2025-03-01T10:00:00Z",
    end_time="2025-03-01T10:30:00Z",
    destination_bucket=archive,
    destination_path="clips/replay/",
    hls_manifest_names=["index"],
)
app.synth()
print(json.dumps({
    "library": cdk_mediapackage_harvest.__file__,
    "handler_dir": str(_asset.handler_source_dir()),
    "sys_path": sys.path,
}))
"""


def run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def build(source: Path, outdir: Path, *kinds: str) -> None:
    # Offline: the build backend (hatchling) comes from this venv, not from an isolated build env.
    run(sys.executable, "-m", "build", "--no-isolation", *kinds, "--outdir", outdir, source)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist and the wheel built from the repository."""
    outdir = tmp_path_factory.mktemp("dist")
    build(REPO_ROOT, outdir, "--sdist", "--wheel")
    (sdist,) = outdir.glob("cdk_mediapackage_harvest-*.tar.gz")
    (wheel,) = outdir.glob("cdk_mediapackage_harvest-*.whl")
    return sdist, wheel


@pytest.fixture(scope="module")
def wheel_from_sdist(dist: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from the unpacked sdist alone: it is complete only if the sdist is."""
    sdist, _ = dist
    unpacked = tmp_path_factory.mktemp("sdist")
    with tarfile.open(sdist) as archive:
        archive.extractall(unpacked, filter="data")
    (source,) = unpacked.iterdir()
    outdir = tmp_path_factory.mktemp("dist-from-sdist")
    build(source, outdir, "--wheel")
    (wheel,) = outdir.glob("cdk_mediapackage_harvest-*.whl")
    return wheel


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        (path,) = (name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(path).decode())


def test_the_sdist_holds_the_sources_and_nothing_of_the_work_tree(dist: tuple[Path, Path]) -> None:
    sdist, _ = dist
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert names >= IN_THE_SDIST, f"missing: {sorted(IN_THE_SDIST - names)}"
    assert not [name for name in names if name.startswith(NOT_IN_THE_SDIST) or "__pycache__" in name]


@pytest.mark.parametrize("source", ["repository", "sdist"])
def test_the_wheel_carries_the_library_the_rules_and_the_handler(
    source: str, dist: tuple[Path, Path], wheel_from_sdist: Path
) -> None:
    names = wheel_names(dist[1] if source == "repository" else wheel_from_sdist)
    assert names >= IN_THE_WHEEL, f"missing: {sorted(IN_THE_WHEEL - names)}"
    assert not [
        name
        for name in names
        if "__pycache__" in name or name.endswith(".pyc") or name.startswith(("tests/", "lambda/", "bench/"))
    ]


def test_the_wheel_built_from_the_sdist_equals_the_one_built_from_the_repository(
    dist: tuple[Path, Path], wheel_from_sdist: Path
) -> None:
    assert wheel_names(wheel_from_sdist) == wheel_names(dist[1])


def test_the_wheel_metadata(dist: tuple[Path, Path]) -> None:
    metadata = wheel_metadata(dist[1])
    assert metadata["Name"] == "cdk-mediapackage-harvest"
    assert metadata["Version"] == cdk_mediapackage_harvest.__version__
    assert dist[1].name == f"cdk_mediapackage_harvest-{cdk_mediapackage_harvest.__version__}-py3-none-any.whl"
    assert metadata["Summary"]
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Description-Content-Type"] == "text/markdown"
    requirements = {
        Requirement(line).name: Requirement(line) for line in metadata.get_all("Requires-Dist") or []
    }
    assert set(requirements) == {"aws-cdk-lib", "constructs", "crhelper"}
    # crhelper exactly: the handler relies on its private state, checked for that version only.
    assert str(requirements.pop("crhelper").specifier) == f"=={contract.CRHELPER_VERSION}"
    for name, requirement in requirements.items():
        # A range, bounded on both sides, that holds the version the tests run with.
        operators = {spec.operator for spec in requirement.specifier}
        assert operators & {">=", ">"}, requirement
        assert operators & {"<", "<="}, requirement
        assert requirement.specifier.contains(importlib.metadata.version(name)), requirement
    classifiers = metadata.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers
    assert "Framework :: AWS CDK :: 2" in classifiers
    assert "Programming Language :: Python :: 3.11" in classifiers


def test_the_wheel_carries_the_package_page_and_the_project_urls(dist: tuple[Path, Path]) -> None:
    """The long description is the page written for users (docs/PACKAGE.md), not the README, and the
    metadata links the project (docs/PACKAGE.md's own links are checked in tests/test_docs.py)."""
    metadata = wheel_metadata(dist[1])
    assert str(metadata.get_payload()).strip() == (REPO_ROOT / "docs" / "PACKAGE.md").read_text().strip()
    urls = dict(entry.split(", ", 1) for entry in metadata.get_all("Project-URL") or [])
    assert set(urls) >= {"Homepage", "Source", "Documentation", "Issues", "Changelog"}
    assert all(url.startswith("https://") for url in urls.values())


def fresh_environment(root: Path, wheel: Path) -> Path:
    """A new virtual environment with the wheel installed, not editable, without the network.

    The dependencies (aws-cdk-lib, constructs, crhelper, jsii) are not downloaded again: a plain
    path line in a ``.pth`` file appends this venv's site-packages to ``sys.path``. Python does not
    process the ``.pth`` files of a directory added that way, so this repository's editable
    install of the library (itself a ``.pth`` file there) stays invisible.
    """
    venv = root / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-index",
        wheel,
    )
    site_packages = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    (site_packages / "project_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv


def test_the_installed_wheel_synthesizes_outside_the_repository_without_docker(
    wheel_from_sdist: Path, tmp_path: Path
) -> None:
    assert not tmp_path.resolve().is_relative_to(REPO_ROOT), "the test must run outside the repository"
    venv = fresh_environment(tmp_path, wheel_from_sdist)
    workdir = tmp_path / "empty"
    workdir.mkdir()
    (tmp_path / "clips_app.py").write_text(APP)
    node = shutil.which("node")
    assert node is not None, "the CDK (jsii) needs node"
    env = {
        "PATH": os.pathsep.join([str(venv / "bin"), str(Path(node).parent), "/usr/bin", "/bin"]),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        # Any Docker fallback fails at once instead of building an image.
        "CDK_DOCKER": "/bin/false",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    output = run(venv / "bin" / "python", tmp_path / "clips_app.py", "cdk.out", cwd=workdir, env=env)
    probe = json.loads(output.strip().splitlines()[-1])

    fresh = venv.resolve()
    assert Path(probe["library"]).resolve().is_relative_to(fresh)
    assert Path(probe["handler_dir"]).resolve().is_relative_to(fresh)
    dependencies = Path(sysconfig.get_path("purelib")).resolve()
    leaks = [
        entry
        for entry in probe["sys_path"]
        if entry and Path(entry).resolve().is_relative_to(REPO_ROOT) and Path(entry).resolve() != dependencies
    ]
    assert leaks == [], "only the dependencies' site-packages may come from the repository's venv"

    outdir = workdir / "cdk.out"
    template = json.loads((outdir / "ClipsStack.template.json").read_text())
    types = [resource["Type"] for resource in template["Resources"].values()]
    assert types.count("AWS::Lambda::Function") == 1
    assert types.count("Custom::MediaPackageHarvestJob") == 3
    assert types.count("Custom::MediaPackageV2HarvestJob") == 1
    assert types.count("AWS::S3::BucketPolicy") == 1  # the archive's: MediaPackage v2 may write there
    (asset,) = (path for path in outdir.iterdir() if path.is_dir() and path.name.startswith("asset."))
    assert (asset / "cdk_mediapackage_harvest_contract.py").is_file()
    assert (asset / "cdk_mediapackage_harvest_rules.py").is_file()
    assert (asset / "crhelper" / "__init__.py").is_file()
    with zipfile.ZipFile(wheel_from_sdist) as archive:
        for name in HANDLER_MODULES:
            packed = archive.read(f"cdk_mediapackage_harvest/_handler/mediapackage_harvest_handler/{name}")
            assert (asset / "mediapackage_harvest_handler" / name).read_bytes() == packed
