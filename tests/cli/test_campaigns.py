"""``cible campaigns`` on a local workspace and through a served one."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cible import Workspace
from cible.access.roles import Role
from cible.cli import campaigns as cli_campaigns
from cible.cli import definition_files, remote
from cible.cli.app import app
from cible.cli.remote import Remote
from cible.domain.clock import utc_now
from cible.server.app import create_app
from cible.server.served import Served
from tests.activation.conftest import make_shop
from tests.server.conftest import make_workspace

runner = CliRunner()


def cible(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def _write(path: Path, id: str, offer: str, priority: int) -> Path:
    start, end = utc_now().date() - timedelta(days=1), utc_now().date() + timedelta(days=20)
    path.write_text(
        f"id: {id}\nname: {{en: {id}, fr: {id}}}\nsegments: [lifecycle-new]\nchannel: email\n"
        f"variants:\n  - {{id: main, share: 0.8, message: 'crm:{id}', offer: {offer}}}\n"
        f"holdout: 0.2\npriority: {priority}\nstart: {start}\nend: {end}\n"
    )
    return path


def test_campaigns_validated_added_launched_with_conflicts_and_assignments(
    tmp_path: Path,
) -> None:
    shop = str(make_shop(tmp_path))
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: bad\nsegments: [lifecycle-new]\nchannel: email\nstart: 2025-01-01\n"
        "end: 2025-01-31\nvariants:\n  - {id: a, share: 0.5, template: t, offer: {kind: discount}}\n"
        "holdout: 0.5\n"
    )
    code, out = cible("campaigns", "validate", str(bad), "-w", shop)
    assert code == 1 and "bad.yaml: variants[0].offer: a discount needs a value" in out
    full = _write(tmp_path / "full.yaml", "full", "{kind: full_price}", 1)
    sale = _write(tmp_path / "sale.yaml", "sale", "{kind: discount, value: 30}", 5)
    code, out = cible("campaigns", "validate", str(full), "-w", shop)
    assert code == 0 and "campaign full is valid" in out
    for path in (full, sale):
        code, out = cible("campaigns", "add", str(path), "-w", shop)
        assert code == 0 and "version 1, draft" in out
    code, out = cible("campaigns", "conflicts", "-w", shop, "--json")
    assert json.loads(out) == [
        {
            "campaigns": ["full", "sale"],
            "category": "all",
            "offers": ["full price (all)", "discount 30% (all)"],
            "customers": 2,
            "keeps": "sale",
        }
    ]
    code, out = cible("campaigns", "conflicts", "-w", shop)
    assert code == 0 and "Contradictory offers" in out and "full price" in out
    code, out = cible("campaigns", "launch", "full", "-w", shop)
    assert code == 0 and "2 of 4 targeted customers eligible" in out
    assert "Excluded, consent withdrawn: 1" in out
    code, out = cible("campaigns", "launch", "sale", "-w", shop)
    assert code == 1 and "--resolve-by-priority" in out
    code, out = cible("campaigns", "launch", "sale", "--resolve-by-priority", "-w", shop, "--json")
    assert code == 0 and json.loads(out)["moved"] == {"full": 2}
    code, out = cible("campaigns", "assignments", "full", "-c", "a", "-w", shop)
    assert code == 0 and "excluded (kept by a campaign of higher priority)" in out and "sale" in out
    code, out = cible("campaigns", "assignments", "sale", "-w", shop, "--json")
    arms = json.loads(out)["arms"]
    assert [a["arm"] for a in arms] == ["main", "holdout"] and sum(a["eligible"] for a in arms) == 2
    code, out = cible("campaigns", "pause", "sale", "-w", shop)
    assert code == 0 and "Campaign sale is paused" in out
    code, out = cible("campaigns", "end", "full", "-w", shop, "--json")
    assert json.loads(out)["status"] == "ended"
    code, out = cible("campaigns", "show", "sale", "-w", shop)
    assert code == 0 and "value: 30" in out and "holdout" in out
    code, out = cible("campaigns", "list", "-w", shop, "--json")
    assert [(c["id"], c["status"]) for c in json.loads(out)] == [
        ("full", "ended"),
        ("sale", "paused"),
    ]
    code, out = cible("campaigns", "conflicts", "-w", shop, "--lang", "fr")
    assert code == 0 and "Aucune offre contradictoire" in out
    with Workspace.open(shop) as ws:
        actions = [e.action for e in ws.audit_log.entries(limit=20)]
    assert {"campaign.save", "campaign.launch", "campaign.pause", "campaign.end"} <= set(actions)
    assert actions.count("campaign.launch") == 3  # the refused launch is recorded too


def test_campaign_commands_go_through_a_served_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"
    secrets = make_workspace(folder)
    shop = folder / "shop"
    url = "http://served.test"
    with TestClient(create_app(shop)) as client:

        def through_client(method: str, target: str, **options: Any) -> Any:
            options.pop("timeout", None)
            return client.request(method, target.removeprefix(url), **options)

        monkeypatch.setattr(remote.httpx, "request", through_client)
        served = Remote(Served(url, 1, "now"), secrets[Role.EDITOR])
        monkeypatch.setattr(cli_campaigns, "connect", lambda workspace: served)
        monkeypatch.setattr(definition_files, "connect", lambda workspace: served)
        full = _write(tmp_path / "full.yaml", "full", "{kind: full_price}", 1)
        sale = _write(tmp_path / "sale.yaml", "sale", "{kind: discount, value: 30}", 5)
        code, out = cible("campaigns", "validate", str(full), "-w", str(shop))
        assert code == 0 and "campaign full is valid" in out, out
        for path in (full, sale):
            code, out = cible("campaigns", "add", str(path), "-w", str(shop))
            assert code == 0 and "version 1, draft" in out
        code, out = cible("campaigns", "conflicts", "-w", str(shop), "--json")
        assert [c["keeps"] for c in json.loads(out)] == ["sale"]
        code, out = cible("campaigns", "launch", "full", "-w", str(shop))
        assert code == 0 and "2 of 3 targeted customers eligible" in out
        code, out = cible("campaigns", "launch", "sale", "-w", str(shop))
        assert code == 1 and "The server answered 400" in out and "--resolve-by-priority" in out
        code, out = cible("campaigns", "launch", "sale", "--resolve-by-priority", "-w", str(shop))
        assert code == 0
        code, out = cible("campaigns", "assignments", "full", "-c", "a", "-w", str(shop), "--json")
        assert json.loads(out)["customer"]["conflict_with"] == "sale"
        code, out = cible("campaigns", "pause", "sale", "-w", str(shop))
        assert code == 0 and "is paused" in out
        code, out = cible("campaigns", "end", "sale", "-w", str(shop))
        assert code == 0 and "is ended" in out
        code, out = cible("campaigns", "show", "full", "-w", str(shop), "--json")
        assert json.loads(out)["status"] == "live"
        code, out = cible("campaigns", "send", "full", "--dry-run", "-w", str(shop))
        assert code == 1 and "webhook: required to send variant 'main'" in out
        code, out = cible("campaigns", "sends", "full", "-w", str(shop), "--json")
        assert code == 0 and json.loads(out)["arms"]["main"]["queued"] == 0
        code, out = cible("campaigns", "list", "-w", str(shop), "--json")
        assert [c["id"] for c in json.loads(out)] == ["full", "sale"]
        entries = client.get(
            "/api/audit",
            params={"limit": 50},
            headers={"Authorization": f"Bearer {secrets[Role.ADMIN]}"},
        ).json()["entries"]
    assert {e["actor"] for e in entries if e["action"].startswith("campaign.")} == {"editor"}


def test_a_campaign_sent_from_the_command_line_once_with_a_dry_run_first(tmp_path: Path) -> None:
    shop = str(make_shop(tmp_path))  # a and d consent and have an address
    with Workspace.open(shop) as ws:
        ws.templates.add({"id": "hi", "name": "Hi", "subject": {"en": "Hi"}, "html": {"en": "Hi"}})
    start, end = utc_now().date() - timedelta(days=1), utc_now().date() + timedelta(days=20)
    path = tmp_path / "news.yaml"
    path.write_text(
        "id: news\nsegments: [lifecycle-new]\nchannel: email\n"
        f"variants: [{{id: main, share: 1, template: hi}}]\nstart: {start}\nend: {end}\n"
    )
    assert cible("campaigns", "add", str(path), "-w", shop)[0] == 0
    code, out = cible("campaigns", "send", "news", "-w", shop)
    assert code == 1 and "is a draft: launch it first" in out
    assert cible("campaigns", "launch", "news", "-w", shop)[0] == 0
    code, out = cible("campaigns", "send", "news", "--dry-run", "-w", shop)
    assert code == 0 and "Dry run: nothing was queued" in out and "2 messages would be" in out
    code, out = cible("campaigns", "send", "news", "-w", shop)
    assert code == 0 and "Campaign news: 2 messages queued." in out and "Holdout" in out
    code, out = cible("campaigns", "send", "news", "-w", shop, "--json")
    assert json.loads(out)["arms"] == {"main": {"queued": 0, "already_sent": 2, "no_address": 0}}
    code, out = cible("campaigns", "sends", "news", "-w", shop, "--lang", "fr")
    assert code == 0 and "Messages de news" in out and "en attente" in out
    code, out = cible("campaigns", "sends", "news", "-w", shop, "--json")
    assert json.loads(out)["arms"]["main"]["pending"] == 2
    with Workspace.open(shop) as ws:
        actions = [e.action for e in ws.audit_log.entries(limit=20)]
        assert len(ws.deliveries.list()) == 2
    assert actions.count("campaign.send") == 3  # the refused draft is recorded too
