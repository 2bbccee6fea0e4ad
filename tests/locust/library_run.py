"""Run one Locust user class as a library for a few seconds; print stats as JSON.

Usage: LOAD_TARGET=all python library_run.py HOST USER_CLASS SECONDS USERS [LOCUST OPTION …]
Runs in its own process because importing locust monkey-patches the interpreter. The classes
come from locust/main.py, imported the way Locust imports a locustfile, and the options are
parsed by Locust's parser (as run_single_user does), so the users see what a real run gives them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import gevent
from locust.env import Environment
from locust.util.load_locustfile import load_locustfile

from locust import argument_parser

LOCUSTFILE = Path(__file__).resolve().parents[2] / "locust" / "main.py"


def main() -> None:
    host, class_name, seconds, count = (
        sys.argv[1],
        sys.argv[2],
        float(sys.argv[3]),
        int(sys.argv[4]),
    )
    user_classes, _shapes = load_locustfile(str(LOCUSTFILE))
    options = argument_parser.get_parser().parse_args(sys.argv[5:])
    environment = Environment(
        user_classes=[user_classes[class_name]], host=host, parsed_options=options
    )
    runner = environment.create_local_runner()
    runner.start(count, spawn_rate=count)
    gevent.sleep(seconds)
    runner.quit()
    total = environment.stats.total
    print(json.dumps({
        "requests": total.num_requests,
        "failures": total.num_failures,
        "names": sorted(name for name, _ in environment.stats.entries),
        "errors": [str(error.error) for error in environment.stats.errors.values()],
    }))  # fmt: skip


if __name__ == "__main__":
    main()
