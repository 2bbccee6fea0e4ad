"""The chart's documentation: the values table (scripts/tools/chartdocs.py, `make chart-docs`) is
current, lists every key of values.yaml, and every empty default carries a working example and a
reference; Chart.yaml carries the Artifact Hub metadata (links, license, images, changes) that
matches the chart."""

from __future__ import annotations

import importlib.util
import json
import math
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import yaml

from app.settings import Settings
from tests.helpers.helm import CHART, ROOT, Objects
from tests.helpers.objects import app_flags, one
from tests.k8s_rules import violations

SCRIPT = ROOT / "scripts" / "tools" / "chartdocs.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chartdocs", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["chartdocs"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


docs = load_script()
VALUES_TEXT = docs.VALUES.read_text()
README_TEXT = docs.README.read_text()
# A values.yaml a key longer than the committed README's table knows.
WITH_NEW_KEY = VALUES_TEXT + "\n# -- A key added without regenerating the table.\nnewKey: 1\n"


def chart() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHART / "Chart.yaml").read_text())
    return loaded


def annotation(name: str) -> Any:
    return yaml.safe_load(chart()["annotations"][f"artifacthub.io/{name}"])


def test_readme_values_table_is_current() -> None:
    assert docs.readme_table(README_TEXT) == docs.table(VALUES_TEXT), (
        "celsiusify-chart/README.md's values table is stale: make chart-docs"
    )
    assert docs.problems(VALUES_TEXT, README_TEXT) == []


def test_values_table_lists_every_key_with_a_description() -> None:
    table = docs.readme_table(README_TEXT)
    assert docs.missing_keys(VALUES_TEXT, table) == []
    rows = docs.table_rows(table)
    assert all(rows.values()), [row for row, text in rows.items() if not text]
    for new in ("image.digest", "networkPolicy.enabled", "networkPolicy.ingressFrom",
                "metrics.serviceMonitor.force", "metrics.prometheusRule.latencySLOSeconds",
                "dashboard.labels", "tests.resources", "server.host",
                "server.shutdownDelaySeconds", "server.timeoutGracefulShutdownSeconds",
                "server.extraArgs", "args", "shutdown.processDrainSeconds"):  # fmt: skip
        assert new in rows, new


def test_a_key_missing_from_the_table_is_reported() -> None:
    table = docs.readme_table(README_TEXT)
    assert docs.missing_keys(WITH_NEW_KEY, table) == ["newKey"]
    assert docs.missing_keys(WITH_NEW_KEY, docs.table(WITH_NEW_KEY)) == []
    found = docs.problems(WITH_NEW_KEY, README_TEXT)
    assert "newKey: not in the README's table" in found
    assert any("make chart-docs" in problem for problem in found)
    # A row dropped by hand from an otherwise current table: the key is reported too.
    edited = "\n".join(line for line in table.splitlines() if "`server.host`" not in line)
    assert docs.missing_keys(VALUES_TEXT, edited) == ["server.host"]


def test_check_mode_exits_1_on_a_stale_table(tmp_path: Any) -> None:
    values = tmp_path / "values.yaml"
    readme = tmp_path / "README.md"
    values.write_text(WITH_NEW_KEY)
    readme.write_text(README_TEXT)
    command = [sys.executable, str(SCRIPT), "--values", str(values), "--readme", str(readme)]
    stale = subprocess.run([*command, "--check"], capture_output=True, text=True, check=False)
    assert stale.returncode == 1
    assert "newKey: not in the README's table" in stale.stderr
    subprocess.run([*command, "--write"], check=True)
    assert "| `newKey` | int | `1` | A key added without regenerating the table. |" in (
        readme.read_text()
    )
    current = subprocess.run([*command, "--check"], capture_output=True, text=True, check=False)
    assert (current.returncode, current.stderr) == (0, "")


def test_comment_parser_skips_block_scalars_and_reads_examples() -> None:
    text = (
        "# -- a\nkey: |\n  not: a key\n"
        "# --not-a-doc-comment\nplain: 1\n"
        "# -- b\n#    more\n#    Example: {x: 1}\n#    Ref: https://example.test/\nother: {}\n"
    )
    found = docs.comments(text)
    assert found == {
        "key": docs.Doc("a"),
        "other": docs.Doc("b more", "{x: 1}", "https://example.test/"),
    }
    assert found["other"].markdown() == "b more Example: `{x: 1}` Ref: <https://example.test/>"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("# -- Labels.\nlabels: {}\n", "labels: empty default without an `Example:` line"),
        ("# -- A.\n#    Example: x\na: ''\n", "a: empty default without a `Ref: https://…` line"),
        ("# -- L.\n#    Example: [1]\n#    Ref: see above\nl: []\n", "l: empty default without a"),
        ("# -- N.\n#    Ref: https://example.test/\nn: null\n", "n: empty default without an"),
        ("plain: 1\n", "plain: no `# --` description"),
        ("# just a comment\nplain: 1\n", "plain: no `# --` description"),
    ],
)
def test_empty_defaults_need_an_example_and_a_reference(text: str, problem: str) -> None:
    found = docs.undocumented(text)
    assert any(entry.startswith(problem) for entry in found), found
    assert docs.undocumented(VALUES_TEXT) == []


def examples() -> dict[str, Any]:
    """Every `Example:` of values.yaml, parsed as YAML, by key."""
    return {
        path: yaml.safe_load(doc.example)
        for path, doc in docs.comments(VALUES_TEXT).items()
        if doc.example is not None
    }


def switches(path: str) -> tuple[str, ...]:
    """The `enabled` (and `force`) of the key's nearest parent that has them, turned on, so the
    example reaches a rendered object (ingress.tls needs ingress.enabled)."""
    values = yaml.safe_load(VALUES_TEXT)
    parts = path.split(".")[:-1]
    while parts:
        node = values
        for part in parts:
            node = node[part]
        if "enabled" in node:
            prefix = ".".join(parts)
            force = (f"{prefix}.force=true",) if "force" in node else ()
            return (f"{prefix}.enabled=true", *force)
        parts.pop()
    return ()


def test_every_empty_default_has_an_example() -> None:
    values = yaml.safe_load(VALUES_TEXT)
    empty = {
        path
        for path, default in docs.rows(values, docs.comments(VALUES_TEXT))
        if default in ("", [], {}, None)
    }
    assert empty <= set(examples())
    assert {"env", "affinity", "args", "shutdown.processDrainSeconds"} <= empty


def test_the_limits_listed_for_env_are_the_apps_defaults() -> None:
    """values.yaml lists the app's limits with their defaults beside `env`, where they are set;
    the defaults themselves live in app/settings.py only, so the list must follow them."""
    listed = dict(re.findall(r'^#\s+(CELSIUSIFY_\w+): "([^"]*)"', VALUES_TEXT, re.MULTILINE))
    defaults = {
        f"CELSIUSIFY_{name.upper()}": field.default for name, field in Settings.model_fields.items()
    }
    assert {
        "CELSIUSIFY_MAX_REQUESTS_PER_CONNECTION",
        "CELSIUSIFY_MAX_CONNECTION_AGE_SECONDS",
        "CELSIUSIFY_MAX_CONNECTION_AGE_JITTER",
    } <= set(listed)
    assert {name: float(value) for name, value in listed.items()} == {
        name: float(defaults[name]) for name in listed
    }


# Examples that render nothing new, and why (the others must change what is rendered).
SAME_AS_DEFAULT = {
    "image.tag": "the example is the appVersion the empty default stands for",
    "shutdown.processDrainSeconds": "only checked against the grace period, never rendered",
}


@pytest.mark.parametrize("path", sorted(examples()))
def test_examples_work(path: str, render: Callable[..., Objects]) -> None:
    """Each example, set alone (its feature switched on), passes the schema and the templates,
    changes what is rendered, and the objects pass the API server's rules."""
    example = f"{path}={json.dumps(examples()[path])}"
    objects = render(sets=switches(path), json_sets=(example,))
    (main,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    flags = app_flags(main)
    assert flags is not None
    drain = math.ceil(flags.shutdown_delay) + flags.timeout_graceful_shutdown
    assert violations(objects, drain_seconds=drain) == []
    changed = objects != render(sets=switches(path))
    assert changed != (path in SAME_AS_DEFAULT), SAME_AS_DEFAULT.get(path, "renders nothing new")


def test_artifact_hub_metadata() -> None:
    license_ = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]["text"]
    assert chart()["annotations"]["artifacthub.io/license"] == license_
    links = annotation("links")
    assert all(
        set(link) == {"name", "url"} and link["url"].startswith("https://") for link in links
    )
    images = {image["name"]: image["image"] for image in annotation("images")}
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert images["celsiusify"] == f"{values['image']['repository']}:{chart()['appVersion']}"
    tfserving = yaml.safe_load((ROOT / "tfserving" / "values.yaml").read_text())["image"]
    assert images["celsiusify-tfserving"] == f"{tfserving['repository']}:{tfserving['tag']}"
    changes = annotation("changes")
    assert changes
    kinds = {"added", "changed", "deprecated", "removed", "fixed", "security"}
    assert all(change["kind"] in kinds and change["description"] for change in changes)
