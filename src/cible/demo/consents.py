"""Consent of each customer, per contact channel and processing purpose.

Most customers answer for marketing e-mails and a few other channels when they sign
up (at checkout, in their account, on the newsletter form, in a shop); some change
their mind later, and some withdraw a consent they had given. Campaign e-mails only
reach customers while their e-mail marketing consent is granted, so the events agree
with the consents.

Examples
--------
>>> import numpy as np
>>> from datetime import date
>>> from cible.demo.places import load_places
>>> from cible.demo.population import build_population
>>> from cible.demo.timeline import Period
>>> rng = np.random.default_rng(0)
>>> period = Period.ending(date(2025, 1, 1))
>>> people = build_population(rng, 100, period, load_places())
>>> given = collect_consents(rng, people, period)
>>> bool(given.rows.duplicated(["customer", "channel", "purpose"]).any())
False
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from cible.demo.groups import LAPSED, column
from cible.demo.timeline import IntArray, Period
from cible.domain.schema import CHANNELS, CONSENT_STATUSES, PURPOSES

#: Where a consent was collected or changed, as written in consents.jsonl.
SOURCES = (
    "checkout",
    "account",
    "newsletter_form",
    "store",
    "app",
    "cookie_banner",
    "unsubscribe_link",
    "customer_service",
)
# (channel, purpose) pairs, channel-major, with the share of customers asked, the
# share who accept, the weights of the sources of their answer and the source of a
# withdrawal. The e-mail marketing acceptance comes from the customer's group.
_PAIRS = tuple((channel, purpose) for channel in CHANNELS for purpose in PURPOSES)
# Profiling is asked once, in the account's preferences (recorded on e-mail), and
# nearly everyone accepts: a refusal or a later withdrawal is an objection to
# profiling (art. 21), which takes the customer out of every automated segment, and
# shops see a few percent of them, not half.
_ASKED = {"email": (0.97, 0.55), "sms": (0.75, 0.0), "phone": (0.45, 0.0)}
_ASKED |= {"post": (0.55, 0.0), "push": (0.40, 0.0), "ads": (0.65, 0.0)}
_ACCEPT = {"email": (-1.0, 0.97), "sms": (0.5, 0.4), "phone": (0.3, 0.3)}
_ACCEPT |= {"post": (0.45, 0.3), "push": (0.6, 0.5), "ads": (0.5, 0.55)}
_ANSWERED_AT = {
    "email": {"checkout": 0.4, "account": 0.25, "newsletter_form": 0.25, "store": 0.1},
    "sms": {"checkout": 0.5, "account": 0.3, "store": 0.2},
    "phone": {"account": 0.5, "store": 0.3, "customer_service": 0.2},
    "post": {"store": 0.5, "account": 0.5},
    "push": {"app": 1.0},
    "ads": {"cookie_banner": 0.8, "account": 0.2},
}
_WITHDRAWN_AT = {"email": "unsubscribe_link", "sms": "account", "phone": "customer_service"}
_WITHDRAWN_AT |= {"post": "account", "push": "app", "ads": "cookie_banner"}
_GRANTED, _DENIED, _WITHDRAWN = (
    CONSENT_STATUSES.index(s) for s in ("granted", "denied", "withdrawn")
)
_NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Consents:
    """Consent rows and the window in which each customer accepts marketing e-mails.

    Attributes
    ----------
    rows : pandas.DataFrame
        ``customer`` (row of the population), ``channel``, ``purpose``, ``status``,
        ``source`` (positions in ``CHANNELS``, ``PURPOSES``, ``CONSENT_STATUSES``,
        :data:`SOURCES`) and ``recorded_at`` (epoch seconds).
    email_from, email_until : ndarray of int
        Per customer, marketing e-mails may be sent in ``[email_from, email_until)``;
        empty when the customer never accepted.
    """

    rows: pd.DataFrame
    email_from: IntArray
    email_until: IntArray


def collect_consents(rng: np.random.Generator, people: pd.DataFrame, period: Period) -> Consents:
    """Draw the consent rows of every customer record that has an id."""
    size = len(people)
    behaviour = people["behaviour"].to_numpy()
    reachable = {
        "email": people["email"].to_numpy() != "",
        "sms": people["phone"].to_numpy() != "",
        "phone": people["phone"].to_numpy() != "",
    }
    asked = np.zeros((size, len(_PAIRS)), dtype=bool)
    accept = np.zeros((size, len(_PAIRS)))
    for col, (channel, purpose) in enumerate(_PAIRS):
        share = _ASKED[channel][PURPOSES.index(purpose)]
        eligible = reachable.get(channel, np.ones(size, dtype=bool)) & (behaviour >= 0)
        asked[:, col] = eligible & (rng.random(size) < share)
        accept[:, col] = _ACCEPT[channel][PURPOSES.index(purpose)]
    accept[:, 0] = column("email_grant")[np.maximum(behaviour, 0)]
    customer, pair = np.nonzero(asked)
    count = customer.size
    created = people["created"].to_numpy()[customer]
    settled = people["stale"].to_numpy()[customer]
    granted = rng.random(count) < accept[customer, pair]
    # Most answers are given at sign-up; a third come later, when the customer
    # edits their preferences.
    later = (rng.random(count) < 0.3) & ~settled
    start = np.maximum(created, period.start)
    answered = np.where(
        later,
        start + np.floor(rng.random(count) * (period.end - start)).astype(np.int64),
        created + rng.integers(0, 900, count),
    )
    answered = np.minimum(answered, period.end - 1)
    quit_rate = np.where(pair == 0, 0.08, 0.05)
    quit_rate[(pair == 0) & (behaviour[customer] == LAPSED)] = 0.25
    withdrawn = granted & ~settled & (rng.random(count) < quit_rate)
    after = np.maximum(answered, period.start)
    withdrawn_at = after + np.floor(rng.random(count) * (period.end - after)).astype(np.int64)
    status = np.where(withdrawn, _WITHDRAWN, np.where(granted, _GRANTED, _DENIED))
    rows = pd.DataFrame(
        {
            "customer": customer,
            "channel": pair // len(PURPOSES),
            "purpose": pair % len(PURPOSES),
            "status": status,
            "recorded_at": np.where(withdrawn, withdrawn_at, answered),
            "source": _sources(rng, pair, withdrawn),
        }
    )
    email_from = np.full(size, _NEVER, dtype=np.int64)
    email_until = np.full(size, _NEVER, dtype=np.int64)
    marketing = (pair == 0) & granted
    email_from[customer[marketing]] = answered[marketing]
    email_until[customer[marketing]] = np.where(withdrawn, withdrawn_at, period.end)[marketing]
    return Consents(rows, email_from, email_until)


def _sources(rng: np.random.Generator, pair: IntArray, withdrawn: NDArray[np.bool_]) -> IntArray:
    source = np.zeros(pair.size, dtype=np.int64)
    u = rng.random(pair.size)
    for col, (channel, _) in enumerate(_PAIRS):
        rows = pair == col
        names = list(_ANSWERED_AT[channel])
        cdf = np.cumsum(list(_ANSWERED_AT[channel].values()))
        picked = np.minimum(np.searchsorted(cdf, u[rows], side="right"), len(names) - 1)
        source[rows] = np.array([SOURCES.index(n) for n in names])[picked]
        source[rows & withdrawn] = SOURCES.index(_WITHDRAWN_AT[channel])
    return source
