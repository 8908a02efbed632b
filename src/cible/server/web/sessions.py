"""Web sessions: an API token turned into a session cookie, and CSRF tokens for forms.

A person signs in by pasting an API token (``cible tokens create``). The server keeps
the token in memory, under a random session id that is all the cookie holds
(HttpOnly, SameSite=Lax, Secure when the page was served over HTTPS). Every request
authenticates the kept token against the live keyring again, so revoking the token
ends its sessions at once. Sessions live in the server process: a restart signs
everybody out, and nothing secret is written to disk.

Every state-changing request (a form POST, an HTMX call) must carry the session's
CSRF token, as a form field or a header; the sign-in form, before any session, uses a
double-submit cookie instead.

Examples
--------
>>> sessions = Sessions(lifetime=3600, clock=lambda: 0.0)
>>> session = sessions.open("cible_secret")
>>> sessions.get(session.id) is session, sessions.get("forged")
(True, None)
>>> sessions.valid_csrf(session, session.csrf), sessions.valid_csrf(session, "x")
(True, False)
>>> sessions.close(session.id); sessions.get(session.id) is None
True
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: The cookie holding the session id.
SESSION_COOKIE = "cible_session"
#: The cookie holding the sign-in form's CSRF token (before any session exists).
SIGN_IN_COOKIE = "cible_sign_in"
#: The form field and the header that carry a CSRF token.
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: How long a session lasts without being used, in seconds (8 hours: a working day).
IDLE_LIFETIME = 8 * 3600


@dataclass
class WebSession:
    """One signed-in browser: its id (the cookie), the token it signed in with, its CSRF
    token and when it was last used."""

    id: str
    secret: str = field(repr=False)
    csrf: str = field(repr=False)
    last_seen: float


class Sessions:
    """The signed-in browsers of one server process.

    Parameters
    ----------
    lifetime : float
        Seconds a session lasts without a request.
    clock : callable
        Monotonic seconds (``time.monotonic``); tests pass their own.
    """

    def __init__(
        self, lifetime: float = IDLE_LIFETIME, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lifetime = lifetime
        self._clock = clock
        self._open: dict[str, WebSession] = {}

    def open(self, secret: str) -> WebSession:
        """A new session for a browser that signed in with ``secret``."""
        self._expire()
        session = WebSession(
            secrets.token_urlsafe(32), secret, secrets.token_urlsafe(32), self._clock()
        )
        self._open[session.id] = session
        return session

    def get(self, session_id: str | None) -> WebSession | None:
        """The live session of that id (its use noted), or None."""
        if not session_id:
            return None
        session = self._open.get(session_id)
        now = self._clock()
        if session is None or now - session.last_seen > self._lifetime:
            self._open.pop(session_id or "", None)
            return None
        session.last_seen = now
        return session

    def close(self, session_id: str | None) -> None:
        """End a session (sign-out)."""
        self._open.pop(session_id or "", None)

    @staticmethod
    def valid_csrf(session: WebSession, given: str | None) -> bool:
        """Whether ``given`` is the session's CSRF token (compared in constant time)."""
        return bool(given) and hmac.compare_digest(session.csrf, str(given))

    def _expire(self) -> None:
        now = self._clock()
        for stale in [k for k, s in self._open.items() if now - s.last_seen > self._lifetime]:
            del self._open[stale]
