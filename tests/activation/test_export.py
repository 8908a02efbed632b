"""Audiences: consent per channel against a pandas reference, no contact field for analysis."""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cible import Workspace
from cible.activation.export import CONTACT_FIELDS
from cible.cli.app import app
from cible.domain.errors import CibleError

AS_OF = datetime(2025, 2, 1)
NOW = datetime(2025, 3, 1)
STATUSES = ["granted", "denied", "withdrawn", None]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 customers, random consents per channel, some with a bad or missing contact."""
    folder = tmp_path_factory.mktemp("export")
    rng = random.Random(11)
    customers, orders, consents = [], [], []
    for i in range(300):
        cid = f"C{i:03d}" if i % 50 else f'=HYPERLINK("http://x")-{i}'
        email = rng.choice([f"c{i}@example.com", f"c{i}@example.com", "", "not-an-email"])
        phone = rng.choice(["06 12 34 56 78", "", "123"])
        customers.append([cid, email, phone, f"First{i}", f"Last{i}", "75011", "Paris", "FR"])
        orders.append([f"O{i}", cid, "2025-01-15", "20"])
        for channel in ("email", "sms", "post"):
            status = rng.choice(STATUSES)
            if status:
                # A few records dated after NOW: not yet valid when the export is made.
                when = "2025-04-01" if rng.random() < 0.05 else "2024-06-01"
                consents.append([cid, channel, "marketing", status, when])
        if rng.random() < 0.5:
            consents.append([cid, "email", "profiling", "granted", "2024-06-01"])
    _write(
        folder / "c.csv",
        [
            "customer_id",
            "email",
            "phone",
            "first_name",
            "last_name",
            "postal_code",
            "city",
            "country",
        ],
        customers,
    )
    _write(folder / "o.csv", ["order_id", "customer_id", "ordered_at", "amount"], orders)
    _write(
        folder / "k.csv", ["customer_id", "channel", "purpose", "status", "recorded_at"], consents
    )
    with Workspace.create(folder / "ws") as ws:
        for kind, name in (("customers", "c"), ("orders", "o"), ("consents", "k")):
            ws.imports.load(kind, folder / f"{name}.csv")
        ws.run(as_of=AS_OF)
    return folder


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _reference(folder: Path, channel: str) -> tuple[set[str], dict[str, int]]:
    """Who may be contacted, from the source files with pandas alone."""
    customers = pd.read_csv(folder / "c.csv", dtype=str, keep_default_na=False)
    consents = pd.read_csv(folder / "k.csv", dtype=str)
    valid = consents[
        (consents.channel == channel)
        & (consents.purpose == "marketing")
        & (pd.to_datetime(consents.recorded_at) < NOW)
    ].set_index("customer_id")["status"]
    contact = CONTACT_FIELDS[channel][0]
    good = {
        "email": lambda v: v.endswith("@example.com"),
        "sms": lambda v: v.startswith("06"),
        "post": lambda v: v != "",
    }[channel]
    kept, excluded = set(), {"no_consent": 0, "denied": 0, "withdrawn": 0, "no_contact": 0}
    for row in customers.itertuples():
        status = valid.get(row.customer_id)
        if status is None:
            excluded["no_consent"] += 1
        elif status != "granted":
            excluded[status] += 1
        elif not good(getattr(row, contact)):
            excluded["no_contact"] += 1
        else:
            kept.add(row.customer_id)
    return kept, {k: v for k, v in excluded.items() if v}


@pytest.mark.parametrize("channel", ["email", "sms", "post"])
def test_a_channel_export_holds_only_consenting_reachable_members(shop: Path, channel: str):
    with Workspace.open(shop / "ws", read_only=True) as ws:
        audience = ws.exports.audience("lifecycle-new", channel, now=NOW)
    kept, excluded = _reference(shop, channel)
    assert audience.members == 300
    assert set(audience.table.column("customer_id").to_pylist()) == kept
    assert audience.excluded == excluded
    assert audience.exported + sum(audience.excluded.values()) == audience.members
    assert CONTACT_FIELDS[channel][0] in audience.table.column_names


def test_an_analysis_export_carries_no_contact_field(shop: Path):
    with Workspace.open(shop / "ws", read_only=True) as ws:
        audience = ws.exports.audience("lifecycle-new")
        personal = {
            f.name
            for t, f in ws.registry.fields()
            if t.name == "customers" and f.name != "customer_id" and f.sensitivity != "none"
        }
    assert audience.exported == 300 and audience.excluded == {}
    assert "email" in personal and "phone" in personal and "last_name" in personal
    assert not personal & set(audience.table.column_names)


def test_limit_keeps_the_counts_of_the_whole_segment(shop: Path):
    with Workspace.open(shop / "ws", read_only=True) as ws:
        full = ws.exports.audience("lifecycle-new", "email", now=NOW)
        head = ws.exports.audience("lifecycle-new", "email", limit=5, now=NOW)
        with pytest.raises(CibleError, match="Unknown channel 'fax'"):
            ws.exports.audience("lifecycle-new", "fax")
        with pytest.raises(CibleError, match="positive"):
            ws.exports.audience("lifecycle-new", limit=-1)
    assert head.exported == 5 and head.excluded == full.excluded


def test_cli_export_neutralises_formulas_and_says_who_was_left_out(shop: Path, tmp_path: Path):
    runner = CliRunner()
    out = tmp_path / "members.csv"
    result = runner.invoke(
        app,
        [
            "segments",
            "members",
            "lifecycle-new",
            "--channel",
            "email",
            "--output",
            str(out),
            "-w",
            str(shop / "ws"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Left out" in result.output and "consent withdrawn" in result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert all(
        not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row
    )
    analysis = runner.invoke(app, ["segments", "members", "lifecycle-new", "-w", str(shop / "ws")])
    ids = [row["customer_id"] for row in csv.DictReader(io.StringIO(analysis.stdout))]
    assert '\'=HYPERLINK("http://x")-0' in ids
    french = runner.invoke(
        app,
        [
            "segments",
            "members",
            "lifecycle-new",
            "--channel",
            "sms",
            "--lang",
            "fr",
            "--output",
            str(tmp_path / "m.parquet"),
            "-w",
            str(shop / "ws"),
        ],
    )
    assert french.exit_code == 0 and "écartés" in french.output


def test_an_unwritable_output_leaves_nothing_and_says_why(shop: Path, tmp_path: Path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    result = CliRunner().invoke(
        app,
        [
            "segments",
            "members",
            "lifecycle-new",
            "--output",
            str(blocker / "m.csv"),
            "-w",
            str(shop / "ws"),
        ],
    )
    assert result.exit_code == 1
    assert "Cannot write" in result.output and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == [blocker]


def test_an_empty_segment_exports_an_empty_audience(shop: Path):
    with Workspace.open(shop / "ws", read_only=True) as ws:
        audience = ws.exports.audience("rfm-champions", "email", now=NOW)
    # Every customer bought once on the same day: no champion.
    assert audience.members == 0 and audience.exported == 0 and audience.excluded == {}
    assert "email" in audience.table.column_names
