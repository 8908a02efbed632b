"""Contradictory offers: one customer targeted by two campaigns that say different prices.

Two campaigns conflict when their dates overlap and some offer of one meets some
offer of the other on a category (the same category, or ``all`` on either side) with
a different offer: full price against -30%, -20% against -30%, a gift against free
shipping. The customers concerned are those both campaigns would keep (targeted and
consenting, or already assigned and eligible). A customer stays in the campaign of
higher priority and is excluded from the other; equal priorities cannot decide.

The conflict is judged on the campaigns' offers, not on the arms the two customers
happen to draw: excluding a customer from the lower campaign only when their drawn
arms disagree would remove the customers of its offer arms and never those of its
holdout, and so bias its comparison with the control group.

Examples
--------
>>> from cible.activation.campaign_definition import parse_campaign
>>> def campaign(id, priority, offer):
...     return parse_campaign({"id": id, "segments": ["all"], "channel": "email",
...         "priority": priority, "start": "2025-03-01", "end": "2025-03-31",
...         "variants": [{"id": "v", "share": 1, "template": "t", "offer": offer}]})
>>> found = find_conflicts(
...     [campaign("full", 1, {"kind": "full_price", "category": "shoes"}),
...      campaign("sale", 5, {"kind": "discount", "value": 30})],
...     {"full": {"a", "b", "c"}, "sale": {"b", "c", "d"}})
>>> [(c.campaigns, c.category, c.offers, c.customers, c.keeps) for c in found]
[(('full', 'sale'), 'shoes', ('full price (shoes)', 'discount 30% (all)'), 2, 'sale')]
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

from cible.activation.campaign_definition import CampaignDefinition, Offer


@dataclass(frozen=True)
class Conflict:
    """Two campaigns whose offers contradict each other on a category, for some customers.

    ``keeps`` is the campaign of higher priority (None when the priorities are equal);
    ``customer_ids`` are the customers concerned, sorted.
    """

    campaigns: tuple[str, str]
    category: str
    offers: tuple[str, str]
    customers: int
    keeps: str | None
    customer_ids: tuple[str, ...] = ()

    @property
    def loses(self) -> str | None:
        """The campaign the customers are excluded from (None when priorities are equal)."""
        if self.keeps is None:
            return None
        return self.campaigns[1] if self.keeps == self.campaigns[0] else self.campaigns[0]

    def as_dict(self) -> dict[str, object]:
        """Plain values (without the customer ids), for JSON."""
        return {
            "campaigns": list(self.campaigns),
            "category": self.category,
            "offers": list(self.offers),
            "customers": self.customers,
            "keeps": self.keeps,
        }


def offer_clashes(
    first: CampaignDefinition, second: CampaignDefinition
) -> list[tuple[str, Offer, Offer]]:
    """``(category, offer of first, offer of second)`` for every pair of offers that meet
    on a category and differ; empty when the dates do not overlap.

    Examples
    --------
    >>> from cible.activation.campaign_definition import parse_campaign
    >>> def campaign(id, start, offer):
    ...     return parse_campaign({"id": id, "segments": ["all"], "channel": "email",
    ...         "start": start, "end": start[:8] + "28",
    ...         "variants": [{"id": "v", "share": 1, "template": "t", "offer": offer}]})
    >>> a = campaign("a", "2025-03-01", {"kind": "discount", "value": 20})
    >>> offer_clashes(a, campaign("b", "2025-04-01", {"kind": "discount", "value": 30}))
    []
    >>> offer_clashes(a, campaign("c", "2025-03-10", {"kind": "discount", "value": 20}))
    []
    """
    if not first.overlaps(second):
        return []
    found: list[tuple[str, Offer, Offer]] = []
    for mine, theirs in itertools.product(first.offers(), second.offers()):
        category = mine.covers(theirs)
        same = (mine.kind, mine.value) == (theirs.kind, theirs.value)
        if category is not None and not same:
            clash = (category, mine, theirs)
            if clash not in found:
                found.append(clash)
    return found


def find_conflicts(
    campaigns: Sequence[CampaignDefinition], candidates: Mapping[str, Set[str]]
) -> list[Conflict]:
    """Every pair of campaigns whose offers conflict for customers both would keep.

    Parameters
    ----------
    campaigns : sequence of CampaignDefinition
        The campaigns to compare (live ones and those about to launch).
    candidates : mapping of campaign id to a set of customer ids
        The customers each campaign would keep.

    Returns
    -------
    list of Conflict
        One per (pair, category, pair of offers), pairs in id order; pairs that share no
        customer are left out.
    """
    ordered = sorted(campaigns, key=lambda c: c.id)
    found: list[Conflict] = []
    for first, second in itertools.combinations(ordered, 2):
        clashes = offer_clashes(first, second)
        if not clashes:
            continue
        shared = candidates.get(first.id, set()) & candidates.get(second.id, set())
        if not shared:
            continue
        keeps = None
        if first.priority != second.priority:
            keeps = first.id if first.priority > second.priority else second.id
        ids = tuple(sorted(shared))
        for category, mine, theirs in clashes:
            found.append(
                Conflict(
                    (first.id, second.id),
                    category,
                    (mine.label(), theirs.label()),
                    len(ids),
                    keeps,
                    ids,
                )
            )
    return found
