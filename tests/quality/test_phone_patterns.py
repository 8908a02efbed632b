"""The phone shortcut settles only what phonenumbers itself would say."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cible.quality.phone_patterns import UNSURE, decide_e164, plausible_regions


def _phone_reference(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


REGIONS = st.sampled_from(["FR", "BE", "DE", "CH", "ES", "NL", "AT", "PT", "GB", "US", "IT"])
PHONE_TEXT = st.builds(
    lambda head, digits, seps: head + "".join(d + s for d, s in zip(digits, seps, strict=False)),
    st.sampled_from(["", "+", "0", "00", "+33", "0033", "+32", "+49", "+34", "+41", "-", "("]),
    st.text(alphabet="0123456789", min_size=0, max_size=13),
    st.lists(st.sampled_from(["", "", "", " ", ".", "-", ")", "/", "x"]), max_size=13),
)


@settings(max_examples=600, deadline=None)
@given(text=PHONE_TEXT, region=REGIONS)
def test_phone_shortcut_only_settles_what_phonenumbers_says(text: str, region: str):
    settled, e164 = decide_e164(text, region)
    assert not settled or e164 == _phone_reference(text, region)


@settings(max_examples=300, deadline=None)
@given(number=st.integers(100_000_000, 999_999_999), style=st.integers(0, 4))
def test_phone_shortcut_on_french_forms(number: int, style: int):
    digits = str(number)
    pairs = " ".join(digits[i : i + 2] for i in range(1, 9, 2))
    text = [
        f"0{digits}",
        f"0{digits[0]} {pairs}",
        f"+33 {digits[0]} {pairs}",
        f"0033{digits}",
        f"0{digits[0]}.{pairs.replace(' ', '.')}",
    ][style]
    # The plain forms of French numbers are always settled, and settled right.
    assert decide_e164(text, "FR") != UNSURE
    assert decide_e164(text, "FR") == (True, _phone_reference(text, "FR"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("06 90 12 34 56", ("GP",)),  # a Guadeloupe mobile
        ("0262 12 34 56", ("RE",)),  # La Réunion
        ("07 21 26 78 75", ()),  # nowhere
        ("+33 6 90 12 34 56", ()),  # international form: not a national number
    ],
)
def test_plausible_overseas_regions(text: str, expected: tuple[str, ...]):
    assert plausible_regions(text, ("GP", "MQ", "GF", "RE", "PM")) == expected
