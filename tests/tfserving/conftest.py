"""TensorFlow tests: run where tensorflow imports (.venv-tf, made by `make tf-test`)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT / "locust", ROOT / "tfserving"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
