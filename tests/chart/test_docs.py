"""The chart's documentation: the values table lists every key of values.yaml, and Chart.yaml
carries the Artifact Hub metadata (links, license, images, changes) that matches the chart."""

from __future__ import annotations

import tomllib
from typing import Any

import yaml

from tests.chart import values_docs
from tests.chart.conftest import CHART, ROOT


def chart() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHART / "Chart.yaml").read_text())
    return loaded


def annotation(name: str) -> Any:
    return yaml.safe_load(chart()["annotations"][f"artifacthub.io/{name}"])


def test_readme_values_table_is_current() -> None:
    assert values_docs.readme_table() == values_docs.table(), (
        "celsiusify-chart/README.md's values table is stale: "
        "python -m tests.chart.values_docs --write"
    )


def test_values_table_lists_every_key_with_a_description() -> None:
    values = yaml.safe_load(values_docs.VALUES.read_text())
    table = values_docs.readme_table().splitlines()[2:]
    rows = {line.split("`", 2)[1]: line.rsplit("|", 2)[-2].strip() for line in table}
    for leaf in values_docs.leaves(values):
        assert any(leaf == row or leaf.startswith(f"{row}.") for row in rows), leaf
    assert all(rows.values()), [row for row, text in rows.items() if not text]
    for new in ("image.digest", "networkPolicy.enabled", "networkPolicy.ingressFrom",
                "metrics.serviceMonitor.force", "metrics.prometheusRule.latencySLOSeconds",
                "dashboard.labels", "tests.resources"):  # fmt: skip
        assert new in rows, new


def test_comment_parser_skips_block_scalars() -> None:
    text = "# -- a\nkey: |\n  not: a key\n# -- b\nother: 1\n"
    assert values_docs.comments(text) == {"key": "a", "other": "b"}


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
