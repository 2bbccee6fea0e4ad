"""`python -m e2e` (`make e2e`): the in-cluster comparison of the FastAPI service and TF Serving
on the current kube context, in one command, into results/<UTC>-e2e/.

Steps, each printing its commands and how long it took:
  1. tools (docker, kubectl, helm, make; kind, minikube or the local cluster's ctr for loading)
     and the context (optionally a new kind cluster from e2e/values/kind-config.yaml,
     --kind-create);
  2. both images, built under a unique tag and loaded (--loader); --standin TARGET builds the
     stand-in image its manifest declares instead (tfserving: tests/standins/tfserving.py),
     labelled a stand-in in every output;
  3. CPU metrics: metrics-server from its official chart when `kubectl top pods` does not answer;
  4. both releases (same chart) in a namespace of the run's own (Pod Security "restricted"
     enforced), after checking that their CPU requests at maxReplicas (--max-replicas lowers it
     for a small cluster) fit the cluster's free CPU; `helm test` each;
  5. deliveryhero/locust against one target at a time (the Makefile's flags,
     e2e/values/locust.yaml);
  6. the HPA and the Locust workers' CPU recorded while it runs (replicas.csv, as `bench run
     --kube-hpa`; loadgen_pods.csv, from the metrics API);
  7. the CSVs copied out (share.csv too), `bench import`, `bench report` over both runs; the
     gate; the comparison: SERVER-LIMITED, LOWER BOUND (naming the side), REFUSED (a stand-in);
  8. everything it installed removed (not with --keep); on failure, first the pods, events
     and logs that explain it.
Exit status: 0 when every step passed and the gate held; 1 when a step failed, an answer was
wrong, the Celsiusify HPA never went above its minimum under the top step, or a capacity fell
below its --min-capacity floor; 2 for a missing tool, an unreachable cluster or bad options.
--dry-run prints every command in order and touches no cluster.
"""
