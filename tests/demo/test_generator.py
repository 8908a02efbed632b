"""The synthetic retailer: reproducible files, French formats, planted groups and faults.

Everything is recomputed with pandas from the written files, the way a user (or the
importer) sees them, never from the generator's internals.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from cible.demo.generator import MIN_CUSTOMERS, DemoFiles, generate_retailer
from cible.domain.schema import CANONICAL_TABLES, CHANNELS, GENDERS, PURPOSES, SALES_CHANNELS

END = dt.date(2025, 6, 1)
END_TS = pd.Timestamp(END, tz="UTC")
CUSTOMERS = 2000
FILE_KEYS = (
    "customers",
    "products",
    "orders",
    "order_lines",
    "events",
    "consents",
    "planted_groups",
    "duplicate_pairs",
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return generate_retailer(
        tmp_path_factory.mktemp("retailer"), customers=CUSTOMERS, seed=42, end_date=END
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _digests(result: DemoFiles) -> dict[str, str]:
    return {key: _digest(getattr(result, key)) for key in FILE_KEYS}


@pytest.fixture(scope="module")
def customers(files: DemoFiles) -> pd.DataFrame:
    return pd.read_csv(
        files.customers, sep=";", dtype=str, encoding="cp1252", keep_default_na=False
    )


@pytest.fixture(scope="module")
def orders(files: DemoFiles) -> pd.DataFrame:
    """orders.csv as text, plus parsed ``amount_eur``, ``discount_eur`` and ``at``."""
    raw = pd.read_csv(files.orders, sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    raw["amount_eur"] = pd.to_numeric(raw["amount"].str.replace(",", "."), errors="coerce")
    raw["discount_eur"] = pd.to_numeric(raw["discount_amount"].str.replace(",", "."))
    at = pd.to_datetime(raw["ordered_at"], format="%d/%m/%Y %H:%M:%S", errors="coerce")
    raw["at"] = at.dt.tz_localize("UTC")
    return raw


@pytest.fixture(scope="module")
def clean_orders(orders: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """Orders the importer keeps: valid, first occurrence of their id, known customer."""
    valid = (
        (orders["order_id"] != "")
        & (orders["amount_eur"] >= 0)
        & orders["at"].notna()
        & orders["channel"].isin(SALES_CHANNELS)
        & ~orders["order_id"].duplicated()
    )
    known = orders["customer_id"].isin(customers["customer_id"])
    return orders[valid & known]


@pytest.fixture(scope="module")
def events(files: DemoFiles) -> pd.DataFrame:
    return pq.read_table(files.events).to_pandas()


@pytest.fixture(scope="module")
def groups(files: DemoFiles) -> pd.Series:
    table = pq.read_table(files.planted_groups).to_pandas()
    return table.set_index("customer_id")["group"]


# -- reproducibility -------------------------------------------------------------------


def test_same_seed_gives_identical_files_and_another_seed_does_not(
    files: DemoFiles, tmp_path: Path
) -> None:
    again = generate_retailer(tmp_path / "again", customers=CUSTOMERS, seed=42, end_date=END)
    other = generate_retailer(tmp_path / "other", customers=CUSTOMERS, seed=43, end_date=END)
    assert _digests(again) == _digests(files)
    assert again.counts == files.counts
    differing = [k for k, v in _digests(other).items() if v != _digests(files)[k]]
    assert set(differing) >= {"customers", "orders", "order_lines", "events", "consents"}


def test_imports_lists_the_six_files_in_import_order(files: DemoFiles) -> None:
    kinds = [kind for kind, _ in files.imports()]
    assert kinds == ["customers", "products", "orders", "order-lines", "events", "consents"]
    assert all(path.exists() for _, path in files.imports())


def test_progress_is_reported_for_every_step(tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    generate_retailer(
        tmp_path,
        customers=MIN_CUSTOMERS,
        end_date=END,
        progress=lambda step, done, total: seen.append((step, done, total)),
    )
    steps = list(dict.fromkeys(step for step, _, _ in seen))
    assert steps == ["customers", "products", "orders", "events", "consents"]
    assert all(0 <= done <= total for _, done, total in seen)
    assert all((step, total, total) in seen for step, _, total in seen)


def test_too_few_customers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        generate_retailer(tmp_path, customers=10, end_date=END)


# -- formats ---------------------------------------------------------------------------


def test_customers_file_is_a_windows_1252_export_with_accents(
    files: DemoFiles, customers: pd.DataFrame
) -> None:
    data = files.customers.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = data.decode("cp1252")
    assert text.startswith("customer_id;email;phone;")
    assert "\r\n" in text
    expected = [*CANONICAL_TABLES["customers"].names, "interests", "urban_rural"]
    assert list(customers.columns) == expected
    assert len(customers) == files.counts["customers"]
    assert customers["first_name"].str.contains("[éèëïîôç]").any()
    assert customers["city"].str.contains("[ÉéèâôîÎ]").any()
    assert set(customers["country"]) == {"FR"}
    assert set(customers["urban_rural"]) == {"urban", "periurban", "rural"}
    born = customers["birth_date"][customers["birth_date"] != ""]
    assert born.str.fullmatch(r"\d\d/\d\d/\d{4}").all()
    assert customers["created_at"].str.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d").all()
    interests = customers["interests"][customers["interests"] != ""]
    assert interests.str.contains("|", regex=False).any()


def test_phones_come_in_several_french_forms(customers: pd.DataFrame) -> None:
    phones = customers["phone"]
    for form in (
        r"0\d \d\d \d\d \d\d \d\d",
        r"0\d{9}",
        r"\+33 \d \d\d \d\d \d\d \d\d",
        r"\+33\d{9}",
        r"0\d\.\d\d\.\d\d\.\d\d\.\d\d",
    ):
        assert phones.str.fullmatch(form).any(), form


def test_emails_use_french_providers(customers: pd.DataFrame) -> None:
    domains = customers["email"].str.strip().str.lower().str.extract(r"@(.+)$")[0]
    common = set(domains.value_counts().index[:10])
    assert {"gmail.com", "orange.fr", "free.fr"} <= common


def test_orders_file_has_a_bom_semicolons_and_decimal_commas(
    files: DemoFiles, orders: pd.DataFrame
) -> None:
    assert files.orders.read_bytes().startswith(b"\xef\xbb\xbforder_id;customer_id;")
    assert len(orders) == files.counts["orders"]
    assert orders["amount"].str.fullmatch(r"\d+,\d\d").mean() > 0.99
    assert orders["discount_amount"].str.fullmatch(r"\d+,\d\d").all()
    assert set(orders["currency"]) == {"EUR"}
    assert orders["status"].value_counts().index[0] == "completed"


def test_products_file_is_plain_utf8_with_new_products(files: DemoFiles) -> None:
    products = pd.read_csv(files.products, dtype=str)
    assert len(products) == files.counts["products"]
    assert 300 <= len(products) <= 600
    assert {"high-tech", "mode", "beauté", "épicerie fine"} <= set(products["category"])
    launched = pd.to_datetime(products["launched_at"], format="%Y-%m-%d")
    assert (launched > pd.Timestamp(END) - pd.Timedelta(days=120)).sum() >= 5
    assert pd.to_numeric(products["price"]).gt(0).all()


def test_order_lines_add_up_to_the_order_amount(
    files: DemoFiles, clean_orders: pd.DataFrame
) -> None:
    lines = pq.read_table(files.order_lines).to_pandas()
    assert len(lines) == files.counts["order_lines"]
    assert not lines.duplicated(["order_id", "product_id"]).any()
    cents = lines["quantity"] * (lines["unit_price"].astype(float) * 100).round()
    gross = cents.groupby(lines["order_id"]).sum()
    orders = clean_orders.set_index("order_id")
    expected = ((orders["amount_eur"] + orders["discount_eur"]) * 100).round()
    common = orders.index.intersection(gross.index)
    assert len(common) > 0.95 * len(orders)
    assert (gross[common] == expected[common]).all()


def test_events_are_segment_messages(files: DemoFiles, events: pd.DataFrame) -> None:
    assert len(events) == files.counts["events"]
    assert events["message_id"].is_unique
    assert events["message_id"].str.fullmatch(r"evt-\d{9}").all()
    assert set(events["type"]) == {"page", "track"}
    pages = events["type"] == "page"
    assert events.loc[pages, "event"].isna().all()
    assert events.loc[~pages, "event"].notna().all()
    assert events.loc[~pages, "event"].str.fullmatch(r"[a-z]+(_[a-z]+)*").all()
    assert events.loc[~pages, "customer_id"].notna().all()
    anonymous = events["customer_id"].isna()
    assert anonymous.any() and events.loc[anonymous, "anonymous_id"].notna().all()
    properties = events["properties"].map(json.loads)
    assert properties[events["event"] == "product_viewed"].map(lambda p: "product_id" in p).all()
    assert properties[events["event"] == "email_opened"].map(lambda p: "campaign_id" in p).all()
    assert properties[pages].map(lambda p: p["path"].startswith("/")).all()
    contexts = events["context"].dropna().map(json.loads)
    assert contexts.map(lambda c: c["channel"] in {"web", "app", "email"}).all()
    start = END_TS - pd.DateOffset(years=3)
    assert events["timestamp"].between(start, END_TS, inclusive="left").all()
    assert events["timestamp"].is_monotonic_increasing
    assert (events["received_at"] >= events["timestamp"]).all()


def test_consents_are_json_lines_unique_per_customer_channel_and_purpose(
    files: DemoFiles, customers: pd.DataFrame
) -> None:
    lines = files.consents.read_text(encoding="utf-8").splitlines()
    assert len(lines) == files.counts["consents"]
    consents = pd.DataFrame([json.loads(line) for line in lines])
    assert not consents.duplicated(["customer_id", "channel", "purpose"]).any()
    assert set(consents["channel"]) == set(CHANNELS)
    assert set(consents["purpose"]) == set(PURPOSES)
    assert set(consents["status"]) == {"granted", "denied", "withdrawn"}
    assert consents["recorded_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert consents["customer_id"].isin(customers["customer_id"]).all()
    assert 4 <= len(consents) / CUSTOMERS <= 6


# -- planted groups --------------------------------------------------------------------


@pytest.fixture(scope="module")
def traits(
    groups: pd.Series,
    clean_orders: pd.DataFrame,
    events: pd.DataFrame,
    files: DemoFiles,
) -> pd.DataFrame:
    """A few per-customer traits, computed from the files alone."""
    table = pd.DataFrame({"group": groups})
    by_customer = clean_orders.groupby("customer_id")
    table["orders"] = by_customer.size()
    table["aov"] = by_customer["amount_eur"].mean()
    table["discounted"] = (
        (clean_orders["discount_eur"] > 0).groupby(clean_orders["customer_id"]).sum()
    )
    table["last_order"] = by_customer["at"].max()
    named = events.dropna(subset=["customer_id"])
    counts = named.groupby(["customer_id", "event"]).size().unstack(fill_value=0)
    for event in ("product_viewed", "email_sent", "email_opened", "product_shared"):
        table[event] = counts[event]
    table["review_written"] = counts["review_written"]
    lines = pq.read_table(files.order_lines).to_pandas()
    products = pd.read_csv(files.products, dtype=str)
    lines = lines.merge(products[["product_id", "category"]], on="product_id")
    lines = lines.merge(clean_orders[["order_id", "customer_id"]], on="order_id")
    table["high_tech"] = (lines["category"] == "high-tech").groupby(lines["customer_id"]).mean()
    return table.fillna({c: 0 for c in table.columns if c not in ("aov", "last_order")})


def test_every_group_holds_15_to_25_percent_of_customers(groups: pd.Series) -> None:
    assert len(groups) == CUSTOMERS
    shares = groups.value_counts(normalize=True)
    assert len(shares) == 6
    assert shares.between(0.14, 0.26).all()


def test_premium_spenders_baskets_are_over_three_times_bargain_hunters(
    traits: pd.DataFrame,
) -> None:
    aov = traits.groupby("group")["aov"].median()
    assert aov["premium_spender"] > 3 * aov["bargain_hunter"]
    assert aov.idxmax() == "premium_spender"
    assert aov.idxmin() == "bargain_hunter"


def test_bargain_hunters_have_the_highest_discount_share(traits: pd.DataFrame) -> None:
    totals = traits.groupby("group")[["discounted", "orders"]].sum()
    share = totals["discounted"] / totals["orders"]
    assert share.idxmax() == "bargain_hunter"
    assert share["bargain_hunter"] > 0.7


def test_lapsed_customers_have_not_ordered_for_a_year(traits: pd.DataFrame) -> None:
    lapsed = traits[traits["group"] == "lapsed"]
    assert lapsed["last_order"].max() < END_TS - pd.Timedelta(days=365)
    assert (lapsed["orders"] > 0).mean() > 0.8


def test_window_shoppers_view_the_most_products_per_order(traits: pd.DataFrame) -> None:
    totals = traits.groupby("group")[["product_viewed", "orders"]].sum()
    per_order = totals["product_viewed"] / totals["orders"].clip(lower=1)
    assert per_order.idxmax() == "window_shopper"
    assert (traits.loc[traits["group"] == "window_shopper", "orders"] <= 1).all()
    assert (traits.loc[traits["group"] == "window_shopper", "orders"] == 0).mean() > 0.5


def test_loyal_regulars_order_most_often_and_open_most_emails(traits: pd.DataFrame) -> None:
    by_group = traits.groupby("group")
    assert by_group["orders"].median().idxmax() == "loyal_regular"
    sums = by_group[["email_opened", "email_sent"]].sum()
    assert (sums["email_opened"] / sums["email_sent"]).idxmax() == "loyal_regular"


def test_social_influencers_share_and_review_the_most(traits: pd.DataFrame) -> None:
    means = traits.groupby("group")[["product_shared", "review_written"]].mean()
    assert means["product_shared"].idxmax() == "social_influencer"
    assert means["review_written"].idxmax() == "social_influencer"
    others = means.drop("social_influencer")
    assert means.loc["social_influencer", "product_shared"] > 10 * others["product_shared"].max()


def test_premium_spenders_buy_mostly_high_tech(traits: pd.DataFrame) -> None:
    share = traits[traits["orders"] > 0].groupby("group")["high_tech"].mean()
    assert share.idxmax() == "premium_spender"
    assert share["premium_spender"] > 0.5


def test_premium_spenders_buy_high_tech_soon_after_its_launch(
    files: DemoFiles, clean_orders: pd.DataFrame, groups: pd.Series
) -> None:
    lines = pq.read_table(files.order_lines).to_pandas()
    products = pd.read_csv(files.products, dtype=str)
    products["launched"] = pd.to_datetime(products["launched_at"]).dt.tz_localize("UTC")
    bought = lines.merge(clean_orders[["order_id", "customer_id", "at"]], on="order_id")
    bought = bought.merge(products, on="product_id")
    bought["group"] = bought["customer_id"].map(groups)
    age = (bought["at"] - bought["launched"]).dt.days
    assert (age >= 0).all(), "no product is sold before its launch"
    high_tech = bought["category"] == "high-tech"
    fresh = (age[high_tech] <= 75).groupby(bought.loc[high_tech, "group"]).mean()
    assert fresh.idxmax() == "premium_spender"
    assert fresh["premium_spender"] > 0.4


def test_truth_stays_out_of_the_data_files(files: DemoFiles) -> None:
    for _, path in files.imports():
        head = path.read_bytes()[:1_000_000]
        assert b"bargain_hunter" not in head and b"premium_spender" not in head


# -- planted faults --------------------------------------------------------------------


def test_duplicate_pairs_point_at_customers_of_the_file(
    files: DemoFiles, customers: pd.DataFrame, groups: pd.Series
) -> None:
    pairs = pq.read_table(files.duplicate_pairs).to_pandas()
    assert len(pairs) == files.counts["duplicate_pairs"] == files.counts["customers_duplicates"]
    assert len(pairs) == round(0.03 * CUSTOMERS)
    known = set(customers["customer_id"])
    assert pairs["customer_id"].isin(known).all()
    assert pairs["duplicate_of"].isin(known).all()
    assert not pairs["customer_id"].isin(groups.index).any()
    assert pairs["duplicate_of"].isin(groups.index).all()
    profiles = customers.set_index("customer_id")
    copy = profiles.loc[pairs["customer_id"]].reset_index(drop=True)
    original = profiles.loc[pairs["duplicate_of"]].reset_index(drop=True)
    same = (
        copy[["first_name", "last_name", "email", "phone"]]
        == original[["first_name", "last_name", "email", "phone"]]
    ).all(axis=1)
    assert not same.any(), "every copy differs from its original somewhere"


def test_rejected_customer_rows_are_counted(files: DemoFiles, customers: pd.DataFrame) -> None:
    empty = (customers["customer_id"] == "").sum()
    unknown_gender = (~customers["gender"].isin(GENDERS)).sum()
    assert empty == files.counts["customers_empty_id"] == 3
    assert unknown_gender == files.counts["customers_unknown_gender"] == 1
    assert files.counts["customers_invalid"] == empty + unknown_gender
    ids = customers["customer_id"][customers["customer_id"] != ""]
    assert ids.is_unique


def test_audit_findings_match_the_counts(
    files: DemoFiles, customers: pd.DataFrame, clean_orders: pd.DataFrame, events: pd.DataFrame
) -> None:
    email = customers["email"].str.strip().str.lower()
    well_formed = email.str.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}") & ~email.str.contains(
        "..", regex=False
    )
    assert ((email != "") & ~well_formed).sum() == files.counts["customers_invalid_email"]

    digits = customers["phone"].str.replace(r"[ .]", "", regex=True).str.replace("+33", "0")
    bad_phone = (customers["phone"] != "") & ~digits.str.fullmatch(r"0[1-9]\d{8}")
    assert bad_phone.sum() == files.counts["customers_invalid_phone"]

    year = customers["birth_date"].str[-4:].replace("", "2000").astype(int)
    impossible = (year < 1900) | (year > END.year)
    assert impossible.sum() == files.counts["customers_impossible_birth_date"] >= 2

    updated = pd.to_datetime(customers["updated_at"], format="%d/%m/%Y %H:%M:%S")
    stale = customers.loc[updated < pd.Timestamp(END) - pd.DateOffset(years=3), "customer_id"]
    assert len(stale) == files.counts["customers_stale"] == round(0.02 * CUSTOMERS)
    assert not stale.isin(clean_orders["customer_id"]).any()
    assert not stale.isin(events["customer_id"]).any()


def test_orders_to_reject_and_to_flag_match_the_counts(
    files: DemoFiles, orders: pd.DataFrame, customers: pd.DataFrame
) -> None:
    counts = files.counts
    empty_id = orders["order_id"] == ""
    numeric = orders["amount"].str.fullmatch(r"-?\d+,\d\d")
    negative = orders["amount"].str.startswith("-")
    bad_date = orders["at"].isna()
    bad_channel = ~orders["channel"].isin(SALES_CHANNELS)
    repeated = (orders["order_id"] != "") & orders["order_id"].duplicated()
    assert empty_id.sum() == counts["orders_empty_id"]
    assert (~numeric).sum() == counts["orders_bad_amount"]
    assert negative.sum() == counts["orders_negative_amount"]
    assert bad_date.sum() == counts["orders_bad_date"]
    assert bad_channel.sum() == counts["orders_unknown_channel"]
    assert repeated.sum() == counts["orders_duplicate_id"]
    rejected = empty_id | ~numeric | negative | bad_date | bad_channel | repeated
    assert rejected.sum() == counts["orders_invalid"]
    assert (
        0.0005 <= counts["orders_invalid"] / counts["orders"] <= 0.002
        or counts["orders_invalid"] == 6
    )
    unknown = ~rejected & ~orders["customer_id"].isin(customers["customer_id"])
    assert unknown.sum() == counts["orders_unknown_customer"] == 5
    loaded = len(orders) - counts["orders_invalid"]
    assert loaded + counts["orders_invalid"] == counts["orders"]


def test_volumes_per_customer_are_realistic(files: DemoFiles, groups: pd.Series) -> None:
    counts = files.counts
    assert 4 <= counts["orders"] / CUSTOMERS <= 8
    assert 25 <= counts["events"] / CUSTOMERS <= 55
    assert counts["customers"] == CUSTOMERS + counts["customers_duplicates"] + 4
    assert np.isclose(counts["planted_groups"], len(groups))
