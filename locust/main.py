"""Celsiusify locustfile: `locust -f locust/main.py --host URL [UserClass …] [--tags …]`.

User classes (select by name, or by tag):
  CelsiusifyGetUser    tags: celsiusify, celsiusify-get    GET /convert
  CelsiusifyBatchUser  tags: celsiusify, celsiusify-batch  POST /convert
  TFServingUser        tags: tfserving                     POST /v1/models/celsiusify:predict
Options (`locust -f locust/main.py --help` lists them, each with its environment variable;
lib/options.py declares them): --load-target/LOAD_TARGET, --load-shape/LOAD_SHAPE,
--step-*/STEP_*, --celsiusify-batch-size, --tfserving-*, --failure-examples.

Which classes exist. LOAD_TARGET=celsiusify (default) defines the two Celsiusify users,
tfserving the TF Serving one, all the three. Name the one class a run measures (on the command
line, as `python -m bench run` does, or in LOCUST_USER_CLASSES, as locust/values.yaml does
in-cluster): unnamed, Locust runs every defined class and mixes GET with batch POSTs, but never
TF Serving into a Celsiusify run. LOAD_SHAPE=step defines the step-load shape; without it
-u/-r/-t work as usual. The host always comes from --host or LOCUST_HOST.

Why the choice is made here, at import, with plain imports: Locust collects the user and shape
classes a run may use from this module's namespace when it imports it (vars() of the module,
locust/util/load_locustfile.py, Locust 2.47), before it parses any option. Narrowing the classes
later (in events.init) would be too late for `--list`, `--show-task-ratio` and the web UI's
class picker, which would offer TF Serving in a Celsiusify run. So lib.options.chosen() reads
the two choosing options first, from the flags, the environment or a Locust config file, with
Locust's own pre-parser (as Locust reads -f), and the imports below name the classes they
define: no generated names.

Where `lib` comes from: Locust puts this file's directory on sys.path while it imports it, so
`lib` is the package beside it, here as in the deliveryhero chart (main.py from one ConfigMap at
/mnt/locust/main.py, lib/ from another at /mnt/locust/lib/). Run as a script it is the same
directory (sys.path[0]).

Debugging: `python locust/main.py --host URL [--load-target tfserving]` runs one user of the
first defined class in this process with Locust's run_single_user, printing every request.
"""

from pathlib import Path

import gevent
from lib import options, share
from locust.runners import WorkerRunner

from locust import argument_parser, events

TARGET, SHAPE = options.chosen(argument_parser.get_empty_argument_parser(add_help=False))

# Imported for Locust to find in this module's namespace (F401: used by name only).
if TARGET in ("celsiusify", "all"):
    from lib.users import CelsiusifyBatchUser, CelsiusifyGetUser  # noqa: F401
if TARGET in ("tfserving", "all"):
    from lib.users import TFServingUser
if SHAPE == "step":
    from lib.shapes import StepLoadShape  # noqa: F401

events.init_command_line_parser.add_listener(options.add_arguments)


@events.init.add_listener
def refuse_a_bad_step_load(environment, **_kwargs):
    """Stop at start-up with one line when the step numbers make no load."""
    if SHAPE != "step":
        return
    try:
        options.LoadOptions.of(environment.parsed_options).stages()
    except ValueError as error:
        raise SystemExit(f"LOAD_SHAPE=step: {error}") from None


@events.report_to_master.add_listener
def send_who_answered(data, **_kwargs):
    """A worker's counts go to the master with each report (drained: each is sent once)."""
    data[share.REPORT_KEY] = share.COUNTER.drain()


@events.worker_report.add_listener
def receive_who_answered(data, **_kwargs):
    """The master adds each worker's counts to its own."""
    share.COUNTER.merge(data.get(share.REPORT_KEY, ()))


@events.init.add_listener
def write_who_answered(environment, **_kwargs):
    """The master (or a local run) with --csv writes <prefix>_share.csv every interval and at
    the end; a run without --csv or a target with no identifier writes nothing."""
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if not prefix or isinstance(environment.runner, WorkerRunner):
        return
    path = Path(f"{prefix}{share.SUFFIX}")

    def write(**_kwargs):
        if share.COUNTER.counts:
            share.COUNTER.write(path)

    def every_interval():
        while True:
            gevent.sleep(share.INTERVAL_SECONDS)
            write()

    gevent.spawn(every_interval)
    environment.events.quitting.add_listener(write)


if __name__ == "__main__":
    from locust import run_single_user

    run_single_user(CelsiusifyGetUser if TARGET != "tfserving" else TFServingUser)
