"""The repository's constructs/ folder must not shadow the real `constructs` package."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import constructs

REPO_ROOT = Path(__file__).resolve().parents[1]
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"]).resolve()


def test_constructs_folder_has_no_init() -> None:
    assert (REPO_ROOT / "constructs" / "src" / "cdk_mediapackage_harvest").is_dir()
    assert not (REPO_ROOT / "constructs" / "__init__.py").exists()


def test_import_constructs_is_the_real_package() -> None:
    assert hasattr(constructs, "Construct")
    assert constructs.__file__ is not None
    origin = Path(constructs.__file__).resolve()
    assert origin.is_relative_to(SITE_PACKAGES)
    assert not origin.is_relative_to(REPO_ROOT / "constructs")


def test_constructs_resolves_to_site_packages_from_the_repo_root() -> None:
    """As `python app.py` sees it: the repo root is first on sys.path."""
    probe = (
        "import importlib.util, sys; "
        "assert sys.path[0] in ('', '.'), sys.path[0]; "
        "spec = importlib.util.find_spec('constructs'); "
        "print(spec.origin)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    origin = Path(result.stdout.strip())
    assert origin.name == "__init__.py"
    assert origin.resolve().is_relative_to(SITE_PACKAGES)


def test_the_readme_starts_with_the_demo_and_the_test_command() -> None:
    """The first two commands of the README are the main job and the tests; CI runs the second."""
    readme = (REPO_ROOT / "README.md").read_text()
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in first_block.splitlines()]
    assert commands == ["make demo", "make test"]
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "\ndemo: " in makefile
    assert "\ntest: " in makefile
    assert (REPO_ROOT / ".ci" / "run").read_text().strip().endswith("exec make test")


def test_neither_the_library_nor_the_handler_imports_the_local_aws() -> None:
    """local_aws is for tests, the demo and benchmarks; Lambda and users' apps do not have it."""
    sources = [*(REPO_ROOT / "constructs" / "src").rglob("*.py"), *(REPO_ROOT / "lambda").glob("*.py")]
    assert sources
    for source in sources:
        text = source.read_text()
        assert "local_aws" not in text, f"{source.relative_to(REPO_ROOT)} refers to local_aws"
