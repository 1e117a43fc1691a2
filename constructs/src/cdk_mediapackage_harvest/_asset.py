"""The handler's Lambda asset, built at synth time without Docker and without network.

The asset holds three things: the handler package ``mediapackage_harvest_handler/`` (from
``lambda/`` in this repository, from ``cdk_mediapackage_harvest/_handler/`` in an installed wheel),
the two shared standard-library modules (contract and rules), and the installed, pinned crhelper
package with its metadata. Its hash is taken from this output
(``AssetHashType.OUTPUT``), so a change to any of them, crhelper's version included, changes it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cdk_mediapackage_harvest_contract
import cdk_mediapackage_harvest_rules
import jsii
from aws_cdk import aws_lambda as lambda_

#: The handler package, and the module of its entry point (the function's ``Handler`` less ``.handler``).
HANDLER_PACKAGE = "mediapackage_harvest_handler"
HANDLER_MODULE = cdk_mediapackage_harvest_contract.HANDLER.rpartition(".")[0]
RUNTIME = lambda_.Runtime.PYTHON_3_14


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
    metadata = Path(f"crhelper-{distribution.version}.dist-info")
    for name in ("METADATA", "LICENSE", "NOTICE"):
        located = distribution.locate_file(f"{metadata}/{name}")
        if Path(str(located)).is_file():
            files.append((Path(str(located)), metadata / name))
    return files


def build_asset(output_dir: Path, handler_dir: Path | None = None) -> None:
    """Lay out the Lambda asset in ``output_dir`` (what local bundling runs)."""
    source = handler_dir or handler_source_dir()
    package = source / HANDLER_PACKAGE
    files = [(path, Path(HANDLER_PACKAGE) / path.name) for path in sorted(package.glob("*.py"))]
    for shared in (cdk_mediapackage_harvest_contract, cdk_mediapackage_harvest_rules):
        module = Path(str(shared.__file__))
        files.append((module, Path(module.name)))
    files.extend(_crhelper_files())
    for origin, relative in files:
        target = output_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(origin, target)


@jsii.implements(cdk.ILocalBundling)
class _LocalBundling:
    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_options: Any) -> bool:
        # Never returns False: that would make CDK fall back to Docker, which cannot work here.
        build_asset(Path(output_dir))
        return True


def handler_code() -> lambda_.Code:
    """The handler's code, bundled locally; the Docker image is never used."""
    return lambda_.Code.from_asset(
        str(handler_source_dir()),
        asset_hash_type=cdk.AssetHashType.OUTPUT,
        exclude=["__pycache__", "*.pyc"],
        bundling=cdk.BundlingOptions(image=RUNTIME.bundling_image, local=_LocalBundling()),
    )
