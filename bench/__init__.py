"""Celsiusify's local benchmark: `python -m bench <command> [options]` (-h for a command's help).

    stacks    `make bench`: FastAPI vs TF Serving in one CPU allotment into results/<UTC>-compare/
    run       a step-load Locust run against the local app (or --url) into results/<UTC>-<target>/
    import    a results folder from Locust CSVs made elsewhere (Locust in the cluster)
    report    report.pdf, report.html, PNGs and summary.md of one or more results folders
    compare   the verdict and the headline table of two or more results folders, in a terminal
    perf      the app against a bare Starlette app under wrk, and instructions per request
    overload  the app past its capacity: wrk at rising connection counts, then error-bomb bodies
    hpa       record one HPA into a replicas.csv beside Locust in the cluster (for import)

Three rooms: measure/ runs servers and load and records them, analyse/ decides over recorded
runs (pure), report/ draws them; results.py owns the results folder's format, and the commands
talk only through it. The in-cluster comparison is `python -m e2e`.
"""
