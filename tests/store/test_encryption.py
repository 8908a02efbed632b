"""Encryption at rest: an encrypted workspace's files hold no customer value in clear.

DuckDB writes encrypted files with OpenSSL from its httpfs extension; this machine
has none, so the tests accept DuckDB's built-in mbedtls (CIBLE_ENCRYPTION_ALLOW_MBEDTLS),
which encrypts the same way (AES-256-GCM) with nonces DuckDB does not trust.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cible import Workspace
from cible.cli.app import app
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import WorkspaceError
from cible.store.backend import KEY_VARIABLE, MBEDTLS_VARIABLE

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
