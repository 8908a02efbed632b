"""The masked forms of e-mails and phones, and who reads them in clear."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cible.access.masking import (
    mask_contacts,
    mask_email,
    mask_free_text,
    mask_phone,
    mask_text,
    redact,
    sees_contacts,
    target_masks,
)
from cible.access.roles import LOCAL_USER, Principal, Role


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("jeanne.martin@example.com", "j***@example.com"),
        ("jo@example.com", "j***@example.com"),
        ("j@example.com", "***@example.com"),
        ("odd@local@example.fr", "o***@example.fr"),
        ("not an address", "***"),
    ],
)
def test_email_keeps_the_domain_only(value: str, masked: str) -> None:
    assert mask_email(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+33612345678", "+33 6 ** ** ** 78"),
        ("+33 6 12 34 56 78", "+33 6 ** ** ** 78"),
        ("+16502530000", "+1 6**-***-**00"),
        ("06 12 34 56 78", "** ** ** ** 78"),
        ("+999", "+*99"),
        ("12", "**"),
    ],
)
def test_phone_keeps_country_code_and_last_two_digits(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@given(st.emails())
def test_email_mask_is_deterministic_and_hides_the_local_part(value: str) -> None:
    masked = mask_email(value)
    assert masked == mask_email(value)
    local, _, domain = value.rpartition("@")
    assert masked.endswith("@" + domain)
    if len(local) > 2:
        assert local not in masked


@given(st.from_regex(r"\+33[1-9][0-9]{8}", fullmatch=True))
def test_phone_mask_shows_at_most_four_digits(value: str) -> None:
    masked = mask_phone(value)
    assert masked == mask_phone(value)
    assert sum(c.isdigit() for c in masked) == 5  # 33, the first digit, the last two
    assert masked.endswith(value[-2:])


@pytest.mark.parametrize(
    ("principal", "clear"),
    [
        (Principal("v", Role.VIEWER), False),
        (Principal("a", Role.ANALYST), False),
        (Principal("v", Role.VIEWER, unmask=True), True),
        (Principal("a", Role.ANALYST, unmask=True), True),
        (Principal("e", Role.EDITOR), True),
        (Principal("x", Role.ADMIN), True),
        (Principal("k", Role.INGEST, unmask=True), False),
        (LOCAL_USER, True),
    ],
)
def test_who_reads_contacts_in_clear(principal: Principal, clear: bool) -> None:
    assert sees_contacts(principal) is clear


def test_mask_contacts_walks_nested_answers_and_leaves_the_input_alone() -> None:
    answer = {
        "profile": {"email": "ann@example.com", "phone": None, "city": "Lyon"},
        "sample": [{"customer_id": "c1", "email": "bob@example.org"}],
    }
    masked = mask_contacts(answer, Principal("v", Role.VIEWER))
    assert masked == {
        "profile": {"email": "a***@example.com", "phone": None, "city": "Lyon"},
        "sample": [{"customer_id": "c1", "email": "b***@example.org"}],
    }
    assert answer["profile"]["email"] == "ann@example.com"  # type: ignore[index]


def test_redact_masks_a_longer_value_whole() -> None:
    masks = {"+33612345678": "+33 6 ** ** ** 78", "+3361234567": "+33 6 ** ** ** 67"}
    assert redact(["call +33612345678"], masks) == ["call +33 6 ** ** ** 78"]


ANALYST = Principal("bi", Role.ANALYST)


def test_a_delivery_target_is_masked_by_its_kind() -> None:
    targets = [
        ("email", "old.address@example.com"),
        ("sms", "+33612345678"),
        ("webhook", "crm"),  # an endpoint's name, no one's contact
        ("notify", "team@shop.example"),  # the team's own address
        ("email", None),
    ]
    assert target_masks(targets, ANALYST) == {
        "old.address@example.com": "o***@example.com",
        "+33612345678": "+33 6 ** ** ** 78",
    }
    assert target_masks(targets, Principal("crm", Role.ANALYST, unmask=True)) == {}
    assert target_masks(targets, LOCAL_USER) == {}


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("from ann.lee@example.com.", "from a***@example.com."),
        ("a+b@mail.example.org, c@x.fr", "a***@mail.example.org, ***@x.fr"),
        ("tel 06 12 34 56 78 (home)", "tel ** ** ** ** 78 (home)"),
        ("tel +33 6 12 34 56 78", "tel +33 6 ** ** ** 78"),
        # Dates, order numbers and amounts are not phones.
        (
            "form of 2024-05-01, order 12345, 49.90 EUR",
            "form of 2024-05-01, order 12345, 49.90 EUR",
        ),
        ("ip 192.168.1.10 at 2024-05-01T10:22:33Z", "ip 192.168.1.10 at 2024-05-01T10:22:33Z"),
        ("https://shop.example/consent?id=42", "https://shop.example/consent?id=42"),
        ("", ""),
    ],
)
def test_contacts_in_free_text_are_found_and_masked(text: str, masked: str) -> None:
    assert mask_text(text, "FR") == masked


def test_free_text_is_masked_in_the_fields_named_only() -> None:
    rows = {"ledger": [{"proof": "by x.y@example.com", "channel": "x.y@example.com"}]}
    assert mask_free_text(rows, {"proof"}, ANALYST, "FR") == {
        "ledger": [{"proof": "by x***@example.com", "channel": "x.y@example.com"}]
    }
    assert mask_free_text(rows, {"proof"}, Principal("dpo", Role.EDITOR)) is rows


@given(st.emails())
def test_no_email_survives_free_text_masking(email: str) -> None:
    masked = mask_text(f"confirmed by {email} on the form", "FR")
    assert email not in masked
