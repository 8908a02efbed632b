"""A shortcut that settles common phone numbers without a full phonenumbers parse.

``phonenumbers.parse`` plus ``is_valid_number`` costs about 50 microseconds a
number, ten seconds for 200,000 customers. Most numbers in a file are written in
the default region's plain forms (``06 12 34 56 78``, ``+33 6 12 34 56 78``,
``0033612345678``), for which the national significant number is obvious; checking
it against the number patterns phonenumbers ships for the region (the same patterns
``is_valid_number`` tests) takes a few microseconds.

In those forms phonenumbers' reading is certain, so the patterns settle validity
both ways. Whenever the shortcut is unsure (another country code, letters,
brackets, a region sharing its country code, leading zeros, a national prefix
phonenumbers might keep) it says so and the caller asks phonenumbers. So the result
is always phonenumbers' result; the tests compare both on random input.

Examples
--------
>>> decide_e164("06.12.34.56.78", "FR"), decide_e164("+33 6 12 34 56 78", "FR")
((True, '+33612345678'), (True, '+33612345678'))
>>> decide_e164("07 21 26 78 75", "FR"), decide_e164("06 12 AB 56 78", "FR")
((True, None), (False, None))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata

# Separators people type between digit groups; anything else leaves the shortcut.
_SEPARATORS = str.maketrans("", "", " .-\u00a0\u202f")
# Type descriptions is_valid_number tries after the general one: any match makes a
# number valid, so the common types come first.
_TYPES = (
    "mobile",
    "fixed_line",
    "voip",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


@dataclass(frozen=True)
class _Desc:
    pattern: re.Pattern[str]
    lengths: frozenset[int]

    def matches(self, nsn: str) -> bool:
        if self.lengths and len(nsn) not in self.lengths:
            return False
        return self.pattern.fullmatch(nsn) is not None


@dataclass(frozen=True)
class _Patterns:
    """What is_valid_number tests: the general description, then any type's."""

    general: _Desc
    types: tuple[_Desc, ...]

    def valid(self, nsn: str) -> bool:
        return self.general.matches(nsn) and any(d.matches(nsn) for d in self.types)


@dataclass(frozen=True)
class _Region:
    country_code: str
    national_prefix: str
    international_prefix: str
    patterns: _Patterns
    #: ``+33`` and ``0033``: the country code after ``+`` or after the exit code.
    international_heads: tuple[str, str]

    def valid(self, nsn: str) -> bool:
        return self.patterns.valid(nsn)


@cache
def _patterns(region: str) -> _Patterns | None:
    metadata = PhoneMetadata.metadata_for_region(region)
    general = None if metadata is None else metadata.general_desc
    if metadata is None or general is None or not general.national_number_pattern:
        return None
    descs = [getattr(metadata, name) for name in _TYPES]
    return _Patterns(
        general=_desc(general.national_number_pattern, general.possible_length),
        types=tuple(
            _desc(d.national_number_pattern, d.possible_length)
            for d in descs
            if d is not None and d.national_number_pattern
        ),
    )


@cache
def _region(region: str) -> _Region | None:
    """The region's rules, or None when its parsing rules need the full library."""
    metadata = PhoneMetadata.metadata_for_region(region)
    patterns = _patterns(region)
    if metadata is None or metadata.country_code is None or patterns is None:
        return None
    code = int(metadata.country_code)
    prefix = metadata.national_prefix or ""
    idd = metadata.international_prefix or ""
    simple = (
        # One region per country code, so that is_valid_number checks this region.
        len(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())) == 1
        and metadata.national_prefix_for_parsing in (None, prefix or None)
        and metadata.national_prefix_transform_rule is None
        and re.fullmatch(r"[0-9]*", prefix) is not None
        and re.fullmatch(r"[0-9]+", idd) is not None
    )
    if not simple:
        return None
    heads = (f"+{code}", f"{idd}{code}")
    return _Region(str(code), prefix, idd, patterns, heads)


def _desc(pattern: str, lengths: tuple[int, ...] | None) -> _Desc:
    return _Desc(re.compile(pattern), frozenset(lengths or ()))


#: What :func:`decide_e164` answers when it cannot tell.
UNSURE: tuple[bool, str | None] = (False, None)


def decide_e164(text: str, region: str) -> tuple[bool, str | None]:
    """``(True, e164)`` or ``(True, None)`` when the shortcut can tell, else ``UNSURE``.

    ``(True, None)`` means phonenumbers would find the number invalid in ``region``;
    :data:`UNSURE` means: ask phonenumbers.
    """
    rules = _region(region)
    if rules is None:
        return UNSURE
    compact = text.translate(_SEPARATORS)
    if not _plain(compact):
        return UNSURE
    read = _national_number(compact, rules)
    if read is None:
        return UNSURE
    nsn, unstripped = read
    if nsn.startswith("0"):
        return UNSURE  # leading zeros are kept in some plans: phonenumbers knows which
    if rules.valid(nsn):
        return True, f"+{rules.country_code}{nsn}"
    # phonenumbers keeps the national prefix when stripping it leaves an impossible
    # number; if the digits with the prefix are not valid either, neither reading is.
    if unstripped is not None and rules.valid(unstripped):
        return UNSURE
    return True, None


def plausible_regions(text: str, regions: tuple[str, ...]) -> tuple[str, ...]:
    """Those of ``regions`` whose numbers ``text``, written nationally, could be.

    A national number (a leading 0, then the digits) that is valid in the region or
    in another region of its country code is worth a full parse there; a number that
    fits none of their patterns is not.
    """
    compact = text.translate(_SEPARATORS)
    if not _plain(compact) or not compact.startswith("0") or compact[:2] == "00":
        return ()
    nsn = compact[1:]
    return tuple(region for region in regions if _valid_in_country_code(nsn, region))


def _valid_in_country_code(nsn: str, region: str) -> bool:
    code = phonenumbers.country_code_for_region(region)
    for other in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, (region,)):
        patterns = _patterns(other)
        if patterns is not None and patterns.valid(nsn):
            return True
    return False


def _plain(compact: str) -> bool:
    """ASCII digits, after an optional ``+`` (``isdigit`` alone takes ``²`` or ``٣``)."""
    digits = compact[1:] if compact.startswith("+") else compact
    return digits.isascii() and digits.isdigit()


def _national_number(compact: str, rules: _Region) -> tuple[str, str | None] | None:
    """The national significant number in the region's plain written forms, else None.

    For a number written with the national prefix, the digits with that prefix come
    second: phonenumbers reads those instead when stripping the prefix leaves too few.
    """
    code = rules.country_code
    for head in rules.international_heads:
        if compact.startswith(head):
            rest = compact[len(head) :]
            # "+33 (0)6..." style: phonenumbers strips the prefix again; leave it to it.
            if rules.national_prefix and rest.startswith(rules.national_prefix):
                return None
            return rest, None
    if compact.startswith(("+", rules.international_prefix)):
        return None
    if rules.national_prefix and compact.startswith(rules.national_prefix):
        return compact[len(rules.national_prefix) :], compact
    # Digits without any prefix: phonenumbers may read a leading country code there.
    return None if compact.startswith(code) else (compact, None)
