"""New replicas get their share of keep-alive traffic only because connections have a bounded life.

kube-proxy picks a backend per connection, and keep-alive clients (Locust's users, pools,
proxies) keep theirs as long as they send: pods added by a scale-out see only connections opened
after they became Ready. The service bounds a connection's life (CELSIUSIFY_MAX_REQUESTS_PER_
CONNECTION, CELSIUSIFY_MAX_CONNECTION_AGE_SECONDS): the answer that reaches the bound says
`Connection: close`, the client reconnects through kube-proxy, to any Ready pod.

The chart at one replica with the HPA off, steady load from keep-alive clients that never open a
connection of their own accord, then `kubectl scale --replicas=3`: with the defaults each new pod
reaches its fair share (1/3 ± 20 % over a 5 s window) within FAIR_WITHIN seconds of Ready; with
the bound off the new pods stay (nearly) idle: the pinning the bound exists for, shown so this
test can fail.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bench.analyse.spread import fair_share_time
from tests.helpers.cluster import Run, wait_until_programmed
from tests.helpers.helm import CHART
from tests.helpers.keepalive import KeepAliveLoad

pytestmark = pytest.mark.cluster

RELEASE = "celsiusify-share"
CONNECTIONS = 24
# Each client pauses this long between answers: the load stays steady (about 100 req/s per
# connection at most) without starving the node's two cores, where the new pods must start.
PAUSE = 0.01
WINDOW = 5.0
# The default age bound (30 s, ± 10 % jitter) plus one window: every connection opened before
# the scale-out has been closed once by then.
FAIR_WITHIN = 40.0
UNBOUNDED = ("--set-string", "env.CELSIUSIFY_MAX_REQUESTS_PER_CONNECTION=0",
             "--set-string", "env.CELSIUSIFY_MAX_CONNECTION_AGE_SECONDS=0")  # fmt: skip


@pytest.fixture(params=["bounded", "unbounded"])
def release(request: pytest.FixtureRequest, helm: Run, kube: Run, namespace: str,
            api_image: str) -> Iterator[tuple[str, str]]:  # fmt: skip
    extra = UNBOUNDED if request.param == "unbounded" else ()
    installed = helm(
        "upgrade", "-i", RELEASE, str(CHART), "--namespace", namespace, "--wait", "--timeout",
        "300s", "--set", "autoscaling.enabled=false", "--set", "replicaCount=1", *extra,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    out = kube("get", "service", RELEASE, "-n", namespace, "-o", "jsonpath={.spec.clusterIP}")
    url = f"http://{out.stdout.strip()}/convert?fahrenheit=212"
    wait_until_programmed(url)
    yield request.param, url
    helm("uninstall", RELEASE, "--namespace", namespace, "--wait", "--timeout", "120s")


def test_new_replicas_get_their_share_only_with_a_bounded_connection_life(
    release: tuple[str, str], kube: Run, namespace: str
) -> None:
    mode, url = release
    with KeepAliveLoad(url, connections=CONNECTIONS, pause=PAUSE) as load:
        time.sleep(8)
        before = load.answers(0, load.now())
        assert len(before) == 1, before
        first = next(iter(before))
        scaled = kube("scale", f"deployment/{RELEASE}", "-n", namespace, "--replicas", "3")
        assert scaled.returncode == 0, scaled.stderr
        rolled = kube("rollout", "status", f"deployment/{RELEASE}", "-n", namespace,
                      "--timeout", "240s")  # fmt: skip
        assert rolled.returncode == 0, rolled.stderr
        ready = load.now()
        time.sleep(FAIR_WITHIN + WINDOW)
        end = load.now()
    per_second = {second: dict(counts) for second, counts in load.by_second.items()}
    new = sorted({name for counts in per_second.values() for name in counts} - {first})
    after = load.answers(ready, end)
    summary = {name: f"{after[name] / after.total():.1%}" for name in after}
    print(f"{mode}: {load.reconnects} reconnects, errors {dict(load.errors)}, "
          f"share after Ready {summary}")  # fmt: skip
    assert not load.errors, load.errors
    if mode == "bounded":
        assert len(new) == 2, f"new pods never answered: {summary}"
        times = {name: fair_share_time(per_second, name, ready, replicas=3, window=WINDOW)
                 for name in new}  # fmt: skip
        print(f"time from Ready to fair share (1/3 ± 20 % over {WINDOW:.0f} s): {times}")
        for name, seconds in times.items():
            assert seconds is not None, (name, times, summary)
            assert seconds <= FAIR_WITHIN, (name, times, summary)
    else:
        pinned = sum(after[name] for name in new) / after.total()
        print(f"unbounded: the new pods served {pinned:.2%} of answers after Ready")
        assert pinned < 0.05, summary
