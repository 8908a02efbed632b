"""Unsubscribe links: a token that names a customer and a channel, and cannot be forged.

Every marketing e-mail carries a link ``{public_url}/u/{token}`` (in its body and in
the ``List-Unsubscribe`` header, RFC 8058). The token is the proof: whoever holds it
may withdraw that customer's consent for that channel, nothing else, so it is signed
with the workspace's secret (HMAC-SHA256, ``Store.signing_secret``) and read back in
constant time. It holds no expiry: a link in an old e-mail must keep working.

Examples
--------
>>> secret = bytes(32)
>>> token = make_token(secret, "c-42", "email")
>>> read_token(secret, token)
('c-42', 'email')
>>> unsubscribe_url("https://shop.example/cible/", token).startswith("https://shop.example/cible/u/")
True
>>> read_token(b"another secret", token)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
cible.activation.unsubscribe.InvalidTokenError: This unsubscribe link is not valid ...
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from cible.domain.errors import CibleError

#: Bytes of the HMAC kept in a token (128 bits: short links, still unforgeable).
_MAC_BYTES = 16
_SEPARATOR = "\x1f"
#: Longest token read (a customer id is at most a few hundred characters).
MAX_TOKEN = 2_048


class InvalidTokenError(CibleError):
    """An unsubscribe token that was altered, truncated or signed by another workspace."""


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, message: bytes) -> bytes:
    return hmac.new(secret, b"unsubscribe:" + message, hashlib.sha256).digest()[:_MAC_BYTES]


def make_token(secret: bytes, customer_id: str, channel: str) -> str:
    """A URL-safe token naming ``customer_id`` and ``channel``, signed with ``secret``."""
    message = f"{customer_id}{_SEPARATOR}{channel}".encode()
    return f"{_encode(message)}.{_encode(_mac(secret, message))}"


def read_token(secret: bytes, token: str) -> tuple[str, str]:
    """``(customer_id, channel)`` of a token :func:`make_token` made with ``secret``.

    Raises
    ------
    InvalidTokenError
        When the token is malformed or its signature does not match.
    """
    invalid = InvalidTokenError(
        "This unsubscribe link is not valid (altered or from another workspace)."
    )
    if len(token) > MAX_TOKEN or token.count(".") != 1:
        raise invalid
    body, mac = token.split(".")
    try:
        message, given = _decode(body), _decode(mac)
    except (binascii.Error, ValueError):
        raise invalid from None
    if not hmac.compare_digest(_mac(secret, message), given):
        raise invalid
    try:
        customer_id, channel = message.decode("utf-8").rsplit(_SEPARATOR, 1)
    except ValueError:  # not UTF-8, or no separator: signed, so a bug; refuse anyway
        raise invalid from None
    return customer_id, channel


def unsubscribe_url(public_url: str, token: str) -> str:
    """The unsubscribe link: ``{public_url}/u/{token}`` (one slash between them)."""
    return f"{public_url.rstrip('/')}/u/{token}"


def unsubscribe_link(
    public_url: str, secret: bytes, customer_id: str, channel: str = "email"
) -> str:
    """The link to put in a message to ``customer_id`` on ``channel`` (also in the body).

    Examples
    --------
    >>> unsubscribe_link("http://127.0.0.1:8000", bytes(32), "c1").split("/u/")[0]
    'http://127.0.0.1:8000'
    """
    return unsubscribe_url(public_url, make_token(secret, customer_id, channel))
