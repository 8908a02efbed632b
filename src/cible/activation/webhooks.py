"""Webhook calls signed per Standard Webhooks, and what each answer means.

Each call carries the three headers of the `Standard Webhooks
<https://www.standardwebhooks.com>`_ scheme: ``webhook-id`` (the delivery's
idempotency key, the same on every attempt, so a receiver can drop a repeat),
``webhook-timestamp`` (seconds since the epoch) and ``webhook-signature``
(``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` with the endpoint's secret,
computed by the ``standardwebhooks`` package). The secret (``whsec_`` + base64) is
read from the environment variable ``[webhooks.NAME] secret_env`` at each call.

Answers: 2xx is delivered; 408, 429, 5xx, a timeout or a connection error are tried
again later (:func:`backoff`); a redirect is not followed (the target it names was
not checked, see :mod:`cible.activation.network`) and fails, as does any other 4xx.

Examples
--------
>>> from datetime import datetime
>>> from standardwebhooks import Webhook
>>> secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
>>> headers = signed_headers(secret, "run-1:0", datetime(2024, 5, 1), b'{"a": 1}')
>>> headers["webhook-id"], headers["webhook-timestamp"]
('run-1:0', '1714521600')
>>> verdict(200), verdict(302), verdict(404), verdict(429), verdict(503)
('delivered', 'failed', 'failed', 'retry', 'retry')
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from math import floor

import httpx
from standardwebhooks import Webhook

from cible.activation.network import Guard, RefusedAddressError
from cible.domain.activation_settings import WebhookEndpoint

#: 4xx answers that say "later" rather than "no".
_RETRIED_4XX = frozenset({408, 429})
#: Characters of a receiver's answer kept in the delivery log.
_SHOWN = 200


@dataclass(frozen=True)
class Attempt:
    """How one try went.

    Attributes
    ----------
    outcome : str
        ``delivered``, ``retry`` (worth trying again) or ``failed`` (not worth it).
    status_code : int, optional
        The receiver's HTTP status (or the SMTP reply code).
    error : str, optional
        Why it did not succeed, in one sentence.
    duration_ms : float
        How long it took.
    """

    outcome: str
    status_code: int | None = None
    error: str | None = None
    duration_ms: float = 0.0


def verdict(status_code: int) -> str:
    """``delivered``, ``retry`` or ``failed`` for an HTTP status (see the module)."""
    if 200 <= status_code < 300:
        return "delivered"
    if status_code in _RETRIED_4XX or status_code >= 500:
        return "retry"
    return "failed"


def backoff(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before try ``attempt + 1`` after ``attempt`` failed: "full jitter".

    A uniform draw between 0 and ``min(cap, base * 2 ** (attempt - 1))``: receivers
    that failed together are not called again all at the same moment.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(1)
    >>> [round(backoff(n, base=1.0, cap=10.0, rng=rng), 2) for n in (1, 2, 3, 8)]
    [0.13, 1.69, 3.06, 2.55]
    """
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return (rng or random).uniform(0.0, ceiling)


def signed_headers(secret: str, webhook_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers for ``body`` sent at ``at`` (naive UTC or aware)."""
    moment = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(floor(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, moment, body),
    }


def read_secret(name: str, endpoint: WebhookEndpoint, environ: Mapping[str, str]) -> str | None:
    """The endpoint's signing secret from ``environ``, or None when it is not set."""
    value = environ.get(endpoint.secret_env, "").strip()
    return value or None


async def call_webhook(
    client: httpx.AsyncClient,
    guard: Guard,
    name: str,
    endpoint: WebhookEndpoint,
    *,
    webhook_id: str,
    body: bytes,
    timeout: float,
    environ: Mapping[str, str] | None = None,
) -> Attempt:
    """POST ``body`` to webhook ``name``, signed, once; how it went.

    Nothing here raises for the receiver's sake: a refused address, a missing secret,
    a timeout are all an :class:`Attempt` with the reason.
    """
    started = time.monotonic()

    def took() -> float:
        return (time.monotonic() - started) * 1000

    secret = read_secret(name, endpoint, os.environ if environ is None else environ)
    if secret is None:
        return Attempt(
            "failed",
            error=f"webhook {name}: the environment variable {endpoint.secret_env} holding "
            "its signing secret is not set",
        )
    try:
        target = await guard.check(endpoint.url)
        headers = signed_headers(secret, webhook_id, datetime.now(UTC), body)
    except RefusedAddressError as exc:
        return Attempt("failed", error=f"webhook {name}: {exc}", duration_ms=took())
    except Exception as exc:  # a malformed secret: base64 the package cannot read
        return Attempt(
            "failed",
            error=f"webhook {name}: its signing secret in {endpoint.secret_env} is not "
            f"valid ({type(exc).__name__})",
        )
    headers |= {"content-type": "application/json", "host": target.host_header}
    try:
        answer = await client.post(
            target.url,
            content=body,
            headers=headers,
            timeout=timeout,
            extensions=target.extensions,
        )
    except httpx.TimeoutException:
        return Attempt("retry", error=f"timed out after {timeout:g} s", duration_ms=took())
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        return Attempt("retry", error=f"connection failed: {reason}", duration_ms=took())
    code = answer.status_code
    outcome = verdict(code)
    if outcome == "delivered":
        return Attempt(outcome, code, duration_ms=took())
    if answer.is_redirect:
        where = answer.headers.get("location", "")
        error = f"redirect not followed (HTTP {code} to {where[:_SHOWN]})"
    else:
        error = f"HTTP {code}: {answer.text[:_SHOWN]}".rstrip(": ")
    return Attempt(outcome, code, error, took())
