"""Which customer fields are normalised, how, and the fixes that follow for a table.

On import and on demand (``Workspace.normalise``) the same rules apply: e-mails are
trimmed and lower-cased, phones written in E.164, countries as ISO 3166 alpha-2
codes, first and last names and cities in consistent case. A value that cannot be
normalised is kept (an invalid e-mail trimmed and lower-cased, an invalid phone or an
unknown country trimmed) and flagged with a reason; a postal code that does not fit
its country's layout is flagged too. Nothing is lost.

The work is done on distinct values pulled into pandas, so its cost follows the
number of distinct values, not of rows; the store applies the resulting
:class:`~cible.store.fixes.ValueFix` tables with joins.

Examples
--------
>>> import ibis
>>> people = ibis.memtable({"email": [" Ana@B.FR", "bad@", None], "city": ["PARIS", "Lyon", None]})
>>> fixes = contact_fixes(people, ContactRules())
>>> {f.column: f.frame.to_pylist() for f in fixes}["email"]
[{'_k0': ' Ana@B.FR', 'value': 'ana@b.fr', 'reason': None}, \
{'_k0': 'bad@', 'value': 'bad@', 'reason': 'email is not a valid address (loaded as given)'}]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd
import pyarrow as pa

from cible.quality.normalisation import (
    check_postcode,
    normalise_city,
    normalise_column,
    normalise_country,
    normalise_email,
    normalise_name,
    normalise_phone,
)
from cible.store.fixes import ValueFix

#: Customer fields the import and ``cible normalise`` rewrite.
NORMALISED_FIELDS = ("email", "phone", "country", "first_name", "last_name", "city")


@dataclass(frozen=True)
class ContactRules:
    """Regional defaults of normalisation.

    Parameters
    ----------
    phone_region : str
        Region of phone numbers written without a country code (``[quality]``).
    default_country : str or None
        Country whose postal code layout applies to rows without a country
        (``[workspace] default_region``); ``None`` checks only rows with a country.
    """

    phone_region: str = "FR"
    default_country: str | None = "FR"


@dataclass(frozen=True)
class _Rule:
    normalise: Callable[[str], str | None]
    #: What is stored when ``normalise`` gives None: nothing is dropped.
    fallback: Callable[[str], str]
    #: Why such a value is flagged; None for fields that are never invalid.
    reason: str | None


def _rules(rules: ContactRules) -> dict[str, _Rule]:
    region = rules.phone_region
    return {
        "email": _Rule(
            normalise_email,
            lambda raw: raw.strip().lower(),
            "email is not a valid address (loaded as given)",
        ),
        "phone": _Rule(
            partial(normalise_phone, region=region),
            str.strip,
            f"phone is not a valid number (read as {region} without a +country code; "
            "loaded as given)",
        ),
        "country": _Rule(
            normalise_country,
            str.strip,
            "country is not an ISO 3166 country code or name (loaded as given)",
        ),
        "first_name": _Rule(normalise_name, str.strip, None),
        "last_name": _Rule(normalise_name, str.strip, None),
        "city": _Rule(normalise_city, str.strip, None),
    }


def contact_fixes(table: Any, rules: ContactRules) -> list[ValueFix]:
    """The fixes that normalise the contact fields ``table`` holds.

    Parameters
    ----------
    table : ibis.Table
        Customers, or checked rows of an import; fields it lacks are skipped.
    rules : ContactRules
        Regional defaults.

    Returns
    -------
    list of ValueFix
        One per field with at least one value to change or flag, keyed by the raw
        value (postal codes: by raw code and raw country).
    """
    fixes = []
    for field, rule in _rules(rules).items():
        if field not in table.columns:
            continue
        raw = _distinct(table, [field])[field]
        value = normalise_column(raw, rule.normalise)
        invalid = value.isna()
        value[invalid] = raw[invalid].map(rule.fallback)
        reason = pd.Series(None, index=raw.index, dtype=object)
        if rule.reason is not None:
            reason[invalid] = rule.reason
        keep = (value != raw) | reason.notna()
        if keep.any():
            fixes.append(_fix(field, (field,), [raw[keep]], value[keep], reason[keep]))
    if "postal_code" in table.columns:
        postcode = _postcode_fix(table, rules.default_country)
        if postcode is not None:
            fixes.append(postcode)
    return fixes


def _distinct(table: Any, columns: list[str]) -> pd.DataFrame:
    present = table.select(*columns).filter(table[columns[0]].notnull()).distinct()
    frame: pd.DataFrame = present.to_pyarrow().to_pandas(types_mapper=None)
    return frame.astype(object).where(frame.notna(), None).reset_index(drop=True)


def _postcode_fix(table: Any, default_country: str | None) -> ValueFix | None:
    columns = ["postal_code", "country"] if "country" in table.columns else ["postal_code"]
    pairs = _distinct(table, columns)
    stated = pairs["country"].tolist() if "country" in pairs else [None] * len(pairs)
    # A row without a country is read in the workspace's default one.
    countries = [c if isinstance(c, str) and c.strip() else default_country for c in stated]
    codes = pairs["postal_code"].tolist()
    bad = [
        row
        for row, (code, country) in enumerate(zip(codes, countries, strict=True))
        if not check_postcode(code, country)
    ]
    if not bad:
        return None
    reasons = [
        "postal_code is not a valid postal code of "
        f"{normalise_country(countries[row]) or countries[row]} (loaded as given)"
        for row in bad
    ]
    keys = [pairs[name].iloc[bad] for name in columns]
    index = keys[0].index
    nothing = pd.Series(None, index=index, dtype=object)
    return _fix("postal_code", tuple(columns), keys, nothing, pd.Series(reasons, index=index))


def _fix(
    column: str,
    keys: tuple[str, ...],
    raw: list[pd.Series],
    value: pd.Series,
    reason: pd.Series,
) -> ValueFix:
    def text(series: pd.Series) -> pa.Array:
        return pa.array(series.tolist(), type=pa.string(), from_pandas=True)

    arrays = {f"_k{i}": text(k) for i, k in enumerate(raw)}
    frame = pa.table({**arrays, "value": text(value), "reason": text(reason)})
    return ValueFix(column=column, keys=keys, frame=frame)
