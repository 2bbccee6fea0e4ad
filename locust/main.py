"""Celsiusify locustfile: `locust -f locust/main.py --host URL [UserClass …] [--tags …]`.

User classes (select by name, or by tag):
  CelsiusifyGetUser    tags: celsiusify, celsiusify-get    GET /convert
  CelsiusifyBatchUser  tags: celsiusify, celsiusify-batch  POST /convert
  TFServingUser        tags: tfserving                     POST /v1/models/celsiusify:predict
LOAD_TARGET=celsiusify (default) exports the two Celsiusify users, tfserving the
TF Serving one, all exports all three. Name the one class a run measures (on the command
line, as `python -m bench run` does, or in LOCUST_USER_CLASSES, as locust/values.yaml does
in-cluster): unnamed, Locust runs every exported class and mixes GET with batch POSTs.
LOAD_SHAPE=step adds the step-load shape
(STEP_* variables, see lib/shapes.py); without it -u/-r/-t work as usual.
The host always comes from --host or LOCUST_HOST.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lib import users

_TARGETS = {
    "celsiusify": ("CelsiusifyGetUser", "CelsiusifyBatchUser"),
    "tfserving": ("TFServingUser",),
    "all": ("CelsiusifyGetUser", "CelsiusifyBatchUser", "TFServingUser"),
}
_target = os.environ.get("LOAD_TARGET", "celsiusify")
if _target not in _TARGETS:
    raise SystemExit(f"LOAD_TARGET must be one of {sorted(_TARGETS)}, not {_target!r}")
for _name in _TARGETS[_target]:
    globals()[_name] = getattr(users, _name)

if os.environ.get("LOAD_SHAPE", "") == "step":
    from lib.shapes import StepLoadShape  # noqa: F401
