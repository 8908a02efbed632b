"""Faults planted in the demo files, for the quality audit and the importer to find.

Two kinds, counted so that tests can check the importer's bookkeeping
(rows read = rows loaded + rows rejected):

* flaws a quality audit should report but that load fine: malformed e-mail addresses,
  phone numbers too short or with letters, birth dates in 1890 or in the future;
* rows the importer must reject (no customer id, unknown gender, negative or
  non-numeric amount, impossible date, unknown channel, order id given twice or
  empty), and orders of customers that do not exist, loaded but flagged.

Examples
--------
>>> broken_email("jean.dupont@gmail.com", 0)
'jean.dupont@gmail'
>>> broken_phone("06 12 34 56 78", 1)
'06 12 AB 56 78'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cible.demo.timeline import DAY, Period

#: Value written in the gender column of the one customer row with an unknown gender.
UNKNOWN_GENDER = "NSP"
#: Customer rows without a customer id.
EMPTY_CUSTOMER_IDS = 3


def broken_email(email: str, kind: int) -> str:
    """Spoil an address the way forms let them through (four kinds, 0 to 3)."""
    local, _, domain = email.partition("@")
    if kind == 0:
        return f"{local}@{domain.rsplit('.', 1)[0]}"
    if kind == 1:
        return f"{local}@@{domain}"
    if kind == 2:
        return f"{local}.{domain}"
    return f"{local}@{domain.replace('.', '..', 1)}"


def broken_phone(phone: str, kind: int) -> str:
    """Spoil a phone number: cut short, letters typed in, or one digit too many."""
    if kind == 0:
        return phone[:-3].rstrip(" .")
    if kind == 1:
        digits = [i for i, c in enumerate(phone) if c.isdigit()]
        chars = list(phone)
        for position, letter in zip(digits[4:6], "AB", strict=True):
            chars[position] = letter
        return "".join(chars)
    return phone + "9"


def spoil_profiles(rng: np.random.Generator, frame: pd.DataFrame, period: Period) -> dict[str, int]:
    """Plant audit findings in planted customers' rows of ``frame``, in place.

    Sets the ``email_ok`` column (an address a campaign can reach) and returns how
    many rows got each flaw.
    """
    people = frame["group"].to_numpy() >= 0
    size = int(people.sum())
    with_email = np.flatnonzero(people & (frame["email"].to_numpy() != ""))
    bad_email = np.sort(rng.choice(with_email, round(0.015 * size), replace=False))
    emails = frame["email"].to_numpy().copy()
    for kind, row in enumerate(bad_email.tolist()):
        emails[row] = broken_email(emails[row], kind % 4)
    frame["email"] = emails
    frame["email_ok"] = frame["email"].to_numpy() != ""
    frame.loc[bad_email, "email_ok"] = False

    with_phone = np.flatnonzero(people & (frame["phone"].to_numpy() != ""))
    bad_phone = np.sort(rng.choice(with_phone, round(0.01 * size), replace=False))
    phones = frame["phone"].to_numpy().copy()
    for kind, row in enumerate(bad_phone.tolist()):
        phones[row] = broken_phone(phones[row], kind % 3)
    frame["phone"] = phones

    impossible = np.sort(rng.choice(np.flatnonzero(people), max(2, round(0.0005 * size)), False))
    half = impossible.size // 2
    old = -2_524_608_000 + rng.integers(0, 365, half) * DAY  # during 1890
    future = period.end + rng.integers(30, 3650, impossible.size - half) * DAY
    frame.loc[impossible, "birth"] = np.concatenate([old, future]).astype(np.float64)
    return {
        "customers_invalid_email": int(bad_email.size),
        "customers_invalid_phone": int(bad_phone.size),
        "customers_impossible_birth_date": int(impossible.size),
    }


def mark_rejected_customers(extras: pd.DataFrame) -> dict[str, int]:
    """Turn ``extras`` into rows the importer must reject, in place.

    The first :data:`EMPTY_CUSTOMER_IDS` rows lose their customer id; the next one
    gets the gender :data:`UNKNOWN_GENDER`. None of them has any activity.
    """
    extras["group"] = -1
    extras["behaviour"] = -1
    extras["extra"] = True
    extras["blank_id"] = np.arange(len(extras)) < EMPTY_CUSTOMER_IDS
    extras.loc[EMPTY_CUSTOMER_IDS, "gender"] = UNKNOWN_GENDER
    return {"customers_empty_id": EMPTY_CUSTOMER_IDS, "customers_unknown_gender": 1}


def spoil_orders(
    rng: np.random.Generator, rows: pd.DataFrame, next_number: int, unknown_customers: list[str]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Insert rejected rows and orders of unknown customers among the text ``rows``.

    Parameters
    ----------
    rows : pandas.DataFrame
        orders.csv as text, one column per canonical name.
    next_number : int
        First unused order number; new rows take ``CMD`` + this number onwards.
    unknown_customers : list of str
        Customer ids absent from customers.csv.

    Returns
    -------
    (pandas.DataFrame, dict)
        The rows to write, and the count of each kind of planted fault.
    """
    per_kind = max(1, round(len(rows) * 0.00015))
    kinds = (
        "negative_amount",
        "bad_amount",
        "bad_date",
        "unknown_channel",
        "duplicate_id",
        "empty_id",
    )
    templates = rows.iloc[rng.choice(len(rows), per_kind * len(kinds) + len(unknown_customers))]
    extra = templates.reset_index(drop=True).copy()
    numbers = next_number + np.arange(len(extra))
    extra["order_id"] = [f"CMD{n:08d}" for n in numbers.tolist()]
    kind = np.repeat(np.arange(len(kinds) + 1), [per_kind] * len(kinds) + [len(unknown_customers)])
    amounts = extra["amount"].tolist()
    dates = extra["ordered_at"].tolist()
    for row in range(len(extra)):
        name = kinds[kind[row]] if kind[row] < len(kinds) else "unknown_customer"
        if name == "negative_amount":
            amounts[row] = f"-{amounts[row]}"
        elif name == "bad_amount":
            amounts[row] = "abc" if row % 2 else "12,3,4"
        elif name == "bad_date":
            dates[row] = "hier" if row % 2 else f"31/02/{dates[row][6:]}"
    extra["amount"] = amounts
    extra["ordered_at"] = dates
    extra.loc[kind == kinds.index("unknown_channel"), "channel"] = "fax"
    extra.loc[kind == kinds.index("empty_id"), "order_id"] = ""
    extra.loc[kind == len(kinds), "customer_id"] = unknown_customers
    # Double exports: the id of an order already in the file, with another status,
    # placed right after the row it repeats.
    repeated = np.flatnonzero(kind == kinds.index("duplicate_id"))
    originals = rng.choice(len(rows), repeated.size, replace=False)
    extra.iloc[repeated] = rows.iloc[originals].to_numpy()
    was_cancelled = extra.loc[repeated, "status"].to_numpy() == "cancelled"
    extra.loc[repeated, "status"] = np.where(was_cancelled, "completed", "cancelled")
    position = 2 * rng.integers(0, len(rows) + 1, len(extra)) + 1
    position[repeated] = 2 * originals + 1
    order = np.argsort(np.concatenate([2 * np.arange(len(rows)), position]), kind="stable")
    result = pd.concat([rows, extra], ignore_index=True).iloc[order].reset_index(drop=True)
    counts = {f"orders_{k}": per_kind for k in kinds}
    counts["orders_invalid"] = per_kind * len(kinds)
    counts["orders_unknown_customer"] = len(unknown_customers)
    return result, counts
