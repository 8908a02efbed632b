"""``ws.tokens``: API tokens with roles, stored as SHA-256 digests, shown once.

A token is ``cible_`` followed by 32 random bytes in URL-safe base64
(:func:`secrets.token_urlsafe`). Only its SHA-256 digest is stored: a secret with 256
bits of entropy cannot be guessed from its digest, so a fast hash is enough and a
slow password hash (argon2, bcrypt) would only slow every request down
(docs/architecture.md). Checking a secret compares its digest with every live one
in constant time (:func:`hmac.compare_digest`), so the time taken tells nothing
about how close a guess was. Every change is written to the audit log in the same
transaction.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
...     secret, created = ws.tokens.create("dashboard", "viewer")
...     who = ws.tokens.authenticate(secret)
...     _ = ws.tokens.revoke(created.token_id)
...     after = ws.tokens.authenticate(secret)
>>> secret.startswith("cible_"), who.actor, who.role.value, after
(True, 'dashboard', 'viewer', None)

An analyst's token that may read e-mails and phones in clear
(:mod:`cible.access.masking`):

>>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
...     secret, created = ws.tokens.create("crm-sync", "analyst", unmask=True)
...     who = ws.tokens.authenticate(secret)
>>> created.unmask, who.unmask
(True, True)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cible.access.roles import LOCAL_USER, Principal, Role
from cible.domain.clock import utc_now
from cible.domain.errors import CibleError
from cible.store.audit_log import NewEntry
from cible.store.store import Store
from cible.store.tokens import TokenRow

#: What every token starts with, so that a leaked one is recognisable (secret scanners).
PREFIX = "cible_"

#: Random bytes in a token.
TOKEN_BYTES = 32

#: A token's name: what the audit log shows as its actor.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,99}")


def new_secret() -> str:
    """A fresh token: ``cible_`` and 32 random bytes, URL-safe base64 (43 characters)."""
    return PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def digest(secret: str) -> str:
    """The SHA-256 digest of ``secret``, in hex: what is stored and compared.

    Examples
    --------
    >>> digest("cible_x")[:16]
    '8ca33a25b04a8742'
    """
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """A stored token as people see it: never the secret, never its digest."""

    token_id: int
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None
    #: The grant to read e-mails and phones in clear below the editor role.
    unmask: bool = False

    @property
    def live(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None

    def as_dict(self) -> dict[str, Any]:
        """Plain dictionary for JSON."""
        return {
            "token_id": self.token_id,
            "name": self.name,
            "role": self.role.value,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "unmask": self.unmask,
        }

    @classmethod
    def of(cls, row: TokenRow) -> TokenInfo:
        """The public part of a stored row."""
        return cls(
            row.token_id, row.name, Role(row.role), row.created_at, row.revoked_at, row.unmask
        )


#: What :meth:`Tokens.create` returns beside the secret.
CreatedToken = TokenInfo


class Keyring:
    """Live tokens held in memory, to authenticate without reading the database.

    The server keeps one and loads it again after each token change, so that
    requests are authenticated even while a long job holds the database.

    Parameters
    ----------
    rows : iterable of TokenRow
        Stored tokens; revoked ones are left out.
    extra : iterable of (secret, Principal)
        Secrets known only to this process (the server's local-user token).

    Examples
    --------
    >>> ring = Keyring([], extra=[("cible_local", LOCAL_USER)])
    >>> ring.authenticate("cible_local"), ring.authenticate("cible_other")
    (Principal(actor='cli', role=<Role.ADMIN: 'admin'>, token_id=None, unmask=False), None)
    """

    def __init__(
        self, rows: Iterable[TokenRow], extra: Iterable[tuple[str, Principal]] = ()
    ) -> None:
        keys = [
            (row.digest, Principal(row.name, Role(row.role), row.token_id, row.unmask))
            for row in rows
            if row.revoked_at is None
        ]
        keys += [(digest(secret), principal) for secret, principal in extra]
        self._keys = [(bytes.fromhex(d), p) for d, p in keys]

    def forget(self, token_id: int) -> None:
        """Stop accepting token ``token_id`` at once (before its revocation is stored)."""
        self._keys = [(d, p) for d, p in self._keys if p.token_id != token_id]

    def authenticate(self, secret: str) -> Principal | None:
        """The principal ``secret`` belongs to, or None (unknown or revoked)."""
        if not secret.startswith(PREFIX):
            return None
        offered = bytes.fromhex(digest(secret))
        found = None
        # Every key is compared, the match or not, so timing reveals nothing.
        for stored, principal in self._keys:
            if hmac.compare_digest(stored, offered):
                found = principal
        return found


class Tokens:
    """The API tokens of one workspace (``ws.tokens``).

    Parameters
    ----------
    store : Store
        The workspace database.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    def create(
        self,
        name: str,
        role: Role | str,
        *,
        unmask: bool = False,
        actor: Principal = LOCAL_USER,
    ) -> tuple[str, CreatedToken]:
        """Create a token; return its secret (shown this once, never stored) and its record.

        Parameters
        ----------
        name : str
            What the audit log will call whoever uses it (1-100 letters, digits,
            spaces and ``._@+-``, starting with a letter or digit).
        role : Role or str
            ``viewer``, ``analyst``, ``editor``, ``admin``, or ``ingest`` for a write
            key that may only post events.
        unmask : bool
            Let a viewer or analyst read e-mails and phones in clear (editors and
            admins always do); refused for an ingest key, which reads nothing.
        actor : Principal
            Who creates it, for the audit log (default: the local user, ``cli``).
        """
        now = utc_now()
        try:
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                raise CibleError(
                    f"Token name {name!r}: use 1 to 100 letters, digits, spaces or ._@+-, "
                    "starting with a letter or digit."
                )
            chosen = role if isinstance(role, Role) else Role.parse(role)
            if unmask and chosen is Role.INGEST:
                raise CibleError(
                    "An ingest key only posts events and reads nothing: it cannot be "
                    "granted unmasked contacts."
                )
        except CibleError as exc:
            # A refused change is a change attempt: it is in the audit log too.
            detail = {
                "name": str(name)[:100],
                "role": str(role)[:20],
                "unmask": bool(unmask),
                "error": str(exc),
            }
            self._store.append_audit(
                NewEntry(now, actor.actor, "token.create", "", "failed", detail)
            )
            raise
        secret = new_secret()
        detail = {"name": name, "role": chosen.value, "unmask": bool(unmask)}
        audit = NewEntry(now, actor.actor, "token.create", "", "ok", detail)
        token_id = self._store.create_token(
            name=name,
            role=chosen.value,
            digest=digest(secret),
            created_at=now,
            audit=audit,
            unmask=bool(unmask),
        )
        return secret, TokenInfo(token_id, name, chosen, now, None, bool(unmask))

    def list(self) -> list[TokenInfo]:
        """Every token, revoked ones included, oldest first."""
        return [TokenInfo.of(row) for row in self._store.list_tokens()]

    def revoke(self, token_id: int, *, actor: Principal = LOCAL_USER) -> TokenInfo:
        """Revoke token ``token_id`` for good; return it as it now is.

        Raises
        ------
        CibleError
            When no live token has that id (the attempt is still in the audit log).
        """
        now = utc_now()
        audit = NewEntry(now, actor.actor, "token.revoke", "", "ok", {})
        if not self._store.revoke_token(token_id, revoked_at=now, audit=audit):
            raise TokenNotFoundError(f"No live token with id {token_id}.")
        return next(t for t in self.list() if t.token_id == token_id)

    def keyring(self, extra: Iterable[tuple[str, Principal]] = ()) -> Keyring:
        """The live tokens as a :class:`Keyring` (plus ``extra`` process-only secrets)."""
        return Keyring(self._store.list_tokens(live_only=True), extra)

    def authenticate(self, secret: str) -> Principal | None:
        """Who ``secret`` belongs to; None when it is unknown or revoked."""
        return self.keyring().authenticate(secret)


class TokenNotFoundError(CibleError):
    """No live token has the id given."""
