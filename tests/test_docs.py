"""The README and the package page (docs/PACKAGE.md) say nothing untrue of the code: the props and
attributes tables of every exported construct, the warnings, the cdk-nag acknowledgments and the
construct paths to suppress, the table of contents; and the package page renders as PyPI renders it.
(The README's first two commands are checked in tests/test_layout.py.)"""

from __future__ import annotations

import inspect
import re
import tomllib
import warnings
from datetime import UTC, datetime
from pathlib import Path

import aws_cdk as cdk
import cdk_mediapackage_harvest
import pytest
from aws_cdk import aws_s3 as s3
from cdk_mediapackage_harvest import HarvestJob, HarvestJobV2
from constructs import Construct
from mediapackage_harvest_handler import answering, waiting
from readme_renderer.markdown import render

REPO_ROOT = Path(__file__).resolve().parents[1]
README = (REPO_ROOT / "README.md").read_text()
PACKAGE_PAGE = (REPO_ROOT / "docs" / "PACKAGE.md").read_text()
DOCUMENTS = {"README.md": README, "docs/PACKAGE.md": PACKAGE_PAGE}
PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
EXPORTED_CONSTRUCTS = sorted(
    name
    for name in cdk_mediapackage_harvest.__all__
    if inspect.isclass(value := getattr(cdk_mediapackage_harvest, name)) and issubclass(value, Construct)
)


def section(document: str, heading: str) -> str:
    """The text under a ``### heading`` line, up to the next heading."""
    match = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#)", document + "\n#", re.MULTILINE | re.DOTALL)
    assert match, f"no heading {heading!r}"
    return match.group(1)


def first_column(text: str) -> list[str]:
    """The first cells of the first Markdown table in ``text`` (the header and rule rows left out)."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [re.sub(r"^`|`$", "", row.split("|")[1].strip()) for row in rows[2:]]


def props_of(construct: type) -> set[str]:
    parameters = inspect.signature(vars(construct)["__init__"]).parameters.values()
    return {parameter.name for parameter in parameters if parameter.kind is inspect.Parameter.KEYWORD_ONLY}


def attributes_of(construct: type) -> set[str]:
    return {
        name
        for klass in construct.__mro__
        if klass is not Construct and issubclass(klass, Construct) and klass.__module__.startswith("cdk_")
        for name, value in vars(klass).items()
        if isinstance(value, property) and not name.startswith("_")
    }


def test_the_package_exports_constructs() -> None:
    assert "HarvestJob" in EXPORTED_CONSTRUCTS


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
@pytest.mark.parametrize("name", EXPORTED_CONSTRUCTS)
def test_each_constructs_props_and_attributes_are_listed_and_nothing_else(document: str, name: str) -> None:
    construct = getattr(cdk_mediapackage_harvest, name)
    text = DOCUMENTS[document]
    props = first_column(section(text, f"`{name}` props"))
    attributes = first_column(section(text, f"`{name}` attributes"))
    assert sorted(props) == sorted(props_of(construct)), document
    assert sorted(attributes) == sorted(attributes_of(construct)), document


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation other than ``-`` and ``_`` dropped."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_within_the_readme_names_one_of_its_headings() -> None:
    anchors = {slug(heading) for heading in re.findall(r"^#+ (.+)$", README, re.MULTILINE)}
    links = re.findall(r"\]\(#([^)]+)\)", README)
    assert len(links) >= 10
    assert sorted(set(links) - anchors) == []


def warning_ids_in_the_sources() -> set[str]:
    sources = (REPO_ROOT / "constructs" / "src").rglob("*.py")
    return {
        found for path in sources for found in re.findall(r"cdk-mediapackage-harvest:\w+", path.read_text())
    }


def test_the_warnings_table_lists_every_warning_the_library_can_give() -> None:
    listed = first_column(section(README, "Synth-time warnings"))
    assert set(listed) == warning_ids_in_the_sources()
    assert len(listed) >= 3
    assert "Annotations.of(job).acknowledge_warning(" in section(README, "Synth-time warnings")


def test_troubleshooting_quotes_the_reasons_the_handler_gives() -> None:
    text = " ".join(section(README, "A harvest job FAILED").split())
    seen = waiting.Seen("FAILED", "failed", reason="<MediaPackage's message>")
    budget = waiting.Budget(now=datetime.now(UTC), stop_at=0.0)
    assert f"`{waiting.failure_reason('<Id>', seen, budget)}`" in text
    assert "`Harvest job <Id> failed; MediaPackage sent no reason within 30 s; a late one appears in" in text
    v2_text = " ".join(section(README, "A v2 harvest job FAILED or was CANCELLED").split())
    v2_failed = waiting.Seen("FAILED", "failed", reason="<ErrorMessage>")
    assert f"`{waiting.failure_reason('<name>', v2_failed, budget)}`" in v2_text
    assert f"`{waiting.failure_reason('x' * 65, v2_failed, budget).replace('x' * 65, '<name>')}`" in v2_text
    prefix = answering.timeout_reason({"RequestType": "Create"}, None).split(":")[0]
    assert f"A Reason starting `{prefix}:`" in section(README, "The deployment times out")


def example_stack() -> tuple[cdk.Stack, s3.Bucket]:
    """A waiting job writing to a bucket named ``Clips``, as in the README's cdk-nag 2.x call, and a
    v2 job of a generated name writing to the same bucket: every acknowledgment the library makes."""
    stack = cdk.Stack(cdk.App(context={"aws:cdk:bundling-stacks": []}), "ClipStack")
    bucket = s3.Bucket(stack, "Clips")
    HarvestJob(
        stack,
        "Clip",
        origin_endpoint_id="my-hls-endpoint",
        start_time="2025-03-01T10:00:00Z",
        end_time="2025-03-01T10:30:00Z",
        destination_bucket=bucket,
        manifest_key="clips/final/index.m3u8",
    )
    HarvestJobV2(
        stack,
        "ClipV2",
        channel_group_name="live",
        channel_name="main",
        origin_endpoint_name="hls",
        start_time="2025-03-01T10:00:00Z",
        end_time="2025-03-01T10:30:00Z",
        destination_bucket=bucket,
        destination_path="clips/v2/",
        hls_manifest_names=["index"],
    )
    return stack, bucket


def test_the_cdk_nag_table_lists_every_acknowledgment_the_library_makes() -> None:
    stack, bucket = example_stack()
    bucket_id = stack.get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
    made: set[tuple[str, str]] = set()
    for construct in stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                made.update((construct.node.path, finding) for finding in entry.data)
    table = [line for line in section(README, "cdk-nag").splitlines() if line.startswith("| `")]
    listed = {
        (cells[1].strip(" `"), f"Annotation::AwsSolutions-IAM5[Resource::{cells[2].strip(' `')}]")
        for cells in (row.split("|") for row in table)
    }
    written = {
        (
            path.replace("ClipStack/Clips/", "<bucket>/").replace("ClipStack/", "<stack>/"),
            re.sub(r"HarvestJobPoll-[0-9a-f]{10}-", "HarvestJobPoll-<10 hex>-", finding)
            .replace(f"<{bucket_id}.Arn>", "<bucket's logical id.Arn>")
            .replace(
                "channelGroup/live/channel/main/originEndpoint/hls/",
                "channelGroup/<group>/channel/<channel>/originEndpoint/<endpoint>/",
            ),
        )
        for path, finding in made
    }
    assert written == listed
    assert len(listed) == 5


def test_the_cdk_nag_2_suppression_paths_exist() -> None:
    """cdk-nag 2.x fails on a suppression path that matches no resource."""
    stack, _ = example_stack()
    call = section(README, "cdk-nag").split("NagSuppressions.add_resource_suppressions_by_path(", 1)[1]
    paths = re.findall(r'f"/\{stack.stack_name\}/([^"]+)"', call)
    assert len(paths) == 2
    resources = {child.node.path for child in stack.node.find_all() if isinstance(child, cdk.CfnResource)}
    assert {f"ClipStack/{path}" for path in paths} <= resources


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_the_requirements_are_stated_as_the_package_declares_them(document: str) -> None:
    python = PROJECT["requires-python"].removeprefix(">=")
    text = DOCUMENTS[document]
    assert f"Python {python} or newer" in text
    assert "Node.js 22 or newer" in text
    assert "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20" in text
    assert "not released on PyPI yet" in text
    assert "pip install cdk-mediapackage-harvest" in text


def test_the_package_page_renders_as_on_pypi() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. no Markdown renderer installed
        html = render(PACKAGE_PAGE)
    assert html is not None
    assert "<h2" in html
    assert "<table>" in html


def test_the_package_page_is_for_library_users_and_its_links_work_off_the_repository() -> None:
    assert "make " not in PACKAGE_PAGE, "make targets mean nothing to someone who pip-installed the package"
    links = re.findall(r"\]\(([^)]+)\)", PACKAGE_PAGE)
    assert links
    assert [link for link in links if not link.startswith("https://")] == []
    source = PROJECT["urls"]["Source"]
    repository_links = [link for link in re.findall(r"https://github\.com/[^\s)]+", PACKAGE_PAGE)]
    assert repository_links
    assert all(link.startswith(source) for link in repository_links), source
