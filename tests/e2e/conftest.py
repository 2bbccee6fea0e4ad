"""Fixtures for the e2e driver's tests without a cluster: its dry-run plan, parsed (the code is in
tests/helpers/e2e.py; `helm` comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.e2e import NAMESPACE, TAG, Transcript, run_e2e
from tests.helpers.helm import LOCUST_CHART


@pytest.fixture(scope="session")
def locust_chart() -> Path:
    if not LOCUST_CHART.exists():
        pytest.skip(
            f"{LOCUST_CHART} is absent: deliveryhero/locust 0.35.0 is read from ../shared/charts/"
        )
    return LOCUST_CHART


@pytest.fixture(scope="session")
def dry_run(locust_chart: Path, helm: str) -> Callable[..., Transcript]:
    """The plan for given extra options (cached per option list)."""
    cache: dict[tuple[str, ...], Transcript] = {}

    def plan(*extra: str) -> Transcript:
        if extra not in cache:
            result = run_e2e(
                "--dry-run",
                "--namespace",
                NAMESPACE,
                "--tag",
                TAG,
                "--locust-chart",
                str(locust_chart),
                *extra,
                env={"HELM": helm},
            )
            cache[extra] = Transcript(
                result.returncode, (result.stdout + result.stderr).splitlines()
            )
        return cache[extra]

    return plan
