"""The handler's Lambda asset, laid out at synth time without Docker and without network.

The asset holds three things: the handler package ``mediapackage_harvest_handler/`` (from
``lambda/`` in this repository, from ``cdk_mediapackage_harvest/_handler/`` in an installed wheel),
the two shared standard-library modules (contract and rules), and the installed crhelper package
(exactly the version the contract names) with its metadata. Python lays it out in a folder of its
own, once per process and content, and hands the CDK that folder with a hash of the content
(``AssetHashType.CUSTOM``): a change to any file, crhelper's version included, changes the hash.
No CDK bundling: its local bundling (a callback from node into Python, a bundling folder, then
hashing the output) cost about 0.8 s per synthesis.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.metadata
import importlib.util
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cdk_mediapackage_harvest_contract
import cdk_mediapackage_harvest_rules
from constructs import Construct

#: The handler package, and the module of its entry point (the function's ``Handler`` less ``.handler``).
HANDLER_PACKAGE = "mediapackage_harvest_handler"
HANDLER_MODULE = cdk_mediapackage_harvest_contract.HANDLER.rpartition(".")[0]
#: Set by ``cdk synth``: the app adds asset metadata to the resources that use an asset.
ASSET_METADATA_CONTEXT = "aws:cdk:enable-asset-metadata"


def handler_source_dir() -> Path:
    """The folder that holds the handler package: inside the installed wheel, or this repository's."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_handler", here.parents[2] / "lambda"):
        if (candidate / HANDLER_PACKAGE / "__init__.py").is_file():
            return candidate
    raise FileNotFoundError(
        f"cdk-mediapackage-harvest: the package {HANDLER_PACKAGE} is neither in {here / '_handler'} "
        f"(an installed wheel) nor in {here.parents[2] / 'lambda'} (a checkout); reinstall the package"
    )


def _crhelper_files() -> list[tuple[Path, Path]]:
    """(source, path in the asset) for the installed crhelper package and its metadata."""
    spec = importlib.util.find_spec("crhelper")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("cdk-mediapackage-harvest: crhelper is not installed; pip install crhelper")
    package = Path(spec.origin).parent
    files = [(path, Path("crhelper") / path.name) for path in sorted(package.glob("*.py"))]
    distribution = importlib.metadata.distribution("crhelper")
    if distribution.version != cdk_mediapackage_harvest_contract.CRHELPER_VERSION:
        raise ModuleNotFoundError(
            f"cdk-mediapackage-harvest: crhelper {distribution.version} is installed; the handler was "
            f"checked against crhelper {cdk_mediapackage_harvest_contract.CRHELPER_VERSION} only "
            f"(pip install crhelper=={cdk_mediapackage_harvest_contract.CRHELPER_VERSION})"
        )
    metadata = Path(f"crhelper-{distribution.version}.dist-info")
    for name in ("METADATA", "LICENSE", "NOTICE"):
        located = distribution.locate_file(f"{metadata}/{name}")
        if Path(str(located)).is_file():
            files.append((Path(str(located)), metadata / name))
    return files


def asset_files(handler_dir: Path | None = None) -> list[tuple[Path, Path]]:
    """(source, path in the asset) of every file of the asset, in a stable order."""
    source = handler_dir or handler_source_dir()
    package = source / HANDLER_PACKAGE
    files = [(path, Path(HANDLER_PACKAGE) / path.name) for path in sorted(package.glob("*.py"))]
    for shared in (cdk_mediapackage_harvest_contract, cdk_mediapackage_harvest_rules):
        module = Path(str(shared.__file__))
        files.append((module, Path(module.name)))
    files.extend(_crhelper_files())
    return files


def build_asset(output_dir: Path, handler_dir: Path | None = None) -> None:
    """Lay out the Lambda asset in ``output_dir``."""
    for origin, relative in asset_files(handler_dir):
        target = output_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(origin, target)


def prepared_asset() -> tuple[Path, str]:
    """The asset laid out in a folder of this process's own, and the SHA-256 of its content.

    The digest covers each file's path in the asset and its bytes, so it changes exactly when what
    Lambda runs changes. One folder per content, made on first use and removed when the process
    exits (the CDK has copied it into the cloud assembly by then).
    """
    files = asset_files()
    digest = hashlib.sha256()
    for origin, relative in files:
        content = origin.read_bytes()
        digest.update(f"{relative.as_posix()}\0{len(content)}\0".encode())
        digest.update(content)
    asset_hash = digest.hexdigest()
    folder = _scratch() / asset_hash
    if not folder.is_dir():
        building = folder.with_name(f"{asset_hash}.partial")
        build_asset(building)
        building.rename(folder)
    return folder, asset_hash


@functools.cache
def _scratch() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="cdk-mediapackage-harvest-asset-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@dataclass(frozen=True)
class StagedCode:
    """Where the staged handler code will be in the deployment's asset bucket, and the function's
    asset metadata (for tools such as ``sam local``), when the app asks for it."""

    bucket_name: str
    object_key: str
    metadata: dict[str, Any]


def stage_handler_code(scope: Construct) -> StagedCode:
    """Stage the prepared asset into the cloud assembly under ``<scope>/Code`` and register it with
    the stack's synthesizer, as Lambda's ``Code.from_asset`` does, with the content hash."""
    folder, asset_hash = prepared_asset()
    code = Construct(scope, "Code")
    staging = cdk.AssetStaging(
        code,
        "Stage",
        source_path=str(folder),
        asset_hash=asset_hash,
        asset_hash_type=cdk.AssetHashType.CUSTOM,
    )
    stack = cdk.Stack.of(scope)
    staged_path = staging.relative_staged_path(stack)
    location = stack.synthesizer.add_file_asset(
        file_name=staged_path, packaging=cdk.FileAssetPackaging.ZIP_DIRECTORY, source_hash=staging.asset_hash
    )
    metadata: dict[str, Any] = {}
    if code.node.try_get_context(ASSET_METADATA_CONTEXT):
        metadata = {
            "aws:asset:path": staged_path,
            "aws:asset:is-bundled": False,
            "aws:asset:property": "Code",
        }
    return StagedCode(location.bucket_name, location.object_key, metadata)
