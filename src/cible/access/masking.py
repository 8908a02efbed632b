"""E-mails and phones masked for the principals not entitled to read them.

Viewers and analysts see contact values masked unless their token carries the
``unmask`` grant (``cible tokens create --role analyst --unmask``); editors and admins
see them in clear, and so does the local user of the command line (an admin). The
server's routes apply :func:`mask_contacts` (and, for free text such as a rendered
message, :func:`redact`) to what they answer, from the principal that asks; nothing
below the entry points masks, so the workspace's own work is unchanged.

The masked forms are deterministic (the same value always gives the same mask, so
two screens can be compared) and keep what a person needs to recognise a value
without being able to use it:

- an e-mail keeps its domain and the first character of its local part when that
  part has two or more, followed by ``***`` whatever its length:
  ``jeanne.martin@example.com`` -> ``j***@example.com``;
- a phone keeps its separators, its last two digits and, for an international
  number (``+``), its country code and the first digit after it, written the
  international way; every other digit becomes ``*``:
  ``+33612345678`` -> ``+33 6 ** ** ** 78``. A number without ``+`` keeps its last
  two digits only (``06 12 34 56 78`` -> ``** ** ** ** 78``).

Examples
--------
>>> from cible.access.roles import Principal, Role
>>> row = {"customer_id": "c1", "email": "jeanne@example.com", "phone": "+33612345678"}
>>> mask_contacts(row, Principal("dashboard", Role.VIEWER))
{'customer_id': 'c1', 'email': 'j***@example.com', 'phone': '+33 6 ** ** ** 78'}
>>> mask_contacts(row, Principal("crm", Role.ANALYST, unmask=True)) == row
True
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import phonenumbers

from cible.access.roles import Principal, Role

if TYPE_CHECKING:
    import ibis.expr.types as ir

T = TypeVar("T")

#: Fields whose values are masked wherever they appear in an answer, at any depth.
CONTACT_FIELDS = frozenset({"email", "phone"})

#: What replaces the hidden part of an e-mail's local part (its length is not shown).
HIDDEN = "***"

#: Digits a masked phone keeps at its end.
KEPT_DIGITS = 2


def sees_contacts(principal: Principal) -> bool:
    """Whether ``principal`` reads e-mails and phones in clear.

    Editors and admins do (they change what contacts the customers); viewers and
    analysts only with the ``unmask`` grant; an ingest key reads nothing at all.

    Examples
    --------
    >>> from cible.access.roles import LOCAL_USER
    >>> sees_contacts(LOCAL_USER), sees_contacts(Principal("bi", Role.ANALYST))
    (True, False)
    """
    if principal.role is Role.INGEST:
        return False
    return principal.unmask or principal.may(Role.EDITOR)


def mask_email(value: str) -> str:
    """``value`` with its local part hidden and its domain kept (see the module).

    Examples
    --------
    >>> mask_email("jeanne@example.com"), mask_email("j@example.com"), mask_email("oops")
    ('j***@example.com', '***@example.com', '***')
    """
    local, at, domain = value.rpartition("@")
    if not at:
        # Not an e-mail (kept as given at import, flagged): nothing is safe to show.
        return HIDDEN
    shown = local[0] if len(local) >= 2 else ""
    return f"{shown}{HIDDEN}@{domain}"


def mask_phone(value: str) -> str:
    """``value`` with every digit hidden but the country code, the first digit after
    it and the last two (see the module).

    Examples
    --------
    >>> mask_phone("+33612345678"), mask_phone("06 12 34 56 78"), mask_phone("12")
    ('+33 6 ** ** ** 78', '** ** ** ** 78', '**')
    """
    text = value.strip()
    kept_start = 0
    if text.startswith("+"):
        try:
            number = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and phonenumbers.is_possible_number(number):
            text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
            kept_start = len(str(number.country_code)) + 1
    digits = sum(c.isdigit() for c in text)
    if digits <= KEPT_DIGITS:
        return "".join("*" if c.isdigit() else c for c in text)
    kept_end = digits - KEPT_DIGITS
    masked, seen = [], 0
    for char in text:
        if char.isdigit():
            masked.append(char if seen < kept_start or seen >= kept_end else "*")
            seen += 1
        else:
            masked.append(char)
    return "".join(masked)


#: How each contact field is masked.
_MASKS = {"email": mask_email, "phone": mask_phone}


def mask_value(field: str, value: Any) -> Any:
    """``value`` masked the way field ``field`` is; other fields and None unchanged.

    Examples
    --------
    >>> mask_value("email", "ann@example.com"), mask_value("city", "Lyon")
    ('a***@example.com', 'Lyon')
    """
    mask = _MASKS.get(field)
    if mask is None or value is None:
        return value
    return mask(str(value))


def mask_contacts(data: T, principal: Principal) -> T:
    """``data`` with every ``email`` and ``phone`` value masked, at any depth in
    dictionaries and lists, unless ``principal`` sees contacts (then ``data`` itself).

    ``data`` is not changed: a masked copy is returned.
    """
    if sees_contacts(principal):
        return data
    return _masked(data)  # type: ignore[no-any-return]


def _masked(data: Any, field: str | None = None) -> Any:
    if isinstance(data, Mapping):
        return {key: _masked(value, str(key)) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_masked(item, field) for item in data]
    if field in _MASKS and isinstance(data, str):
        return mask_value(field, data)
    return data


def contact_masks(values: Iterable[tuple[str, str | None]], principal: Principal) -> dict[str, str]:
    """Each clear ``(field, value)`` to its masked form, for :func:`redact`; empty when
    ``principal`` sees contacts.

    Examples
    --------
    >>> contact_masks([("email", "ann@example.com"), ("phone", None)],
    ...               Principal("bi", Role.VIEWER))
    {'ann@example.com': 'a***@example.com'}
    """
    if sees_contacts(principal):
        return {}
    return {value: mask_value(field, value) for field, value in values if value}


#: The contact field a delivery's target holds, by the delivery's kind: an e-mail's
#: address, a text message's number. A webhook's target is an endpoint's name, a team
#: notice's the team's own address: neither is a customer's contact.
TARGET_FIELDS = {"email": "email", "sms": "phone"}


def target_masks(targets: Iterable[tuple[str, str | None]], principal: Principal) -> dict[str, str]:
    """Each ``(kind, target)`` of a delivery to the target's masked form, for
    :func:`redact`; empty when ``principal`` sees contacts.

    A delivery keeps the address it was sent to: once the customer's e-mail changes,
    the profile no longer holds it, so the delivery's own target must be masked by
    its kind, whatever ``customers`` says now.

    Examples
    --------
    >>> target_masks([("email", "old@example.com"), ("webhook", "crm")],
    ...              Principal("bi", Role.ANALYST))
    {'old@example.com': 'o***@example.com'}
    """
    return contact_masks(
        ((TARGET_FIELDS[kind], target) for kind, target in targets if kind in TARGET_FIELDS),
        principal,
    )


def customer_masks(
    customers: ir.Table, customer_ids: Iterable[str | None], principal: Principal
) -> dict[str, str]:
    """The clear e-mails and phones of ``customer_ids`` to their masked forms, read
    from the ``customers`` table, for :func:`redact`; empty when ``principal`` sees
    contacts (nothing is read then)."""
    if sees_contacts(principal):
        return {}
    ids = sorted({customer for customer in customer_ids if customer})
    if not ids:
        return {}
    fields = sorted(CONTACT_FIELDS)
    rows = (
        customers.filter(customers.customer_id.isin(ids)).select(*fields).to_pyarrow().to_pylist()
    )
    return contact_masks(((field, row[field]) for row in rows for field in fields), principal)


def redact(data: T, masks: Mapping[str, str]) -> T:
    """``data`` with every occurrence of a clear value of ``masks`` in its strings
    replaced by the masked form, at any depth: free text (a rendered message, an
    error) that quotes a customer's contact values.

    Longer values are replaced first, so that one that contains another is masked
    whole.

    Examples
    --------
    >>> redact({"text": "Hello, your address is ann@example.com."},
    ...        {"ann@example.com": "a***@example.com"})
    {'text': 'Hello, your address is a***@example.com.'}
    """
    if not masks:
        return data
    ordered = sorted(masks.items(), key=lambda item: -len(item[0]))
    return _redacted(data, ordered)  # type: ignore[no-any-return]


def _redacted(data: Any, ordered: list[tuple[str, str]]) -> Any:
    if isinstance(data, str):
        for clear, masked in ordered:
            data = data.replace(clear, masked)
        return data
    if isinstance(data, Mapping):
        return {key: _redacted(value, ordered) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_redacted(item, ordered) for item in data]
    return data


#: An e-mail address inside free text (a consent's proof, say).
_EMAIL_IN_TEXT = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")


def mask_text(text: str, region: str | None = None) -> str:
    """``text`` with every e-mail address and phone number found in it masked.

    For free text typed by people (a consent's ``proof`` or ``source``), which may
    quote any address, not only the customer's current one. Phones are found by
    :mod:`phonenumbers` as written in ``region`` (``"FR"``), or international
    (``+33...``) only when None.

    Examples
    --------
    >>> mask_text("opt-in by ann@example.com, call +33 6 12 34 56 78", "FR")
    'opt-in by a***@example.com, call +33 6 ** ** ** 78'
    >>> mask_text("form 2024-05-01, page 12")
    'form 2024-05-01, page 12'
    """
    masked = _EMAIL_IN_TEXT.sub(lambda found: mask_email(found.group(0)), text)
    pieces, last = [], 0
    for match in phonenumbers.PhoneNumberMatcher(masked, region or "ZZ"):
        pieces += [masked[last : match.start], mask_phone(match.raw_string)]
        last = match.end
    return "".join(pieces) + masked[last:]


def mask_free_text(
    data: T, fields: Collection[str], principal: Principal, region: str | None = None
) -> T:
    """``data`` with the strings of ``fields`` (at any depth) passed through
    :func:`mask_text`, unless ``principal`` sees contacts (then ``data`` itself).

    Examples
    --------
    >>> rows = [{"status": "granted", "proof": "signed by ann@example.com"}]
    >>> mask_free_text(rows, {"proof"}, Principal("bi", Role.ANALYST))
    [{'status': 'granted', 'proof': 'signed by a***@example.com'}]
    """
    if sees_contacts(principal):
        return data
    return _free_text(data, frozenset(fields), region)  # type: ignore[no-any-return]


def _free_text(data: Any, fields: frozenset[str], region: str | None, field: str = "") -> Any:
    if isinstance(data, Mapping):
        return {key: _free_text(value, fields, region, str(key)) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_free_text(item, fields, region, field) for item in data]
    if field in fields and isinstance(data, str):
        return mask_text(data, region)
    return data
