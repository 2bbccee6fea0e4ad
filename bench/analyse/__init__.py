"""Analysing: pure decisions over recorded runs (the capacity at an SLO, the headline and verdict,
the autoscaler's reactions, capacity planning), `bench import` and `bench compare`."""
