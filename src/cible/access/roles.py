"""Roles and the principal a request or a command acts as.

Four roles are ordered, each allowed what the one below may do: ``viewer`` reads,
``analyst`` also previews segments, starts runs and exports, ``editor`` also changes
segments, ``admin`` also manages tokens and reads the audit log. ``ingest`` stands
apart: a write key that may only post events, and nothing else — not even read.

Examples
--------
>>> Principal("ci", Role.EDITOR).may(Role.ANALYST)
True
>>> Principal("ci", Role.VIEWER).may(Role.EDITOR)
False
>>> Principal("site", Role.INGEST).may(Role.VIEWER), Principal("root", Role.ADMIN).may(Role.INGEST)
(False, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cible.domain.errors import CibleError


class Role(StrEnum):
    """What a token may do (see the module's description)."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    EDITOR = "editor"
    ADMIN = "admin"
    INGEST = "ingest"

    @classmethod
    def parse(cls, value: str) -> Role:
        """The role named ``value``; a :class:`CibleError` naming the roles otherwise."""
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(role.value for role in cls)
            raise CibleError(f"Unknown role {value!r}: use one of {names}.") from None


#: Rank of the ordered roles; ``ingest`` has none (it is not above or below them).
_RANK = {Role.VIEWER: 1, Role.ANALYST: 2, Role.EDITOR: 3, Role.ADMIN: 4}


@dataclass(frozen=True)
class Principal:
    """Who acts: the name written in the audit log, the role, the token's id if any.

    Parameters
    ----------
    actor : str
        The token's name, or ``cli`` for the local user.
    role : Role
        What it may do.
    token_id : int, optional
        The stored token it authenticated with (None for the local user).
    unmask : bool
        The token's grant to read e-mails and phones in clear below the editor role
        (see :mod:`cible.access.masking`).
    """

    actor: str
    role: Role
    token_id: int | None = None
    unmask: bool = False

    def may(self, required: Role) -> bool:
        """Whether this principal may do what needs ``required``."""
        if required is Role.INGEST or self.role is Role.INGEST:
            return self.role is required
        return _RANK[self.role] >= _RANK[required]


#: The local user of the command line: the workspace's owner, who can open its files.
LOCAL_USER = Principal("cli", Role.ADMIN)
