"""Measuring: the runs that load a server and record what happened (bench run, perf, overload,
the HPA recorder) and the processes, pinning and machine facts they need."""
