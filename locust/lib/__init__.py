"""Celsiusify load-test library: stdlib and locust only (mounted as a ConfigMap in-cluster)."""
