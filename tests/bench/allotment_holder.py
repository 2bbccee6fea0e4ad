"""Hold an Allotment with this process inside it until a signal arrives; for the clean-up tests.

Usage: python allotment_holder.py CPUS PERIOD_US
Prints one JSON line, {"directories": [...]}, once the cgroup exists and holds this process,
then waits. A process started from a shell without job control inherits SIGINT ignored, and
Python keeps it ignored; the default handler is set here so SIGINT is tested as a user sends it.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from bench.measure.allotment import Allotment


def main() -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with Allotment(float(sys.argv[1]), int(sys.argv[2])) as allotment:
        allotment.add(os.getpid())
        print(json.dumps({"directories": [str(path) for path in allotment.directories]}))
        sys.stdout.flush()
        while True:
            signal.pause()


if __name__ == "__main__":
    main()
