"""Customer lists for Google Ads and Meta: hashes against hashlib and the platforms' examples,
ads consent only, counts of who was left out."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cible import Workspace
from cible.activation.ad_platforms import (
    AdPlatform,
    email_key,
    hashed_contacts,
    phone_key,
    sha256_hex,
)
from cible.cli.app import app
from cible.domain.errors import CibleError

AS_OF = datetime(2025, 2, 1)
NOW = datetime(2025, 3, 1)

CUSTOMERS = """\
customer_id,email,phone
a,  Ada.Lovelace@GMail.com ,06 12 34 56 78
b,bob.smith@example.com,
c,,+44 20 7183 8750
d,not-an-email,123
e,eve@example.com,06 98 76 54 32
f,f.f@googlemail.com,
g,g@example.com,
"""
ORDERS = "order_id,customer_id,ordered_at,amount\n" + "".join(
    f"{i},{c},2025-01-1{i},20\n" for i, c in enumerate("abcdefg")
)
CONSENTS = """\
customer_id,channel,purpose,status,recorded_at
a,ads,marketing,granted,2024-06-01
b,ads,marketing,granted,2024-06-01
c,ads,marketing,granted,2024-06-01
d,ads,marketing,granted,2024-06-01
e,ads,marketing,withdrawn,2024-06-01
e,email,marketing,granted,2024-06-01
f,ads,marketing,granted,2024-06-01
f,ads,marketing,denied,2024-07-01
g,email,marketing,granted,2024-06-01
g,ads,profiling,granted,2024-06-01
"""


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ads")
    for name, text in (("c", CUSTOMERS), ("o", ORDERS), ("k", CONSENTS)):
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    with Workspace.create(folder / "ws") as ws:
        for kind, name in (("customers", "c"), ("orders", "o"), ("consents", "k")):
            ws.imports.load(kind, folder / f"{name}.csv")
        ws.run(as_of=AS_OF)
    return folder / "ws"


# -- normalisation and hashing -------------------------------------------------------


def test_meta_published_examples() -> None:
    # developers.facebook.com, customer information parameters: em and ph examples.
    assert email_key("John_Smith@gmail.com", AdPlatform.META) == "john_smith@gmail.com"
    assert sha256_hex("john_smith@gmail.com") == (
        "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
    )
    assert phone_key("(650)555-1212", AdPlatform.META, "US") == "16505551212"
    assert sha256_hex("16505551212") == (
        "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"
    )


@pytest.mark.parametrize(
    ("raw", "google", "meta"),
    [
        (" Jane.Doe@Gmail.com ", "janedoe@gmail.com", "jane.doe@gmail.com"),
        ("jane.doe@googlemail.com", "janedoe@googlemail.com", "jane.doe@googlemail.com"),
        # Dots are removed for Google's own domains only; a plus tag is kept everywhere.
        ("Jane.Doe+news@Example.FR", "jane.doe+news@example.fr", "jane.doe+news@example.fr"),
        ("jane.doe@gmail.com.evil.fr", "jane.doe@gmail.com.evil.fr", None),
        ("not an e-mail", None, None),
        (None, None, None),
    ],
)
def test_emails_normalised_per_platform(raw: str | None, google: str, meta: str | None) -> None:
    assert email_key(raw, AdPlatform.GOOGLE_ADS) == google
    assert email_key(raw, AdPlatform.META) == (meta if meta is not None else google)


@pytest.mark.parametrize(
    ("raw", "region", "google", "meta"),
    [
        ("06 12 34 56 78", "FR", "+33612345678", "33612345678"),
        ("0033 6 12 34 56 78", "FR", "+33612345678", "33612345678"),
        ("(415) 555-2671", "US", "+14155552671", "14155552671"),
        ("+44 20 7183 8750", "FR", "+442071838750", "442071838750"),
        ("123", "FR", None, None),
    ],
)
def test_phones_normalised_per_platform(raw: str, region: str, google: str, meta: str) -> None:
    assert phone_key(raw, AdPlatform.GOOGLE_ADS, region) == google
    assert phone_key(raw, AdPlatform.META, region) == meta


def test_hashes_are_hashlib_sha256_of_the_normalised_values() -> None:
    emails, phones = hashed_contacts(
        ["A.B@gmail.com", "x@y.fr", None], ["06 12 34 56 78", None, "bad"], AdPlatform.GOOGLE_ADS
    )
    assert emails == [digest("ab@gmail.com"), digest("x@y.fr"), None]
    assert phones == [digest("+33612345678"), None, None]
    assert all(len(h) == 64 and h == h.lower() for h in emails + phones if h)


def test_unknown_platform_is_one_sentence() -> None:
    with pytest.raises(
        CibleError, match="Unknown ad platform 'tiktok': use one of google-ads, meta"
    ):
        AdPlatform.parse("tiktok")


# -- audiences -----------------------------------------------------------------------


def test_google_ads_list_keeps_ads_consent_only_and_counts_the_others(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        found = ws.exports.ad_audience("lifecycle-new", "google-ads", now=NOW)
    assert found.table.column_names == ["Email", "Phone"]
    # a, b, c kept (in customer id order); d has no valid contact; e withdrew; f's
    # latest ads consent is denied; g never answered for ads (other consents do not count).
    assert found.table.to_pylist() == [
        {"Email": digest("adalovelace@gmail.com"), "Phone": digest("+33612345678")},
        {"Email": digest("bob.smith@example.com"), "Phone": None},
        {"Email": None, "Phone": digest("+442071838750")},
    ]
    assert found.members == 7
    assert found.excluded == {"no_consent": 1, "denied": 1, "withdrawn": 1, "no_contact": 1}
    assert found.summary()["platform"] == "google-ads" and found.summary()["channel"] == "ads"


def test_meta_list_has_its_own_columns_and_normalisation(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        found = ws.exports.ad_audience("lifecycle-new", "meta", now=NOW, limit=1)
    assert found.table.column_names == ["EMAIL", "PHONE"]
    assert found.table.to_pylist() == [
        {"EMAIL": digest("ada.lovelace@gmail.com"), "PHONE": digest("33612345678")}
    ]
    assert found.members == 7 and sum(found.excluded.values()) == 4


def test_cli_writes_the_upload_file(shop: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    output = tmp_path / "meta.csv"
    result = runner.invoke(
        app,
        ["segments", "members", "lifecycle-new", "--platform", "meta", "--output", str(output),
         "-w", str(shop)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert rows[0] == ["EMAIL", "PHONE"] and len(rows) == 4
    assert rows[1] == [digest("ada.lovelace@gmail.com"), digest("33612345678")]
    assert rows[2] == [digest("bob.smith@example.com"), ""]
    assert "Wrote 3 of the 7 members of 'lifecycle-new'" in result.output
    assert "(ads)" in result.output and "Left out 4:" in result.output
    refused = runner.invoke(
        app,
        ["segments", "members", "lifecycle-new", "--platform", "meta", "--channel", "email",
         "-w", str(shop)],
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "--platform meta exports for the ads channel, not 'email'." in refused.output
    with Workspace.open(shop) as ws:
        entry = ws.audit_log.entries(limit=1, action="export")[0]
    assert entry.detail["platform"] == "meta" and entry.detail["exported"] == 3
