"""What more than one test module uses, under public names; test modules import only these.

- `tests.helpers.server`: `python -m app` processes on free loopback ports.
- `tests.helpers.hostile`: raw-socket clients that behave as attackers do.
- `tests.helpers.docker`: the docker CLI, base images and image builds.
- `tests.helpers.helm`: the helm binary and chart rendering.
- `tests.helpers.e2e`: `python -m e2e` and its dry-run transcript.
- `tests.helpers.cluster`: the local test cluster: its kubeconfig, variables, commands, waits.
- `tests.helpers.objects`: rendered Kubernetes objects: by kind, strict validation, the app's flags.
- `tests.helpers.docs`: README.md and the pages of docs/, for tests that hold them to their word.

Fixtures built on them live in the nearest conftest.py that covers every user
(tests/conftest.py for `start_server`, `helm` and `render`); no module imports a
conftest or another test module (tests/test_layout.py checks it).
"""
