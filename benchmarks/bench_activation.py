"""The activation loop through a real ``cible serve``: tag, segment, automation, webhook.

Two measures, on a workspace of ``--customers`` customers (each with e-mail consent):

1. **A segment's worth of webhooks.** 10,000 customers get the tag ``promo`` in one
   API call (``POST /api/tags/promo/customers``); they are re-evaluated live, enter
   the segment ``promo-members`` (``{tag: promo}``), the automation on that segment
   queues one signed webhook each, and the delivery worker sends them to a local
   receiver (its own process, answering 200 at once). Measured: webhooks per second
   from the API call to the last arrival, and from the first arrival to the last.
2. **One event to its webhook.** ``--probes`` page views of the pricing page, sent one
   after the other through ``/v1/page``, each starting an automation whose one step
   is a webhook; the time from sending the event to the webhook's arrival (p50, p99).

Beside them, in the same run, the obvious alternative: a batch run (``POST
/api/runs``) to find who entered, then one ``httpx.post`` per member, one after the
other (measured on ``--baseline`` posts).

Run: ``make bench-activation``, or
``.venv/bin/python benchmarks/bench_activation.py [--customers N] [--probes N]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import tomli_w

from cible import Workspace
from cible.server.served import read_served

HERE = Path(__file__).parent


def _webhooks_bench() -> ModuleType:
    """``bench_webhooks.py``: its receiver, secret and one-at-a-time baseline."""
    spec = importlib.util.spec_from_file_location("bench_webhooks", HERE / "bench_webhooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _webhooks_bench()


def _workspace(folder: Path, count: int, receiver: str) -> str:
    """The shop, its segment and automations; returns an ingest write key."""
    with Workspace.create(folder) as ws:
        customers = folder.parent / "customers.csv"
        customers.write_text(
            "customer_id,email,first_name\n"
            + "".join(f"c{n:06d},c{n}@example.com,Name{n}\n" for n in range(count))
        )
        consents = folder.parent / "consents.csv"
        consents.write_text(
            "customer_id,channel,purpose,status\n"
            + "".join(f"c{n:06d},email,marketing,granted\n" for n in range(count))
        )
        ws.imports.load("customers", customers)
        ws.imports.load("consents", consents)
    path = folder / "cible.toml"
    settings = tomllib.loads(path.read_text())
    settings["activation"] = {**settings.get("activation", {}), "allow_hosts": ["127.0.0.1"]}
    settings["webhooks"] = {"crm": {"url": receiver + "/hooks/crm", "secret_env": BENCH.SECRET_ENV}}
    settings["live"] = {**settings.get("live", {}), "sweep_interval_seconds": 0}
    path.write_text(tomli_w.dumps(settings))
    with Workspace.open(folder) as ws:
        ws.tags.define("promo")
        ws.segments.add({"id": "promo-members", "name": "Promo", "where": {"tag": "promo"}})
        ws.run()
        ws.automations.add(
            {
                "id": "promo-webhook",
                "trigger": {"segment": "promo-members"},
                "steps": [{"webhook": {"name": "crm", "event": "segment.entered"}}],
            }
        )
        ws.automations.add(
            {
                "id": "pricing",
                "trigger": {
                    "event": {
                        "type": "page",
                        "where": [{"property": "url", "op": "contains", "value": "/tarifs"}],
                    }
                },
                "steps": [{"webhook": {"name": "crm", "event": "pricing.viewed"}}],
            }
        )
        key, _ = ws.tokens.create("bench-site", "ingest")
    return key


def _arrived(receiver: str) -> list[float]:
    return [t for _, t in BENCH._arrivals(receiver)]


def _wait_count(receiver: str, count: int, seconds: float) -> list[float]:
    deadline = time.time() + seconds
    while True:
        found = _arrived(receiver)
        if len(found) >= count or time.time() > deadline:
            return found
        time.sleep(0.01)


def measure(count: int, probes: int, receiver: str) -> dict[str, Any]:
    """Both measures through one ``cible serve``; then the batch alternative's run time."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "shop"
        key = _workspace(folder, max(count, probes), receiver)
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "cible"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--workspace",
                str(folder),
            ],
            stdout=subprocess.DEVNULL,
            env={**os.environ, BENCH.SECRET_ENV: BENCH.SECRET},
        )
        try:
            while (found := read_served(folder)) is None:
                assert server.poll() is None, "cible serve stopped"
                time.sleep(0.05)
            url = found.url
            token = (folder / "cible.serve.token").read_text().strip()
            auth = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=url, timeout=600) as api:
                # 2. One event to its webhook, first (a quiet server).
                latencies = []
                for n in range(probes):
                    before = len(_arrived(receiver))
                    sent = time.time()
                    answer = api.post(
                        "/v1/page",
                        json={"userId": f"c{n:06d}", "properties": {"url": "https://x/fr/tarifs"}},
                        auth=(key, ""),
                    )
                    assert answer.status_code == 200, answer.text
                    arrivals = _wait_count(receiver, before + 1, 30)
                    latencies.append(max(arrivals) - sent)
                # 1. A segment's worth of webhooks.
                before = len(_arrived(receiver))
                ids = [f"c{n:06d}" for n in range(count)]
                started = time.time()
                answer = api.post(
                    "/api/tags/promo/customers", json={"customer_ids": ids}, headers=auth
                )
                assert answer.status_code == 200, answer.text
                tagged = time.time()
                arrivals = _wait_count(receiver, before + count, 600)[before:]
                assert len(arrivals) == count, f"{len(arrivals)} of {count} webhooks arrived"
                # The alternative's first half: a batch run to learn who entered.
                run_started = time.time()
                job = api.post("/api/runs", headers=auth).json()["job"]
                while api.get(f"/api/jobs/{job['job_id']}", headers=auth).json()["state"] in (
                    "queued",
                    "running",
                ):
                    time.sleep(0.1)
                run_seconds = time.time() - run_started
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=120)
        with Workspace.open(folder, read_only=True) as ws:
            statuses = dict(
                ws.store.connection.execute(
                    "SELECT status, count(*) FROM deliveries GROUP BY status"
                ).fetchall()
            )
    latencies.sort()
    last, first = max(arrivals), min(arrivals)
    return {
        "customers": count,
        "tag_call_s": tagged - started,
        "per_second": count / (last - started),
        "per_second_from_first": count / (last - first),
        "first_webhook_s": first - started,
        "all_webhooks_s": last - started,
        "event_p50_ms": 1000 * statistics.median(latencies),
        "event_p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "event_max_ms": 1000 * latencies[-1],
        "batch_run_s": run_seconds,
        "deliveries": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--baseline", type=int, default=1_000)
    options = parser.parse_args()
    port = BENCH._free_port()
    receiver = subprocess.Popen(
        [sys.executable, str(HERE / "bench_webhooks.py"), "--receiver", str(port)]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                _arrived(url)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        found = measure(options.customers, options.probes, url)
        baseline = BENCH.one_at_a_time(options.baseline, url, keep_alive=False)
    finally:
        receiver.terminate()
    for name, value in found.items():
        print(f"{name:>24}: {value:,.1f}" if isinstance(value, float) else f"{name:>24}: {value}")
    alternative = found["batch_run_s"] + found["customers"] / baseline
    print(f"{'one httpx.post at a time':>24}: {baseline:,.1f}/s")
    print(
        f"{'alternative, all':>24}: {alternative:,.1f} s (a batch run, then "
        f"{found['customers']:,} posts one by one) vs {found['all_webhooks_s']:,.1f} s"
    )


if __name__ == "__main__":
    main()
