"""Locust tests: pure modules are imported here (`lib` is found through pytest's pythonpath,
pyproject.toml, as Locust finds it beside main.py); anything that imports locust (and so
gevent's monkey-patching) runs in a subprocess, see library_run.py. The chart fixtures they
use (`helm`, `render`) come from tests/conftest.py."""
