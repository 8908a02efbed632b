"""`cible deliveries list | show | retry` on a workspace that is not served."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner

from cible import Workspace
from cible.activation.deliveries import Sent
from cible.activation.webhooks import Attempt
from cible.cli.app import app
from cible.store.deliveries import NewDelivery

runner = CliRunner()
T0 = datetime(2025, 3, 3, 12, 0)


def test_list_show_retry_locally(tmp_path: Path):
    folder = tmp_path / "ws"
    with Workspace.create(folder) as ws:
        ws.store.enqueue_deliveries(
            [
                NewDelivery("k-1", "webhook", "c1", "sales", '{"a": 1}'),
                NewDelivery("k-2", "notify", None, "team@x.test", "{}"),
            ],
            at=T0,
        )
        first = ws.deliveries.claim(now=T0)
        ws.deliveries.record([Sent(first[0], Attempt("failed", 404, "HTTP 404: gone", 12.5), T0)])
    listed = runner.invoke(app, ["deliveries", "list", "--json", "-w", str(folder)])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["idempotency_key"], r["status"]) for r in rows] == [
        ("k-2", "pending"),
        ("k-1", "failed"),
    ]
    failed = runner.invoke(
        app, ["deliveries", "list", "--status", "failed", "-w", str(folder)], terminal_width=200
    )
    assert "HTTP 404: gone" in failed.output and "team@x.test" not in failed.output

    shown = runner.invoke(app, ["deliveries", "show", "1", "-w", str(folder)], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "Delivery 1 (webhook to sales): failed, key k-1" in shown.output
    assert "HTTP 404: gone" in shown.output

    retried = runner.invoke(app, ["deliveries", "retry", "1", "-w", str(folder)])
    assert retried.exit_code == 0 and "Delivery 1 is pending again." in retried.output
    again = runner.invoke(app, ["deliveries", "retry", "1", "-w", str(folder)])
    assert again.exit_code == 1 and "only a failed one can be retried" in again.output
    missing = runner.invoke(app, ["deliveries", "show", "9", "-w", str(folder)])
    assert missing.exit_code == 1 and "No delivery 9" in missing.output

    with Workspace.open(folder) as ws:
        actions = [(e.actor, e.action, e.outcome) for e in ws.audit_log.entries(limit=2)]
    assert actions == [("cli", "delivery.retry", "failed"), ("cli", "delivery.retry", "ok")]
