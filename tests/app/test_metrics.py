"""/metrics parsed with prometheus_client's own parser after known traffic."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.server import FIXED_ID


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample as {(name, sorted labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def labels(**pairs: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(pairs.items()))


def test_counters_after_known_traffic(client: TestClient) -> None:
    for fahrenheit in (212, 32, 98.6):
        assert client.get(f"/convert?fahrenheit={fahrenheit}").status_code == 200
    assert client.get("/convert/?fahrenheit=1").status_code == 200
    for bad in ("abc", "nan"):
        assert client.get(f"/convert?fahrenheit={bad}").status_code == 422
    assert client.post("/convert", json={"fahrenheit": [1, 2, 3, 4]}).status_code == 200
    assert client.get("/no/such/path/123").status_code == 404

    samples = scrape(client)
    requests = "celsiusify_http_requests_total"
    assert samples[(requests, labels(route="/convert", method="GET", status="200"))] == 3
    assert samples[(requests, labels(route="/convert/", method="GET", status="200"))] == 1
    assert samples[(requests, labels(route="/convert", method="GET", status="422"))] == 2
    assert samples[(requests, labels(route="/convert", method="POST", status="200"))] == 1
    assert samples[(requests, labels(route="<unmatched>", method="GET", status="404"))] == 1
    assert samples[("celsiusify_conversions_total", ())] == 3 + 1 + 4

    histogram = "celsiusify_http_request_duration_seconds"
    get_convert = labels(route="/convert", method="GET")
    assert samples[(histogram + "_count", get_convert)] == 5
    assert samples[(histogram + "_bucket", labels(route="/convert", method="GET", le="+Inf"))] == 5
    assert samples[(histogram + "_sum", get_convert)] > 0

    build = labels(version="1.0.0", app_identifier=FIXED_ID)
    assert samples[("celsiusify_build_info", build)] == 1
    assert ("process_cpu_seconds_total", ()) in samples


def test_labels_are_bounded(client: TestClient) -> None:
    """Raw paths, query values and odd methods never become label values."""
    for index in range(50):
        client.get(f"/random/{index}?fahrenheit={index}")
        client.get(f"/convert?fahrenheit={index}.5")
        client.request("BREW", "/convert")
    label_values = {
        value
        for (name, pairs) in scrape(client)
        if name.startswith("celsiusify_http")
        for label, value in pairs
        if label != "le"
    }
    assert not any("random" in value or ".5" in value for value in label_values)
    assert "BREW" not in label_values
    assert "OTHER" in label_values


def test_histogram_buckets_are_cumulative(client: TestClient) -> None:
    for _ in range(10):
        client.get("/convert?fahrenheit=1")
    samples = scrape(client)
    buckets = sorted(
        (float(dict(pairs)["le"]), value)
        for (name, pairs), value in samples.items()
        if name == "celsiusify_http_request_duration_seconds_bucket"
        and dict(pairs)["route"] == "/convert"
    )
    counts = [value for _, value in buckets]
    assert counts == sorted(counts)
    assert counts[-1] == 10
