"""The locustfile's options, through Locust's own command line: flags, environment variables,
the web UI, workers taking the master's values, and the one-line refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lib.options import OPTIONS

from bench.measure.procs import free_port

pytestmark = pytest.mark.locust
ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "locust" / "main.py"
OURS = ("LOAD_", "STEP_", "LOCUST_", "CELSIUSIFY_", "TFSERVING_", "FAILURE_EXAMPLES")


def clean_env(**variables: str) -> dict[str, str]:
    """The test's environment without any variable the locustfile or Locust reads, plus these."""
    return {k: v for k, v in os.environ.items() if not k.startswith(OURS)} | variables


def locust(
    *args: str, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(MAIN), *args],
        env=env or clean_env(), cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        check=False,
    )  # fmt: skip


def celsius(fahrenheit: float) -> str:
    return f"{(fahrenheit - 32) * 5 / 9:.6f}".replace("-0.000000", "0.000000")


class BatchRecorder(BaseHTTPRequestHandler):
    """Answers /convert right; records the values of each POST (and GETs as 0)."""

    protocol_version = "HTTP/1.1"
    sizes: list[int]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def reply(self, payload: dict[str, object]) -> None:
        body = json.dumps({**payload, "app_identifier": "recorder"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        values = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["fahrenheit"]
        self.sizes.append(len(values))
        self.reply({"celsius": [celsius(value) for value in values]})

    def do_GET(self) -> None:
        self.sizes.append(0)
        self.reply({"celsius": celsius(float(self.path.split("fahrenheit=")[1]))})


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[int]]]:
    """A fake Celsiusify on loopback; yields its URL and the batch sizes it received."""
    sizes: list[int] = []
    handler = type("Recorder", (BatchRecorder,), {"sizes": sizes})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", sizes
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_debug_entry_help_lists_every_option() -> None:
    """`python locust/main.py --help` (run_single_user's parser, after the import) lists them.

    `locust -f main.py --help` cannot: Locust 2.47 prints its help before it imports the
    locustfile (argument_parser.parse_locustfile_option; locustio/locust#2917)."""
    result = subprocess.run(
        [sys.executable, str(MAIN), "--help"], env=clean_env(), cwd=ROOT,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    for option in OPTIONS:
        assert f"{option.flag} " in text
        assert f"[env var: {option.env_var}]" in text


def test_the_web_ui_offers_the_run_options() -> None:
    port = free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(MAIN), "--web-host", "127.0.0.1",
         "--web-port", str(port), "--host", "http://127.0.0.1:9"],
        env=clean_env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    ) as ui:  # fmt: skip
        try:
            page = ""
            deadline = time.monotonic() + 60
            while not page and time.monotonic() < deadline and ui.poll() is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                        page = answer.read().decode()
                except OSError:
                    time.sleep(0.2)
        finally:
            ui.terminate()
            ui.wait(timeout=30)
    assert page, ui.stderr.read() if ui.stderr else "no web UI"
    for option in OPTIONS:
        assert (f'"{option.dest}"' in page) == option.in_web_ui, option.flag
    assert not any(option.in_web_ui for option in OPTIONS[:2])  # they choose classes at import


@pytest.mark.parametrize(
    ("variables", "flags", "size"),
    [({"CELSIUSIFY_BATCH_SIZE": "5"}, [], 5),
     ({"CELSIUSIFY_BATCH_SIZE": "5"}, ["--celsiusify-batch-size", "6"], 6),
     ({}, [], 100)],
)  # fmt: skip
def test_an_environment_variable_and_a_flag_both_set_an_option(
    recorder: tuple[str, list[int]], variables: dict[str, str], flags: list[str], size: int
) -> None:
    url, sizes = recorder
    result = locust(
        "--headless", "-u", "1", "-r", "1", "-t", "2s", "--host", url, *flags,
        "CelsiusifyBatchUser", env=clean_env(**variables),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert sizes
    assert set(sizes) == {size}


def test_workers_take_the_masters_values(recorder: tuple[str, list[int]]) -> None:
    """A master's flag reaches a worker whose own environment says otherwise."""
    url, sizes = recorder
    port = str(free_port())
    with subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(MAIN), "--worker", "--master-host",
         "127.0.0.1", "--master-port", port],
        env=clean_env(CELSIUSIFY_BATCH_SIZE="2"), cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    ) as worker:  # fmt: skip
        try:
            master = locust(
                "--master", "--headless", "--expect-workers", "1",
                "--expect-workers-max-wait", "60", "--master-bind-host", "127.0.0.1",
                "--master-bind-port", port, "-u", "1", "-r", "1", "-t", "3s", "--host", url,
                "--celsiusify-batch-size", "7", "CelsiusifyBatchUser",
            )  # fmt: skip
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert master.returncode == 0, master.stderr[-2000:]
    assert sizes
    assert set(sizes) == {7}


@pytest.mark.parametrize(
    ("variables", "flags", "classes"),
    [({}, [], {"CelsiusifyGetUser", "CelsiusifyBatchUser"}),
     ({"LOAD_TARGET": "tfserving"}, [], {"TFServingUser"}),
     ({}, ["--load-target", "tfserving"], {"TFServingUser"}),
     ({"LOAD_TARGET": "tfserving"}, ["--load-target=celsiusify"],
      {"CelsiusifyGetUser", "CelsiusifyBatchUser"}),
     ({"LOAD_TARGET": "all"}, [], {"CelsiusifyGetUser", "CelsiusifyBatchUser", "TFServingUser"})],
)  # fmt: skip
def test_the_load_target_chooses_the_classes(
    variables: dict[str, str], flags: list[str], classes: set[str]
) -> None:
    result = locust("--list", *flags, env=clean_env(**variables))
    assert result.returncode == 0, result.stderr
    listed = {line.strip() for line in result.stdout.splitlines()[1:] if line.strip()}
    assert listed == classes


@pytest.mark.parametrize(
    ("variables", "message"),
    [({"LOAD_TARGET": "fastapi"},
      "LOAD_TARGET (--load-target) must be one of celsiusify, tfserving, all, not 'fastapi'"),
     ({"LOAD_SHAPE": "steps"}, "LOAD_SHAPE (--load-shape) must be one of none, step, not 'steps'"),
     ({"LOAD_SHAPE": "step", "STEP_START_USERS": "8", "STEP_MAX_USERS": "4"},
      "LOAD_SHAPE=step: step load needs 1 <= start users <= max users, step users >= 1, "
      "step seconds > 0"),
     ({"STEP_USERS": "four"}, "argument --step-users: invalid int value: 'four'")],
)  # fmt: skip
def test_a_bad_value_stops_the_run_with_one_line(variables: dict[str, str], message: str) -> None:
    result = locust("--headless", "--host", "http://127.0.0.1:9", env=clean_env(**variables))
    assert result.returncode != 0
    problems = [line for line in result.stderr.splitlines() if "/INFO/" not in line]
    assert len(problems) == 1, result.stderr
    assert problems[0].endswith(message)


@pytest.mark.parametrize("then_idle", ["1", "0"])
def test_the_step_shape_stops_or_idles_after_the_last_step(
    recorder: tuple[str, list[int]], then_idle: str, tmp_path: Path
) -> None:
    """Headless, the shape ends the run; with STEP_THEN_IDLE=1 it holds zero users instead
    (and the process stays up: -t does not apply to a shape, so this test stops it)."""
    url, sizes = recorder
    step = {"LOAD_SHAPE": "step", "STEP_START_USERS": "1", "STEP_MAX_USERS": "1",
            "STEP_SECONDS": "1", "STEP_THEN_IDLE": then_idle}  # fmt: skip
    log = tmp_path / "locust.log"
    with log.open("w") as sink, subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(MAIN), "--headless", "--host", url,
         "CelsiusifyBatchUser"],
        env=clean_env(**step), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=sink,
    ) as run:  # fmt: skip
        deadline = time.monotonic() + 60
        while run.poll() is None and time.monotonic() < deadline:
            if "Shape test updating to 0 users" in log.read_text():
                break
            time.sleep(0.2)
        exited = run.poll()
        if exited is None:
            run.terminate()
            run.wait(timeout=30)
    text = log.read_text()
    assert sizes, text
    assert "Shape test updating to 1 users" in text
    idled = "Shape test updating to 0 users" in text
    stopped = "Shape test stopping" in text
    if then_idle == "1":
        assert (idled, stopped, exited) == (True, False, None), text
    else:
        assert (idled, stopped, exited) == (False, True, 0), text


def test_the_debug_entry_runs_one_user(recorder: tuple[str, list[int]]) -> None:
    """`python locust/main.py --host URL` (run_single_user) sends checked GET requests."""
    url, sizes = recorder
    with subprocess.Popen(
        [sys.executable, str(MAIN), "--host", url],
        env=clean_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    ) as debug:  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while len(sizes) < 3 and time.monotonic() < deadline and debug.poll() is None:
                time.sleep(0.1)
        finally:
            debug.terminate()
            output = debug.communicate(timeout=30)[0]
    assert sizes[:3] == [0, 0, 0], output
    lines = [line.split() for line in output.splitlines() if line.startswith("GET")]
    assert lines, output
    assert all(line[:3] == ["GET", "GET", "/convert"] for line in lines), output  # no exception
