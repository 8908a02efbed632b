"""E-mails through SMTP: the message built from a delivery, sent, and what the answer means.

The message is ``multipart/alternative`` (plain text, then HTML) from ``[email]
sender``. Its ``Message-ID`` is derived from the delivery's idempotency key, the same
on every attempt, so a message sent twice (a crash after the server accepted it) is
recognisable as one. A message to a customer carries ``List-Unsubscribe`` with the
one-click link and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058):
mail clients show an "unsubscribe" button that POSTs to it. A campaign's message
carries ``X-Cible-Campaign`` and ``X-Cible-Variant`` (the payload's ``headers``; only
``X-Cible-*`` names are taken), so that its opens and clicks can be tied to the arm.

The password comes from the environment variable ``[email] password_env``, never from
``cible.toml``. ``smtplib`` blocks: :func:`send_email` runs it in a thread.

Examples
--------
>>> from cible.domain.activation_settings import EmailSection
>>> message = build_message(
...     EmailSection(sender="Shop <news@shop.example>"), "run-1:0",
...     {"to": "anne@example.com", "subject": "Bonjour", "text": "Hi", "html": "<p>Hi</p>",
...      "lang": "fr"}, unsubscribe="https://shop.example/u/abc")
>>> message["Message-ID"]
'<51083ea92b5ca02078b800ff788996cd@shop.example>'
>>> message["List-Unsubscribe"], message["List-Unsubscribe-Post"]
('<https://shop.example/u/abc>', 'List-Unsubscribe=One-Click')
>>> [part.get_content_type() for part in message.iter_parts()]
['text/plain', 'text/html']
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import smtplib
import ssl
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from typing import Any

from cible.activation.webhooks import Attempt
from cible.domain.activation_settings import EmailSection

#: The headers a delivery's payload may add to its e-mail (a campaign and its variant).
EXTRA_HEADER_PREFIX = "X-Cible-"


def message_id(key: str, sender: str) -> str:
    """The ``Message-ID`` of the delivery ``key``: a digest of it at the sender's domain."""
    addresses = getaddresses([sender])
    domain = addresses[0][1].rpartition("@")[2] if addresses else ""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain or 'cible.invalid'}>"


def build_message(
    settings: EmailSection,
    key: str,
    payload: Mapping[str, Any],
    *,
    unsubscribe: str | None = None,
) -> EmailMessage:
    """The e-mail of a delivery: ``payload`` holds ``to``, ``subject``, ``text``, ``html``,
    ``lang`` and ``headers`` (``X-Cible-*`` only); ``unsubscribe`` the one-click link,
    when the message goes to a customer.

    Raises
    ------
    ValueError
        When ``to`` is missing or not one address, or the header values hold line breaks.
    """
    to = str(payload.get("to") or "")
    found = getaddresses([to])
    if len(found) != 1 or "@" not in found[0][1]:
        raise ValueError(f"the e-mail's recipient {to!r} is not one address")
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = Address(display_name=found[0][0], addr_spec=found[0][1])
    message["Subject"] = str(payload.get("subject") or "")
    message["Date"] = format_datetime(datetime.now(UTC), usegmt=True)
    message["Message-ID"] = message_id(key, settings.sender)
    if unsubscribe is not None:
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in dict(payload.get("headers") or {}).items():
        # Only Cible's own headers: a payload must not set From, Bcc or the like.
        if str(name).lower().startswith(EXTRA_HEADER_PREFIX.lower()):
            message[str(name)] = str(value)
    message.set_content(str(payload.get("text") or ""))
    if payload.get("html"):
        message.add_alternative(str(payload["html"]), subtype="html")
    if payload.get("lang"):
        # After the parts: setting the content removes the Content-* headers.
        message["Content-Language"] = str(payload["lang"])
    return message


def _send_now(settings: EmailSection, message: EmailMessage, environ: Mapping[str, str]) -> Attempt:
    """Send ``message`` (blocking); how it went."""
    started = time.monotonic()

    def took() -> float:
        return (time.monotonic() - started) * 1000

    password = None
    if settings.password_env is not None:
        password = environ.get(settings.password_env)
        if not password:
            return Attempt(
                "failed",
                error=f"the environment variable {settings.password_env} holding the SMTP "
                "password is not set",
            )
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if settings.security == "tls":
            smtp = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout_seconds, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        with smtp:
            if settings.security == "starttls":
                smtp.starttls(context=context)
            if settings.username is not None and password is not None:
                smtp.login(settings.username, password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reason = next(iter(exc.recipients.values()))
        return _refused(code, reason, took())
    except smtplib.SMTPResponseException as exc:
        return _refused(exc.smtp_code, exc.smtp_error, took())
    except (OSError, smtplib.SMTPException) as exc:
        where = f"{settings.host}:{settings.port}"
        return Attempt(
            "retry", error=f"SMTP server {where}: {exc or type(exc).__name__}", duration_ms=took()
        )
    return Attempt("delivered", 250, duration_ms=took())


def _refused(code: int, reason: bytes | str, duration_ms: float) -> Attempt:
    """An SMTP refusal: 4xx is "try later", 5xx is final."""
    text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    outcome = "retry" if 400 <= code < 500 else "failed"
    return Attempt(outcome, code, f"SMTP {code}: {text[:200]}", duration_ms)


async def send_email(
    settings: EmailSection,
    key: str,
    payload: Mapping[str, Any],
    *,
    unsubscribe: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Attempt:
    """Build and send the e-mail of delivery ``key`` in a thread; how it went."""
    try:
        message = build_message(settings, key, payload, unsubscribe=unsubscribe)
    except ValueError as exc:
        return Attempt("failed", error=str(exc))
    return await asyncio.to_thread(
        _send_now, settings, message, os.environ if environ is None else environ
    )
