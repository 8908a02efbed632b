"""API tokens kept in the workspace: names, roles and SHA-256 digests, never secrets.

The ``api_tokens`` table (schema version 7; the ``unmask`` grant since 17) holds one
row per token ever created;
revoking sets ``revoked_at`` and keeps the row, so the audit log's references to a
token stay readable. Every change is written with its audit log entry in the same
transaction: a token cannot change without a trace.

Examples
--------
>>> import duckdb
>>> from datetime import datetime
>>> from cible.store import audit_log
>>> con = duckdb.connect()
>>> _ = con.execute(CREATE_TABLE)
>>> _ = con.execute(UPGRADE_UNMASK)
>>> _ = con.execute(audit_log.CREATE_TABLE)
>>> at = datetime(2025, 1, 2)
>>> note = audit_log.NewEntry(at, "cli", "token.create", "", "ok")
>>> create(con, name="ci", role="viewer", digest="ab" * 32, created_at=at, audit=note)
1
>>> [(t.token_id, t.name, t.unmask, t.revoked_at) for t in list_tokens(con)]
[(1, 'ci', False, None)]
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import duckdb

from cible.store import audit_log
from cible.store.ids import next_id
from cible.store.transaction import transaction

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS api_tokens (
  token_id BIGINT, name VARCHAR, role VARCHAR, digest VARCHAR,
  created_at TIMESTAMP, revoked_at TIMESTAMP
)
"""

#: Schema 17: the grant to read e-mails and phones in clear below the editor role
#: (cible.access.masking); tokens created before it have none.
UPGRADE_UNMASK = "ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS unmask BOOLEAN DEFAULT false"


@dataclass(frozen=True)
class TokenRow:
    """A stored token: its SHA-256 ``digest`` (hex), never the secret."""

    token_id: int
    name: str
    role: str
    digest: str
    created_at: datetime
    revoked_at: datetime | None
    unmask: bool = False


def create(
    con: duckdb.DuckDBPyConnection,
    *,
    name: str,
    role: str,
    digest: str,
    created_at: datetime,
    audit: audit_log.NewEntry,
    unmask: bool = False,
) -> int:
    """Store a token and its audit entry (target ``token:<id>``) at once; return its id."""
    with transaction(con):
        token_id = next_id(con, "api_tokens", "token_id")
        con.execute(
            "INSERT INTO api_tokens (token_id, name, role, digest, created_at, unmask) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [token_id, name, role, digest, created_at, unmask],
        )
        audit_log.insert(con, replace(audit, target=f"token:{token_id}"))
    return token_id


def revoke(
    con: duckdb.DuckDBPyConnection,
    token_id: int,
    *,
    revoked_at: datetime,
    audit: audit_log.NewEntry,
) -> bool:
    """Mark a live token revoked, with its audit entry; False when none was live.

    The audit entry is written either way (a refused revocation is a change attempt
    too); its outcome becomes ``refused`` when nothing was revoked.
    """
    with transaction(con):
        live = con.execute(
            "SELECT count(*) FROM api_tokens WHERE token_id = ? AND revoked_at IS NULL",
            [token_id],
        ).fetchall()[0][0]
        if live:
            con.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE token_id = ?", [revoked_at, token_id]
            )
        outcome = audit.outcome if live else "refused"
        audit_log.insert(con, replace(audit, target=f"token:{token_id}", outcome=outcome))
    return bool(live)


def list_tokens(con: duckdb.DuckDBPyConnection, *, live_only: bool = False) -> list[TokenRow]:
    """Every token (or the live ones), oldest first."""
    where = "WHERE revoked_at IS NULL" if live_only else ""
    rows = con.execute(
        "SELECT token_id, name, role, digest, created_at, revoked_at, unmask "
        f"FROM api_tokens {where} ORDER BY token_id"
    ).fetchall()
    return [TokenRow(int(i), n, r, d, c, rev, bool(u)) for i, n, r, d, c, rev, u in rows]
