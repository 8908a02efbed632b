"""The replay date ``as_of`` and durations in days, as Ibis expressions.

Every trait is computed as it stood at a moment ``as_of``: only rows strictly before
it count. Durations are fractional days computed from epoch seconds, so that
``recency_days`` of an order placed 36 hours before ``as_of`` is 1.5, not a count of
calendar boundaries crossed.

What "now" is and how ``as_of`` is read live in :mod:`cible.domain.clock`.

Examples
--------
>>> from datetime import datetime
>>> epoch_days_of(datetime(1970, 1, 2, 12))
1.5
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt

_EPOCH = datetime(1970, 1, 1)
_SECONDS_PER_DAY = 86_400.0


def epoch_days_of(moment: datetime) -> float:
    """Days since 1970-01-01 of a naive UTC ``moment``, as a Python float."""
    return (moment - _EPOCH).total_seconds() / _SECONDS_PER_DAY


def epoch_days(timestamp: Any) -> Any:
    """Days since 1970-01-01 of a timestamp column, as a float64 expression.

    Differences of two such values are durations in fractional days. The cast comes
    first because Ibis types epoch seconds as 32-bit integers, which would overflow
    after 2038 on backends that honour the type.
    """
    return timestamp.epoch_seconds().cast(dt.float64) / _SECONDS_PER_DAY


def moment(as_of: datetime) -> Any:
    """``as_of`` (naive UTC) as a timestamp literal.

    Everything derived from ``as_of`` is computed from this literal in SQL rather than
    in Python, so that ``as_of`` appears in a compiled query only as this literal: a
    live refresh compiles its queries once and replaces the literal on each refresh
    (:mod:`cible.store.prepared`).
    """
    return ibis.literal(as_of, dt.timestamp)


def days_ago(as_of: datetime, days: int) -> Any:
    """The moment ``days`` days before ``as_of``, as a timestamp expression."""
    return moment(as_of) - ibis.interval(days=days)


def days_before(as_of: datetime, timestamp: Any) -> Any:
    """Fractional days from ``timestamp`` (a column) to ``as_of`` (a constant)."""
    return epoch_days(moment(as_of)) - epoch_days(timestamp)


@ibis.udf.scalar.builtin(name="timezone")  # type: ignore[untyped-decorator]
def _stored_as_utc(zone: str, moment: dt.timestamp) -> dt.Timestamp(timezone="UTC"):  # type: ignore[valid-type]
    """DuckDB's ``timezone(zone, timestamp)``: a wall time in ``zone`` as an instant."""


@ibis.udf.scalar.builtin(name="timezone")  # type: ignore[untyped-decorator]
def _wall_time(zone: str, moment: dt.Timestamp(timezone="UTC")) -> dt.timestamp:  # type: ignore[valid-type]
    """DuckDB's ``timezone(zone, timestamptz)``: an instant as the wall time in ``zone``."""


def local_time(stored: Any, zone: str) -> Any:
    """A stored (naive UTC) timestamp as the wall time in IANA time zone ``zone``.

    The conversion names UTC explicitly, so the database session's own time zone never
    shifts it; summer time follows the zone's rules.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"at": [datetime(2024, 3, 1, 23, 30)]})
    >>> t.select(local=local_time(t.at, "Europe/Paris")).to_pyarrow()["local"].to_pylist()
    [datetime.datetime(2024, 3, 2, 0, 30)]
    """
    return _wall_time(zone, _stored_as_utc("UTC", stored))
