"""Customer lists for ad platforms: contacts normalised the platform's way, SHA-256 hashed.

Google Ads (Customer Match) and Meta (custom audiences from a customer list) match
uploaded customers on the SHA-256 digest of a normalised e-mail address or phone
number, so the plain values never leave Cible. Each platform publishes its own
normalisation, and a digest matches only if it is followed to the letter:

- **Google Ads**: e-mail trimmed and lower-cased, and for ``gmail.com`` and
  ``googlemail.com`` addresses only, every ``.`` before the ``@`` removed; phone in
  E.164 with its leading ``+`` (``+33612345678``). Columns ``Email`` and ``Phone``,
  the headers of Google's customer list template.
- **Meta**: e-mail trimmed and lower-cased (dots kept); phone as digits only, country
  code included, no ``+`` (``33612345678``). Columns ``EMAIL`` and ``PHONE``, the
  identifier names of Meta's customer list schema.

Digests are lower-case hexadecimal. Numbers without a country code take the
workspace's ``[quality] phone_region``; an invalid e-mail or phone is left empty,
never hashed (a digest of garbage matches no one and hides the mistake).

Examples
--------
>>> email_key("  John.Smith@GMAIL.com ", AdPlatform.GOOGLE_ADS)
'johnsmith@gmail.com'
>>> email_key("  John.Smith@GMAIL.com ", AdPlatform.META)
'john.smith@gmail.com'
>>> phone_key("06 12 34 56 78", AdPlatform.GOOGLE_ADS), phone_key("06 12 34 56 78", AdPlatform.META)
('+33612345678', '33612345678')
>>> sha256_hex("john_smith@gmail.com")  # Meta's published example
'62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f'
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from enum import StrEnum

from cible.domain.errors import CibleError
from cible.quality.normalisation import normalise_email, normalise_phone

#: Domains whose local part ignores dots, for Google's normalisation.
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


class AdPlatform(StrEnum):
    """Ad platforms an audience can be exported for, by the name the CLI and API take."""

    GOOGLE_ADS = "google-ads"
    META = "meta"

    @classmethod
    def parse(cls, name: str) -> AdPlatform:
        """The platform called ``name``; a sentence naming the choices otherwise."""
        try:
            return cls(name)
        except ValueError:
            choices = ", ".join(platform.value for platform in cls)
            raise CibleError(f"Unknown ad platform {name!r}: use one of {choices}.") from None

    @property
    def columns(self) -> tuple[str, str]:
        """The headers of the e-mail and phone columns of this platform's upload."""
        return ("Email", "Phone") if self is AdPlatform.GOOGLE_ADS else ("EMAIL", "PHONE")


def sha256_hex(value: str) -> str:
    """The SHA-256 digest of ``value`` (UTF-8) as lower-case hexadecimal."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def email_key(raw: str | None, platform: AdPlatform) -> str | None:
    """An e-mail address normalised the way ``platform`` hashes it; None when invalid."""
    email = normalise_email(raw)
    if email is None:
        return None
    local, _, domain = email.rpartition("@")
    if platform is AdPlatform.GOOGLE_ADS and domain in GMAIL_DOMAINS:
        return f"{local.replace('.', '')}@{domain}"
    return email


def phone_key(raw: str | None, platform: AdPlatform, region: str = "FR") -> str | None:
    """A phone number normalised the way ``platform`` hashes it; None when invalid."""
    e164 = normalise_phone(raw, region)
    if e164 is None:
        return None
    return e164 if platform is AdPlatform.GOOGLE_ADS else e164.removeprefix("+")


def hashed_contacts(
    emails: Iterable[str | None],
    phones: Iterable[str | None],
    platform: AdPlatform,
    region: str = "FR",
) -> tuple[list[str | None], list[str | None]]:
    """The digests of each row's e-mail and phone (None where invalid or missing).

    Each distinct value is normalised and hashed once.

    Examples
    --------
    Meta's published examples (``John_Smith@gmail.com``, ``(650)555-1212`` in the US):

    >>> emails, phones = hashed_contacts(
    ...     ["John_Smith@gmail.com", "bad"], [None, "(650)555-1212"], AdPlatform.META, "US")
    >>> emails
    ['62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f', None]
    >>> phones
    [None, 'e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176']
    """
    email_digests: dict[str | None, str | None] = {}
    phone_digests: dict[str | None, str | None] = {}

    def email_digest(raw: str | None) -> str | None:
        if raw not in email_digests:
            key = email_key(raw, platform)
            email_digests[raw] = None if key is None else sha256_hex(key)
        return email_digests[raw]

    def phone_digest(raw: str | None) -> str | None:
        if raw not in phone_digests:
            key = phone_key(raw, platform, region)
            phone_digests[raw] = None if key is None else sha256_hex(key)
        return phone_digests[raw]

    return [email_digest(e) for e in emails], [phone_digest(p) for p in phones]
