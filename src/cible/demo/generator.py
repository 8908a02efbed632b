"""A synthetic French retailer: customers, products, orders, events and consents.

:func:`generate_retailer` writes the files a real retailer would hand over, with the
usual French mess (Windows-1252 CSV with ``;`` separators, a byte-order mark, decimal
commas, ``dd/mm/yyyy`` dates) and a few percent of planted faults, plus the truth the
rest of Cible is checked against: the behavioural group of every customer and the
pairs of duplicate profiles. The same arguments always give byte-identical files.

Examples
--------
>>> import tempfile, datetime
>>> files = generate_retailer(Path(tempfile.mkdtemp()), customers=500,
...                           end_date=datetime.date(2025, 1, 1))
>>> [kind for kind, _ in files.imports()]
['customers', 'products', 'orders', 'order-lines', 'events', 'consents']
>>> files.counts["orders_unknown_customer"]
5
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cible.demo.behaviour import record_events
from cible.demo.catalogue import CATEGORIES, Catalogue, build_catalogue
from cible.demo.consents import SOURCES, Consents, collect_consents
from cible.demo.defects import mark_rejected_customers, spoil_orders, spoil_profiles
from cible.demo.duplicates import add_duplicates
from cible.demo.groups import GROUP_NAMES, SALES_CHANNELS
from cible.demo.places import Places, load_places
from cible.demo.planted_change import PlantedChange, plant
from cible.demo.population import build_population
from cible.demo.purchases import STATUSES, Purchases, place_orders
from cible.demo.service import acquisition_channels
from cible.demo.textforms import (
    dotted_amounts,
    french_amounts,
    french_dates,
    french_datetimes,
    iso_dates,
    iso_instants,
    join,
    padded,
    pick,
)
from cible.demo.timeline import IntArray, Period
from cible.domain.clock import utc_now
from cible.domain.progress import Progress, reporter
from cible.domain.schema import CHANNELS, CONSENT_STATUSES, PURPOSES

#: Fewer customers than this cannot hold every planted group and fault.
MIN_CUSTOMERS = 200
# Number of rejected customer rows appended to the real ones (see defects).
_REJECTED_CUSTOMERS = 4


@dataclass(frozen=True)
class DemoFiles:
    """Paths of the generated files and how many rows each holds.

    Attributes
    ----------
    customers, products, orders, order_lines, events, consents : Path
        Files to import, faults included.
    planted_groups : Path
        Parquet ``customer_id, group``: the planted behavioural group of each real
        customer (duplicate copies and rejected rows excluded).
    duplicate_pairs : Path
        Parquet ``customer_id, duplicate_of``: each messy copy and its original.
    counts : dict of str to int
        Rows written per file key, and the planted faults: ``customers_invalid`` and
        ``orders_invalid`` (rows the importer must reject), ``orders_unknown_customer``
        (loaded but flagged), and the audit findings ``customers_invalid_email``,
        ``customers_invalid_phone``, ``customers_impossible_birth_date``,
        ``customers_stale``, ``customers_duplicates``.

    Examples
    --------
    >>> files = DemoFiles(*(Path(f"{n}.csv") for n in range(8)), counts={})
    >>> kind, path = files.imports()[3]
    >>> kind, path.name
    ('order-lines', '3.csv')
    """

    customers: Path
    products: Path
    orders: Path
    order_lines: Path
    events: Path
    consents: Path
    planted_groups: Path
    duplicate_pairs: Path
    counts: dict[str, int]

    def imports(self) -> list[tuple[str, Path]]:
        """Return ``(kind, path)`` pairs in import order."""
        return [
            ("customers", self.customers),
            ("products", self.products),
            ("orders", self.orders),
            ("order-lines", self.order_lines),
            ("events", self.events),
            ("consents", self.consents),
        ]


def generate_retailer(
    out_dir: Path,
    *,
    customers: int = 50_000,
    seed: int = 42,
    end_date: dt.date | None = None,
    planted_change: str | None = None,
    progress: Progress | None = None,
) -> DemoFiles:
    """Write the files of a synthetic French retailer into ``out_dir``.

    Parameters
    ----------
    out_dir : Path
        Folder to write to; created when missing, existing files are replaced.
    customers : int
        Number of real customers (planted in a group). The customers file also holds
        about 3% duplicate copies and a few rows to reject.
    seed : int
        Seed of the random draws; the same arguments give byte-identical files.
    end_date : date, optional
        Day after the last day of history (default: today, UTC). The data covers the
        three years before it.
    planted_change : str, optional
        A planted group whose customers buy half as often in the last quarter
        (:mod:`~cible.demo.planted_change`); recorded in ``planted_change.json``.
    progress : callable, optional
        ``progress(step, done, total)``, called a few times per step (``customers``,
        ``products``, ``orders``, ``events``, ``consents``).

    Returns
    -------
    DemoFiles

    Examples
    --------
    >>> import tempfile
    >>> files = generate_retailer(Path(tempfile.mkdtemp()), customers=300, seed=7,
    ...                           end_date=dt.date(2024, 3, 1))
    >>> files.counts["customers"] - files.counts["customers_invalid"]
    309
    """
    if customers < MIN_CUSTOMERS:
        raise ValueError(f"customers must be at least {MIN_CUSTOMERS}, got {customers}")
    report = reporter(progress)
    period = Period.ending(end_date or utc_now().date())
    streams = dict(
        zip(
            ("people", "extras", "copies", "faults", "catalogue", "consents", "orders", "events"),
            np.random.default_rng(seed).spawn(8),
            strict=True,
        )
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    places = load_places()
    counts: dict[str, int] = {}

    report("customers", 0, 3)
    people = build_population(streams["people"], customers, period, places)
    people = add_duplicates(streams["copies"], people, period, places)
    people["blank_id"] = False
    extras = build_population(streams["extras"], _REJECTED_CUSTOMERS, period, places)
    counts |= mark_rejected_customers(extras)
    people = pd.concat([people, extras], ignore_index=True)
    counts |= spoil_profiles(streams["faults"], people, period)
    people["acquisition_channel"] = _acquisition_channels(seed, people)
    report("customers", 1, 3)
    number, ids = _customer_ids(people)
    counts["customers"] = _write_customers(out_dir / "customers.csv", people, ids, number, places)
    counts["customers_invalid"] = counts["customers_empty_id"] + counts["customers_unknown_gender"]
    counts["customers_stale"] = int(people["stale"].sum())
    counts["customers_duplicates"] = int((people["original"] >= 0).sum())
    counts["planted_groups"], counts["duplicate_pairs"] = _write_truth(out_dir, people, ids, number)
    report("customers", 3, 3)

    report("products", 0, 1)
    catalogue = build_catalogue(streams["catalogue"], period)
    counts["products"] = _write_products(out_dir / "products.csv", catalogue)
    report("products", 1, 1)

    report("orders", 0, 2)
    consents = collect_consents(streams["consents"], people, period)
    purchases = place_orders(streams["orders"], people, catalogue, period)
    if planted_change is not None:
        change = PlantedChange.last_quarter(planted_change, period)
        # A stream of its own: everything else is what the seed gives without it.
        rng = np.random.default_rng(seed).spawn(9)[8]
        purchases = plant(rng, purchases, people, change)
        (out_dir / "planted_change.json").write_text(json.dumps(change.as_dict()) + "\n")
    report("orders", 1, 2)
    counts |= _write_orders(
        out_dir, purchases, catalogue, ids, customers, streams["faults"], len(people)
    )
    report("orders", 2, 2)

    report("events", 0, 6)
    events = record_events(
        streams["events"],
        people,
        ids,
        purchases,
        consents,
        catalogue,
        period,
        tick=lambda done, total: report("events", done, total),
    )
    counts["events"] = _write_parquet(events, out_dir / "events.parquet")

    report("consents", 0, 1)
    counts["consents"] = _write_consents(out_dir / "consents.jsonl", consents, ids, number)
    report("consents", 1, 1)
    return DemoFiles(
        customers=out_dir / "customers.csv",
        products=out_dir / "products.csv",
        orders=out_dir / "orders.csv",
        order_lines=out_dir / "order_lines.parquet",
        events=out_dir / "events.parquet",
        consents=out_dir / "consents.jsonl",
        planted_groups=out_dir / "planted_groups.parquet",
        duplicate_pairs=out_dir / "duplicate_pairs.parquet",
        counts=counts,
    )


def _acquisition_channels(seed: int, people: pd.DataFrame) -> np.ndarray:
    """How each record was acquired; a duplicate copy shares its original's channel.

    A stream of its own (the tenth spawned), so every other column is what the seed
    gave before customers had a channel.
    """
    channels = acquisition_channels(np.random.default_rng(seed).spawn(10)[9], len(people))
    original = people["original"].fillna(-1).to_numpy().astype(np.int64)
    copies = np.flatnonzero(original >= 0)
    channels[copies] = channels[original[copies]]
    return channels


def _customer_ids(people: pd.DataFrame) -> tuple[IntArray, pa.Array]:
    """Number customers in order of creation, as a CRM does: ``CLI000001``..."""
    rank = np.empty(len(people), dtype=np.int64)
    rank[np.lexsort((np.arange(len(people)), people["created"].to_numpy()))] = np.arange(
        len(people)
    )
    number = rank + 1
    ids = padded(number, _id_width(len(people)), "CLI")
    blank = people["blank_id"].to_numpy()
    return number, pa.array(np.where(blank, "", ids.to_numpy(zero_copy_only=False)), pa.string())


def _id_width(records: int) -> int:
    # Wide enough for the unknown customers too, which are numbered beyond the rest.
    return max(6, len(str(records + 51_000)))


def _write_customers(
    path: Path, people: pd.DataFrame, ids: pa.Array, number: IntArray, places: Places
) -> int:
    place = people["place"].to_numpy()
    birth = people["birth"].to_numpy()
    known = ~np.isnan(birth)
    birth_text = np.where(
        known, french_dates(np.nan_to_num(birth).astype(np.int64)).to_numpy(False), ""
    )
    text = pd.DataFrame(
        {
            "customer_id": ids.to_numpy(zero_copy_only=False),
            "email": people["email"].to_numpy(),
            "phone": people["phone"].to_numpy(),
            "first_name": people["first_name"].to_numpy(),
            "last_name": people["last_name"].to_numpy(),
            "birth_date": birth_text,
            "gender": people["gender"].to_numpy(),
            "postal_code": np.array(places.postal_codes, dtype=object)[place],
            "city": np.array(places.names, dtype=object)[place],
            "region": np.array(places.regions, dtype=object)[place],
            "country": "FR",
            "acquisition_channel": people["acquisition_channel"].to_numpy(),
            "created_at": french_datetimes(people["created"].to_numpy()).to_numpy(False),
            "updated_at": french_datetimes(people["updated"].to_numpy()).to_numpy(False),
            "interests": people["interests"].to_numpy(),
            "urban_rural": np.array(places.area_classes, dtype=object)[place],
        }
    ).iloc[np.argsort(number, kind="stable")]
    # An export from a Windows CRM: Windows-1252, semicolons, CRLF line ends.
    text.to_csv(path, sep=";", index=False, encoding="cp1252", lineterminator="\r\n")
    return len(text)


def _write_truth(
    out_dir: Path, people: pd.DataFrame, ids: pa.Array, number: IntArray
) -> tuple[int, int]:
    group = people["group"].to_numpy()
    planted = np.flatnonzero(group >= 0)
    planted = planted[np.argsort(number[planted], kind="stable")]
    groups = pa.table(
        {
            "customer_id": ids.take(pa.array(planted)),
            "group": pick([*GROUP_NAMES], group[planted]),
        }
    )
    original = people["original"].to_numpy()
    copies = np.flatnonzero(original >= 0)
    copies = copies[np.argsort(number[copies], kind="stable")]
    pairs = pa.table(
        {
            "customer_id": ids.take(pa.array(copies)),
            "duplicate_of": ids.take(pa.array(original[copies])),
        }
    )
    return (
        _write_parquet(groups, out_dir / "planted_groups.parquet"),
        _write_parquet(pairs, out_dir / "duplicate_pairs.parquet"),
    )


def _write_products(path: Path, catalogue: Catalogue) -> int:
    text = pd.DataFrame(
        {
            "product_id": catalogue.ids,
            "name": catalogue.names,
            "category": np.array(CATEGORIES, dtype=object)[catalogue.category],
            "price": dotted_amounts(catalogue.cents).to_numpy(zero_copy_only=False),
            "launched_at": iso_dates(catalogue.launched).to_numpy(zero_copy_only=False),
        }
    )
    text.to_csv(path, sep=",", index=False, encoding="utf-8", lineterminator="\n")
    return len(text)


def _write_orders(
    out_dir: Path,
    purchases: Purchases,
    catalogue: Catalogue,
    ids: pa.Array,
    customers: int,
    rng: np.random.Generator,
    records: int,
) -> dict[str, int]:
    orders = purchases.orders
    order_ids = padded(np.arange(1, len(orders) + 1), 8, "CMD")
    text = pd.DataFrame(
        {
            "order_id": order_ids.to_numpy(zero_copy_only=False),
            "customer_id": ids.take(pa.array(orders["customer"].to_numpy())).to_numpy(False),
            "ordered_at": french_datetimes(orders["ordered_at"].to_numpy()).to_numpy(False),
            "amount": french_amounts(orders["amount"].to_numpy()).to_numpy(False),
            "currency": "EUR",
            "discount_amount": french_amounts(orders["discount"].to_numpy()).to_numpy(False),
            "channel": np.array(SALES_CHANNELS, dtype=object)[orders["channel"].to_numpy()],
            "status": np.array(STATUSES, dtype=object)[orders["status"].to_numpy()],
            "updated_at": french_datetimes(orders["updated_at"].to_numpy()).to_numpy(False),
        }
    )
    unknown = _unknown_customers(rng, records, max(5, round(customers * 0.0004)))
    rows, counts = spoil_orders(rng, text, len(orders) + 1, unknown)
    # Excel's "CSV UTF-8": byte-order mark, semicolons, decimal commas.
    rows.to_csv(
        out_dir / "orders.csv", sep=";", index=False, encoding="utf-8-sig", lineterminator="\n"
    )
    lines = purchases.lines
    table = pa.table(
        {
            "order_id": order_ids.take(pa.array(lines["order"].to_numpy())),
            "product_id": pick(catalogue.ids, lines["product"].to_numpy()),
            "quantity": pa.array(lines["quantity"].to_numpy(), pa.int64()),
            "unit_price": dotted_amounts(lines["unit_cents"].to_numpy()).cast(pa.decimal128(12, 2)),
        }
    )
    counts["orders"] = len(rows)
    counts["order_lines"] = _write_parquet(table, out_dir / "order_lines.parquet")
    return counts


def _unknown_customers(rng: np.random.Generator, records: int, orders: int) -> list[str]:
    """Customer ids beyond those in customers.csv, some with several orders."""
    width = _id_width(records)
    numbers = records + 1000 + np.sort(rng.choice(50_000, max(1, orders * 2 // 3), replace=False))
    chosen = np.sort(rng.choice(numbers, orders))
    return [f"CLI{n:0{width}d}" for n in chosen.tolist()]


def _write_consents(path: Path, consents: Consents, ids: pa.Array, number: IntArray) -> int:
    rows = consents.rows
    customer = rows["customer"].to_numpy()
    order = np.lexsort((rows["purpose"].to_numpy(), rows["channel"].to_numpy(), number[customer]))
    rows = rows.iloc[order]
    lines = join(
        '{"customer_id":"',
        ids.take(pa.array(rows["customer"].to_numpy())),
        '","channel":"',
        pick([*CHANNELS], rows["channel"].to_numpy()),
        '","purpose":"',
        pick([*PURPOSES], rows["purpose"].to_numpy()),
        '","status":"',
        pick([*CONSENT_STATUSES], rows["status"].to_numpy()),
        '","recorded_at":"',
        iso_instants(rows["recorded_at"].to_numpy()),
        '","source":"',
        pick([*SOURCES], rows["source"].to_numpy()),
        '"}\n',
    )
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("".join(lines.to_pylist()))
    return len(rows)


def _write_parquet(table: pa.Table, path: Path) -> int:
    # Fixed settings: the same table always gives the same bytes.
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=3,
        row_group_size=1_000_000,
        use_dictionary=True,
        write_statistics=True,
    )
    return int(table.num_rows)
