"""What "now" is and how a moment ``as_of`` is read: naive UTC, as stored timestamps are.

Every timestamp in the workspace is naive UTC (DESIGN.md section 4). This module is
the one place that turns the current time, or a moment a user gives, into that form.

Examples
--------
>>> from datetime import datetime, timedelta, timezone
>>> normalise_as_of(datetime(2024, 3, 1, 12, tzinfo=timezone(timedelta(hours=2))))
datetime.datetime(2024, 3, 1, 10, 0)
>>> utc_now().tzinfo is None
True
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from cible.domain.errors import CibleError


def normalise_as_of(as_of: datetime) -> datetime:
    """Return ``as_of`` as a naive UTC datetime, the form stored timestamps have.

    Parameters
    ----------
    as_of : datetime
        Naive (read as UTC) or timezone-aware; an aware one is converted to UTC.

    Raises
    ------
    TypeError
        When ``as_of`` is not a :class:`datetime.datetime` (a bare ``date`` would
        silently mean midnight, which callers rarely intend).
    CibleError
        When the moment, once in UTC, falls outside years 1 to 9999.
    """
    if not isinstance(as_of, datetime):
        raise TypeError(f"as_of must be a datetime, not {type(as_of).__name__}")
    if as_of.tzinfo is not None:
        try:
            as_of = as_of.astimezone(UTC).replace(tzinfo=None)
        except (OverflowError, ValueError):
            raise CibleError(
                f"as_of {as_of.isoformat()} falls outside years 1 to 9999 once converted to "
                "UTC; give a moment inside them."
            ) from None
    # pandas.Timestamp is a datetime subclass; a plain datetime literal is what every
    # Ibis backend understands.
    return datetime(
        as_of.year,
        as_of.month,
        as_of.day,
        as_of.hour,
        as_of.minute,
        as_of.second,
        as_of.microsecond,
    )


def utc_now() -> datetime:
    """The current moment as a naive UTC datetime, the form stored timestamps have."""
    return datetime.now(UTC).replace(tzinfo=None)


def as_of_or_now(as_of: datetime | None) -> datetime:
    """``as_of`` normalised, or the current moment when it is None."""
    return utc_now() if as_of is None else normalise_as_of(as_of)


def local_date(moment: datetime, zone: str) -> date:
    """The calendar day of ``moment`` (naive UTC) in the IANA time ``zone``.

    Examples
    --------
    >>> local_date(datetime(2024, 3, 1, 23, 30), "Europe/Paris")
    datetime.date(2024, 3, 2)
    """
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).date()
