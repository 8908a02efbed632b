"""The CDNOW sample: real transactions of 2,357 music buyers, 1997-1998.

The file (``demo/data/CDNOW_sample.txt``) is the reference data set of the BG/NBD
paper (Fader, Hardie and Lee, 2005), shipped with Cible as the authors publish it for
research and teaching and as the MIT-licensed ``lifetimes`` package redistributes it
(docs/clv.md). It is rewritten as two plain CSV files and loaded through the ordinary
importer.
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

#: strftime layout of dates in the CDNOW file (19970101).
DATE_FORMAT = "%Y%m%d"


def write_cdnow(out_dir: Path) -> list[tuple[str, Path]]:
    """Write ``customers.csv`` and ``orders.csv`` from the CDNOW sample.

    Returns
    -------
    list of (kind, path)
        Files in import order.

    Examples
    --------
    >>> import tempfile
    >>> files = write_cdnow(Path(tempfile.mkdtemp()))
    >>> [kind for kind, _ in files]
    ['customers', 'orders']
    """
    source = resources.files("cible.demo") / "data" / "CDNOW_sample.txt"
    customers: dict[str, None] = {}
    orders_path = out_dir / "orders.csv"
    with (
        source.open("r", encoding="ascii") as lines,
        orders_path.open("w", encoding="utf-8", newline="") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(["order_id", "customer_id", "ordered_at", "amount", "cds"])
        for number, line in enumerate(lines, start=1):
            customer, _, day, cds, amount = line.split()
            customers.setdefault(customer)
            writer.writerow([f"{customer}-{number:05d}", customer, day, amount, cds])
    customers_path = out_dir / "customers.csv"
    with customers_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "country"])
        writer.writerows([customer, "US"] for customer in customers)
    return [("customers", customers_path), ("orders", orders_path)]
