"""Encryption at rest: an encrypted workspace's files hold no customer value in clear.

DuckDB writes encrypted files with OpenSSL from its httpfs extension; this machine
has none, so the tests accept DuckDB's built-in mbedtls (CIBLE_ENCRYPTION_ALLOW_MBEDTLS),
which encrypts the same way (AES-256-GCM) with nonces DuckDB does not trust.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pytest
from typer.testing import CliRunner

from cible import Workspace
from cible.cli.app import app
from cible.demo.duplicates import known_duplicates
from cible.domain.config import DedupeSection, WorkspaceConfig
from cible.domain.errors import WorkspaceError
from cible.importing import pipeline
from cible.quality import splink_model
from cible.quality.matching import find_duplicates
from cible.store.backend import KEY_VARIABLE, MBEDTLS_VARIABLE
from cible.store.import_tables import CATALOG
from cible.store.scratch import SPILL_FOLDER, scratch_database

CUSTOMERS = (
    "customer_id,email,phone,first_name,last_name\n"
    "a,zoe.quintard@example.com,+33612345678,Zoé,Quintard\n"
    "b,xavier.brulefer@example.org,+33698765432,Xavier,Brulefer\n"
)
ORDERS = "order_id,customer_id,ordered_at,amount\n1,a,2025-01-02,30\n2,b,2025-01-03,70\n"
SECRETS = (b"zoe.quintard", b"Quintard", b"xavier.brulefer", b"Brulefer")


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_VARIABLE, "correct horse battery staple")
    monkeypatch.setenv(MBEDTLS_VARIABLE, "1")
    return "correct horse battery staple"


def _shop(folder: Path, *, encrypted: bool) -> Path:
    folder.mkdir(parents=True)
    for kind, text in (("customers", CUSTOMERS), ("orders", ORDERS)):
        (folder / f"{kind}.csv").write_text(text)
    config = WorkspaceConfig.model_validate({"workspace": {"name": "shop", "encrypted": encrypted}})
    with Workspace.create(folder / "shop", config=config) as ws:
        ws.imports.load("customers", folder / "customers.csv")
        ws.imports.load("orders", folder / "orders.csv")
        ws.run(as_of=datetime(2025, 2, 1))
    return folder / "shop"


def _clear_values(shop: Path) -> set[bytes]:
    """The imported values found in the bytes of the workspace's database files."""
    found = set()
    for path in shop.glob("cible.duckdb*"):
        if path.is_file():
            data = path.read_bytes()
            found |= {value for value in SECRETS if value in data}
    return found


def test_encrypted_files_hold_no_imported_value(tmp_path: Path) -> None:
    plain = _shop(tmp_path / "plain", encrypted=False)
    encrypted = _shop(tmp_path / "encrypted", encrypted=True)
    # The same import in a plain workspace leaves every value readable in the file.
    assert _clear_values(plain) == set(SECRETS)
    assert _clear_values(encrypted) == set()
    with Workspace.open(encrypted) as ws:
        emails = ws.table("customers").email.to_pyarrow().to_pylist()
        assert sorted(emails) == ["xavier.brulefer@example.org", "zoe.quintard@example.com"]
    with Workspace.open(encrypted, read_only=True) as ws:
        assert ws.counts()["orders"] == 2


def test_a_missing_or_wrong_key_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = _shop(tmp_path / "data", encrypted=True)
    database = shop / "cible.duckdb"
    monkeypatch.delenv(KEY_VARIABLE)
    with pytest.raises(WorkspaceError) as missing:
        Workspace.open(shop)
    assert str(missing.value) == (
        f"The workspace database {database} is encrypted: set CIBLE_ENCRYPTION_KEY to its key."
    )
    monkeypatch.setenv(KEY_VARIABLE, "wrong")
    for read_only in (False, True):
        with pytest.raises(WorkspaceError) as wrong:
            Workspace.open(shop, read_only=read_only)
        assert str(wrong.value) == (
            f"CIBLE_ENCRYPTION_KEY is not the key of the encrypted workspace database {database}."
        )
    # A cible.toml that forgot the setting: the file says it is encrypted.
    config = shop / "cible.toml"
    config.write_text(config.read_text().replace("encrypted = true", "encrypted = false"))
    with pytest.raises(WorkspaceError, match=r"is encrypted but cible.toml does not say so"):
        Workspace.open(shop)


def test_erasure_rewrites_an_encrypted_file_that_stays_encrypted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = _shop(tmp_path / "data", encrypted=True)
    with Workspace.open(shop) as ws:
        ws.privacy.erase("a", actor="test")
        assert ws.table("customers").customer_id.to_pyarrow().to_pylist() == ["b"]
    assert _clear_values(shop) == set()
    with Workspace.open(shop) as ws:
        assert ws.table("customers").first_name.to_pyarrow().to_pylist() == ["Xavier"]
    monkeypatch.setenv(KEY_VARIABLE, "wrong")
    with pytest.raises(WorkspaceError, match="is not the key"):
        Workspace.open(shop)


def test_cible_init_encrypt_needs_the_key_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.delenv(KEY_VARIABLE)
    refused = runner.invoke(app, ["init", str(tmp_path / "shop"), "--encrypt"])
    assert refused.exit_code == 1
    assert "is encrypted: set CIBLE_ENCRYPTION_KEY to its key." in refused.output
    assert not (tmp_path / "shop").exists()
    monkeypatch.setenv(KEY_VARIABLE, "k")
    created = runner.invoke(app, ["init", str(tmp_path / "shop"), "--encrypt"])
    assert created.exit_code == 0, created.output
    assert "encrypted = true" in (tmp_path / "shop" / "cible.toml").read_text()
    monkeypatch.delenv(KEY_VARIABLE)
    with pytest.raises(WorkspaceError, match="set CIBLE_ENCRYPTION_KEY"):
        Workspace.open(tmp_path / "shop")


def test_a_rewrite_keeps_the_key_the_file_was_opened_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    """A server runs for weeks: its environment's key may change, or go, before an
    erasure rewrites the file. The copy is written, and reopened, under the key the
    workspace was opened with."""
    shop = _shop(tmp_path / "data", encrypted=True)
    with Workspace.open(shop) as ws:
        assert ws.store.encrypted
        monkeypatch.setenv(KEY_VARIABLE, "another key")
        ws.privacy.erase("a", actor="test")
        monkeypatch.delenv(KEY_VARIABLE)
        ws.privacy.erase("b", actor="test")
        assert ws.counts()["customers"] == 0
    assert _clear_values(shop) == set()
    monkeypatch.setenv(KEY_VARIABLE, "another key")
    with pytest.raises(WorkspaceError, match="is not the key"):
        Workspace.open(shop)
    monkeypatch.setenv(KEY_VARIABLE, key)
    with Workspace.open(shop) as ws:
        assert ws.counts()["orders"] == 0


def _spilled(encrypted: bool, folder: Path, monkeypatch: pytest.MonkeyPatch) -> set[bytes]:
    """The contact values found in what a scratch database spills to disk, while it
    holds more than its memory allows."""
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    settings = {"memory_limit": "40MB", "threads": "1"}
    with scratch_database(encrypted=encrypted, config=settings) as con:
        con.execute(
            "CREATE TABLE profiles AS SELECT 'zoe.quintard' || i::VARCHAR || '@example.com' "
            "|| repeat('x', 40) AS email FROM range(1500000) r(i)"
        )
        files = [p for p in (folder / SPILL_FOLDER).rglob("*") if p.is_file()]
        assert files, "nothing spilled: the test proves nothing"
        return {value for value in SECRETS if any(value in p.read_bytes() for p in files)}


def test_the_scratch_database_spills_encrypted_for_an_encrypted_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Splink's scratch database holds the profiles being matched; past its memory,
    # DuckDB writes them to the temporary folder: in clear for a plain workspace...
    assert _spilled(False, tmp_path / "plain", monkeypatch) == {b"zoe.quintard"}
    # ...and encrypted for an encrypted one.
    assert _spilled(True, tmp_path / "encrypted", monkeypatch) == set()


@pytest.mark.slow
def test_deduplication_matches_in_an_encrypted_scratch_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[bool] = []

    @contextmanager
    def spy(*, encrypted: bool = False, **kwargs: Any) -> Iterator[Any]:
        asked.append(encrypted)
        with scratch_database(encrypted=encrypted, **kwargs) as con:
            yield con

    monkeypatch.setattr(splink_model, "scratch_database", spy)
    profiles = ibis.memtable(known_duplicates(400, seed=2).profiles.replace({"": None}))
    encrypted = find_duplicates(profiles, DedupeSection(), encrypted=True)
    # Training and scoring all ran in an encrypted scratch database...
    assert encrypted.model_trained and len(asked) >= 2 and all(asked)
    # ...and found the same duplicates as in a plain one.
    runs = len(asked)
    plain = find_duplicates(profiles, DedupeSection())
    assert asked[runs:] == [False] * runs
    pd.testing.assert_frame_equal(encrypted.members, plain.members)


def test_an_import_holds_its_rows_encrypted_for_an_encrypted_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "HOLD_ON_DISK_BEYOND", 0)  # every file counts as large
    (tmp_path / "customers.csv").write_text(CUSTOMERS)
    config = WorkspaceConfig.model_validate({"workspace": {"name": "shop", "encrypted": True}})
    seen: list[tuple[str, bool]] = []
    with Workspace.create(tmp_path / "shop", config=config) as ws:

        def progress(step: str, done: int, total: int) -> None:
            if step == "merging":
                seen.extend(
                    ws.store.connection.execute(
                        "SELECT database_name, encrypted FROM duckdb_databases() "
                        "WHERE database_name = ?",
                        [CATALOG],
                    ).fetchall()
                )

        assert ws.imports.load("customers", tmp_path / "customers.csv", progress=progress).loaded
        # The workspace's own database is the default again.
        assert ws.table("customers").count().execute() == 2
    assert seen == [(CATALOG, True)]
