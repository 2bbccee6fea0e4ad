"""Benchmarks: `python -m bench run|report|perf`."""
