"""The handler's Lambda asset, bundled for real (locally, without Docker or network)."""

from __future__ import annotations

import importlib.metadata
import json
import shutil
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cdk_mediapackage_harvest import HarvestJob, _asset

REPO_ROOT = Path(__file__).resolve().parents[1]
HANDLER = "mediapackage_harvest_handler/entry.py"
HANDLER_MODULES = sorted(
    path.name for path in (REPO_ROOT / "lambda" / "mediapackage_harvest_handler").glob("*.py")
)
SHARED = ("cdk_mediapackage_harvest_contract.py", "cdk_mediapackage_harvest_rules.py")
CRHELPER_VERSION = importlib.metadata.version("crhelper")


def synth_asset(outdir: Path) -> tuple[str, Path]:
    """Synthesize a stack with one job, bundling included; the handler asset's hash and folder."""
    # CDK caches staged assets per process: clear it so that every synth really bundles.
    cdk.AssetStaging.clear_asset_hash_cache()
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "AssetStack")
    HarvestJob(
        stack,
        "Job",
        origin_endpoint_id="my-hls-endpoint",
        start_time="2025-03-01T10:00:00Z",
        end_time="2025-03-01T10:30:00Z",
        destination_bucket=s3.Bucket(stack, "Bucket"),
        manifest_key="clips/index.m3u8",
    )
    app.synth()
    template = json.loads((outdir / "AssetStack.template.json").read_text())
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 1
    object_key: str = functions[0]["Properties"]["Code"]["S3Key"]
    manifest = json.loads((outdir / "AssetStack.assets.json").read_text())
    hashes = [
        asset_hash
        for asset_hash, asset in manifest["files"].items()
        if object_key in {d["objectKey"] for d in asset["destinations"].values()}
    ]
    assert len(hashes) == 1
    source = manifest["files"][hashes[0]]["source"]
    assert source["packaging"] == "zip"
    folder = outdir / source["path"]
    assert folder.is_dir()
    return hashes[0], folder


def copy_of_lambda_dir(target: Path) -> Path:
    shutil.copytree(REPO_ROOT / "lambda", target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    return synth_asset(tmp_path_factory.mktemp("reference"))


def test_handler_source_dir_is_the_repos_lambda_folder() -> None:
    found = _asset.handler_source_dir()
    assert found.resolve() == (REPO_ROOT / "lambda").resolve()
    assert (found / HANDLER).is_file()


def test_asset_holds_the_handler_package_the_shared_modules_and_crhelper(reference: tuple[str, Path]) -> None:
    _, folder = reference
    files = {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}
    assert {f"mediapackage_harvest_handler/{name}" for name in HANDLER_MODULES} <= files
    assert set(SHARED) <= files
    assert f"crhelper-{CRHELPER_VERSION}.dist-info/METADATA" in files
    crhelper_sources = {name for name in files if name.startswith("crhelper/")}
    assert {"crhelper/__init__.py", "crhelper/resource_helper.py"} <= crhelper_sources
    assert all(name.endswith(".py") for name in crhelper_sources)
    assert not [name for name in files if "__pycache__" in name or name.endswith(".pyc")]
    for name in HANDLER_MODULES:
        module = f"mediapackage_harvest_handler/{name}"
        assert (folder / module).read_bytes() == (REPO_ROOT / "lambda" / module).read_bytes()
    for name in SHARED:
        assert (folder / name).read_bytes() == (REPO_ROOT / "constructs" / "src" / name).read_bytes()
    metadata = (folder / f"crhelper-{CRHELPER_VERSION}.dist-info" / "METADATA").read_text()
    assert f"Version: {CRHELPER_VERSION}" in metadata


def test_asset_leaves_out_bytecode_from_the_handler_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = copy_of_lambda_dir(tmp_path / "lambda")
    cache = source / "mediapackage_harvest_handler" / "__pycache__"
    cache.mkdir()
    (cache / "entry.cpython-311.pyc").write_bytes(b"\x00stale bytecode")
    (source / "mediapackage_harvest_handler" / "stray.pyc").write_bytes(b"\x00stale bytecode")
    monkeypatch.setattr(_asset, "handler_source_dir", lambda: source)
    _, folder = synth_asset(tmp_path / "out")
    assert (folder / HANDLER).is_file()
    assert not [path for path in folder.rglob("*") if "__pycache__" in path.parts or path.suffix == ".pyc"]


def test_two_synths_give_the_same_hash(reference: tuple[str, Path], tmp_path: Path) -> None:
    asset_hash, _ = synth_asset(tmp_path)
    assert asset_hash == reference[0]


def test_changed_handler_changes_the_hash(
    reference: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = copy_of_lambda_dir(tmp_path / "lambda")
    handler = source / HANDLER
    text = handler.read_bytes()
    handler.write_bytes(text + b"#")
    monkeypatch.setattr(_asset, "handler_source_dir", lambda: source)
    asset_hash, folder = synth_asset(tmp_path / "out")
    assert (folder / HANDLER).read_bytes() == text + b"#"
    assert asset_hash != reference[0]


def test_unchanged_copy_of_the_handler_keeps_the_hash(
    reference: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hash follows the content, not where the handler's folder is."""
    source = copy_of_lambda_dir(tmp_path / "lambda")
    monkeypatch.setattr(_asset, "handler_source_dir", lambda: source)
    asset_hash, _ = synth_asset(tmp_path / "out")
    assert asset_hash == reference[0]


def test_changed_crhelper_changes_the_hash(
    reference: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crhelper upgrade: the same package with other metadata and one changed module."""
    installed = _asset._crhelper_files()
    upgraded: list[tuple[Path, Path]] = []
    for source, relative in installed:
        if relative.name in ("METADATA", "utils.py"):
            changed = tmp_path / "upgrade" / relative
            changed.parent.mkdir(parents=True, exist_ok=True)
            content = source.read_text()
            if relative.name == "METADATA":
                content = content.replace(f"Version: {CRHELPER_VERSION}", "Version: 2.0.99")
            else:
                content += "\n# upgraded\n"
            changed.write_text(content)
            source = changed
        upgraded.append((source, relative))
    assert upgraded != installed
    monkeypatch.setattr(_asset, "_crhelper_files", lambda: upgraded)
    asset_hash, folder = synth_asset(tmp_path / "out")
    assert (folder / "crhelper" / "utils.py").read_text().endswith("# upgraded\n")
    assert asset_hash != reference[0]
