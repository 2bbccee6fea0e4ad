"""Run one Locust user class as a library for a few seconds; print stats as JSON.

Usage: python library_run.py HOST USER_CLASS SECONDS USERS
Runs in its own process because importing locust monkey-patches the interpreter.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "locust"))

import gevent
from lib import users
from locust.env import Environment


def main() -> None:
    host, class_name, seconds, count = (
        sys.argv[1],
        sys.argv[2],
        float(sys.argv[3]),
        int(sys.argv[4]),
    )
    environment = Environment(user_classes=[getattr(users, class_name)], host=host)
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
