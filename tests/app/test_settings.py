"""CELSIUSIFY_* settings as the process reads them: defaults, bounds, and one line per bad value."""

from __future__ import annotations

import pytest

from app.server import limits_from, main
from app.settings import Settings

LIFETIME = (
    "CELSIUSIFY_MAX_REQUESTS_PER_CONNECTION",
    "CELSIUSIFY_MAX_CONNECTION_AGE_SECONDS",
    "CELSIUSIFY_MAX_CONNECTION_AGE_JITTER",
)


@pytest.fixture(autouse=True)
def no_lifetime_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the shell running the tests has set, each test starts from the defaults."""
    for name in LIFETIME:
        monkeypatch.delenv(name, raising=False)


def test_connections_have_a_bounded_lifetime_by_default() -> None:
    """Keep-alive clients must reach pods added by a scale-out without any configuration."""
    settings = Settings()
    assert settings.max_requests_per_connection > 0
    assert settings.max_connection_age_seconds > 0
    assert 0 < settings.max_connection_age_jitter <= 0.5


def test_lifetime_settings_come_from_the_environment_and_reach_the_protocol(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CELSIUSIFY_MAX_REQUESTS_PER_CONNECTION", "250")
    monkeypatch.setenv("CELSIUSIFY_MAX_CONNECTION_AGE_SECONDS", "7.5")
    monkeypatch.setenv("CELSIUSIFY_MAX_CONNECTION_AGE_JITTER", "0")
    limits = limits_from(Settings())
    assert limits.max_requests_per_connection == 250
    assert limits.max_connection_age == 7.5
    assert limits.max_connection_age_jitter == 0


def test_zero_is_a_valid_lifetime_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELSIUSIFY_MAX_REQUESTS_PER_CONNECTION", "0")
    monkeypatch.setenv("CELSIUSIFY_MAX_CONNECTION_AGE_SECONDS", "0")
    settings = Settings()
    assert settings.max_requests_per_connection == 0
    assert settings.max_connection_age_seconds == 0


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("CELSIUSIFY_MAX_REQUESTS_PER_CONNECTION", "-1", "greater than or equal to 0"),
        ("CELSIUSIFY_MAX_REQUESTS_PER_CONNECTION", "100000001", "less than or equal to 100000000"),
        ("CELSIUSIFY_MAX_REQUESTS_PER_CONNECTION", "many", "valid integer"),
        ("CELSIUSIFY_MAX_CONNECTION_AGE_SECONDS", "-0.5", "greater than or equal to 0"),
        ("CELSIUSIFY_MAX_CONNECTION_AGE_SECONDS", "86401", "less than or equal to 86400"),
        ("CELSIUSIFY_MAX_CONNECTION_AGE_JITTER", "0.6", "less than or equal to 0.5"),
        ("CELSIUSIFY_MAX_CONNECTION_AGE_JITTER", "-0.1", "greater than or equal to 0"),
    ],
)
def test_an_invalid_lifetime_bound_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    rule: str,
) -> None:
    """What `kubectl logs --previous` shows for a CrashLoopBackOff from a bad value."""
    monkeypatch.setenv(name, value)
    assert main(["--host", "127.0.0.1", "--port", "0"]) == 2
    field = name.removeprefix("CELSIUSIFY_").lower()
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"celsiusify: invalid setting {name}='{value}' ({field}): ")
    assert rule in line
