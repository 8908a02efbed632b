"""The behavioural groups planted in the demo, and the numbers that make them differ.

Every real customer of the demo belongs to one group, and the group alone sets how
they buy, browse, read e-mails and talk about products. The groups are kept well
apart on several traits (recency, frequency, basket, discounts, e-mail engagement,
recent browsing, reviews and shares, share of high-tech, tenure) so that a clustering
of per-customer traits can find them again; the truth is written next to the data,
never inside it.

Examples
--------
>>> [g.name for g in PROFILES][:2]
['bargain_hunter', 'loyal_regular']
>>> round(sum(g.share for g in PROFILES), 6)
1.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cible.demo.timeline import FloatArray, IntArray


@dataclass(frozen=True)
class GroupProfile:
    """How the customers of one planted group behave.

    Rates are means of Poisson draws, multiplied per customer by a log-normal noise
    so that members differ without drifting into another group.

    Parameters
    ----------
    name : str
        Group label written to ``planted_groups.parquet``.
    share : float
        Fraction of customers in the group.
    created_days : tuple of int
        Range of account creation, in days after the start of the period (negative:
        customers who joined before the data begins).
    active_months : tuple of float or None
        When set, the customer stops buying and browsing this many months after the
        start of the period (lapsed customers).
    orders_per_month : float
        Order rate over the active window; for ``regular`` groups, one order every
        ``1 / orders_per_month`` months.
    regular : bool
        Orders come at a steady rhythm instead of at random.
    min_orders, max_orders : int
        Bounds on the number of orders of one customer.
    line_price : float
        Median price, in euros, of a product the customer puts in the basket.
    extra_lines : float
        Mean number of order lines beyond the first.
    discount_prob : float
        Probability that an order carries a discount.
    discount_rate : tuple of float
        Range of the discount, as a share of the basket.
    categories : tuple of float
        Weight of each category of :data:`~cible.demo.catalogue.CATEGORIES`.
    early_adopter : float
        Probability that a high-tech purchase is a product launched days before.
    channels : tuple of float
        Weights of the sales channels web, app, store, phone, marketplace.
    email_open, email_click : float
        Mean probability of opening a campaign, and of clicking once opened.
    email_reach : float
        Probability that a campaign targets the customer.
    email_grant : float
        Probability of accepting marketing e-mails.
    sessions_per_month : float
        Browsing sessions (page views, product views) per active month.
    recent_skew : float
        Above 1, sessions crowd towards the end of the period.
    views, adds, comparisons, pages : float
        Per session: mean product views, probability that a view ends in the cart,
        mean comparisons, mean extra page views.
    app_share : float
        Share of sessions in the mobile app rather than the website.
    reviews, shares, referrals, tickets : float
        Per active month: reviews written, products shared, referrals sent, support
        tickets opened.
    age : float
        Mean age in years.
    """

    name: str
    share: float
    created_days: tuple[int, int]
    active_months: tuple[float, float] | None
    orders_per_month: float
    regular: bool
    min_orders: int
    max_orders: int
    line_price: float
    extra_lines: float
    discount_prob: float
    discount_rate: tuple[float, float]
    categories: tuple[float, ...]
    early_adopter: float
    channels: tuple[float, float, float, float, float]
    email_open: float
    email_click: float
    email_reach: float
    email_grant: float
    sessions_per_month: float
    recent_skew: float
    views: float
    adds: float
    comparisons: float
    pages: float
    app_share: float
    reviews: float
    shares: float
    referrals: float
    tickets: float
    age: float


#: Categories in the order of :data:`~cible.demo.catalogue.CATEGORIES`:
#: mode, maison, beauté, high-tech, sport, jouets, épicerie fine, livres.
PROFILES: tuple[GroupProfile, ...] = (
    GroupProfile(
        name="bargain_hunter",
        share=0.18,
        created_days=(-400, 500),
        active_months=None,
        orders_per_month=0.22,
        regular=False,
        min_orders=2,
        max_orders=60,
        line_price=22.0,
        extra_lines=0.4,
        discount_prob=0.88,
        discount_rate=(0.15, 0.40),
        categories=(0.25, 0.12, 0.18, 0.04, 0.10, 0.13, 0.13, 0.05),
        early_adopter=0.0,
        channels=(0.45, 0.30, 0.05, 0.0, 0.20),
        email_open=0.35,
        email_click=0.45,
        email_reach=0.12,
        email_grant=0.92,
        sessions_per_month=0.2,
        recent_skew=1.0,
        views=1.5,
        adds=0.25,
        comparisons=0.1,
        pages=0.2,
        app_share=0.45,
        reviews=0.01,
        shares=0.005,
        referrals=0.003,
        tickets=0.02,
        age=36.0,
    ),
    GroupProfile(
        name="loyal_regular",
        share=0.17,
        created_days=(-1500, 200),
        active_months=None,
        orders_per_month=0.45,
        regular=True,
        min_orders=3,
        max_orders=60,
        line_price=28.0,
        extra_lines=0.7,
        discount_prob=0.05,
        discount_rate=(0.05, 0.15),
        categories=(0.12, 0.20, 0.15, 0.03, 0.06, 0.07, 0.22, 0.15),
        early_adopter=0.0,
        channels=(0.35, 0.30, 0.30, 0.05, 0.0),
        email_open=0.62,
        email_click=0.25,
        email_reach=0.13,
        email_grant=0.95,
        sessions_per_month=0.15,
        recent_skew=1.0,
        views=1.2,
        adds=0.2,
        comparisons=0.05,
        pages=0.15,
        app_share=0.5,
        reviews=0.02,
        shares=0.004,
        referrals=0.005,
        tickets=0.01,
        age=51.0,
    ),
    GroupProfile(
        name="premium_spender",
        share=0.15,
        created_days=(-600, 500),
        active_months=None,
        orders_per_month=0.1,
        regular=False,
        min_orders=1,
        max_orders=12,
        line_price=280.0,
        extra_lines=0.3,
        discount_prob=0.05,
        discount_rate=(0.05, 0.10),
        categories=(0.07, 0.10, 0.03, 0.70, 0.08, 0.0, 0.02, 0.0),
        early_adopter=0.7,
        channels=(0.50, 0.15, 0.30, 0.05, 0.0),
        email_open=0.25,
        email_click=0.20,
        email_reach=0.11,
        email_grant=0.85,
        sessions_per_month=0.2,
        recent_skew=1.0,
        views=2.0,
        adds=0.2,
        comparisons=0.3,
        pages=0.15,
        app_share=0.3,
        reviews=0.015,
        shares=0.004,
        referrals=0.002,
        tickets=0.04,
        age=45.0,
    ),
    GroupProfile(
        name="window_shopper",
        share=0.18,
        created_days=(300, 1000),
        active_months=None,
        orders_per_month=0.015,
        regular=False,
        min_orders=0,
        max_orders=1,
        line_price=45.0,
        extra_lines=0.2,
        discount_prob=0.3,
        discount_rate=(0.10, 0.20),
        categories=(0.20, 0.15, 0.10, 0.20, 0.15, 0.10, 0.05, 0.05),
        early_adopter=0.1,
        channels=(0.60, 0.30, 0.05, 0.0, 0.05),
        email_open=0.30,
        email_click=0.30,
        email_reach=0.11,
        email_grant=0.9,
        sessions_per_month=0.7,
        recent_skew=2.0,
        views=2.5,
        adds=0.10,
        comparisons=0.8,
        pages=0.3,
        app_share=0.35,
        reviews=0.003,
        shares=0.005,
        referrals=0.0,
        tickets=0.005,
        age=30.0,
    ),
    GroupProfile(
        name="social_influencer",
        share=0.15,
        created_days=(-300, 600),
        active_months=None,
        orders_per_month=0.15,
        regular=False,
        min_orders=1,
        max_orders=30,
        line_price=32.0,
        extra_lines=0.6,
        discount_prob=0.3,
        discount_rate=(0.10, 0.20),
        categories=(0.30, 0.10, 0.30, 0.08, 0.08, 0.04, 0.05, 0.05),
        early_adopter=0.1,
        channels=(0.35, 0.55, 0.10, 0.0, 0.0),
        email_open=0.42,
        email_click=0.35,
        email_reach=0.11,
        email_grant=0.9,
        sessions_per_month=0.25,
        recent_skew=1.0,
        views=1.5,
        adds=0.2,
        comparisons=0.1,
        pages=0.2,
        app_share=0.7,
        reviews=0.25,
        shares=0.5,
        referrals=0.15,
        tickets=0.01,
        age=28.0,
    ),
    GroupProfile(
        name="lapsed",
        share=0.17,
        created_days=(-1200, 120),
        active_months=(12.0, 18.0),
        orders_per_month=0.2,
        regular=False,
        min_orders=1,
        max_orders=12,
        line_price=35.0,
        extra_lines=0.6,
        discount_prob=0.25,
        discount_rate=(0.10, 0.25),
        categories=(0.18, 0.16, 0.12, 0.08, 0.12, 0.12, 0.12, 0.10),
        early_adopter=0.0,
        channels=(0.50, 0.20, 0.25, 0.05, 0.0),
        email_open=0.12,
        email_click=0.15,
        email_reach=0.10,
        email_grant=0.85,
        sessions_per_month=0.25,
        recent_skew=1.0,
        views=1.3,
        adds=0.2,
        comparisons=0.1,
        pages=0.15,
        app_share=0.3,
        reviews=0.01,
        shares=0.003,
        referrals=0.002,
        tickets=0.03,
        age=42.0,
    ),
)

#: Group names in the order of :data:`PROFILES`; arrays hold their position.
GROUP_NAMES = tuple(g.name for g in PROFILES)
LAPSED = GROUP_NAMES.index("lapsed")
#: Channels of :attr:`GroupProfile.channels`, as written in orders.csv.
SALES_CHANNELS = ("web", "app", "store", "phone", "marketplace")


def column(attribute: str) -> FloatArray:
    """Return one numeric attribute of every profile as an array, indexed by group.

    Examples
    --------
    >>> column("line_price")[GROUP_NAMES.index("premium_spender")]
    np.float64(280.0)
    """
    return np.array([getattr(g, attribute) for g in PROFILES], dtype=np.float64)


def weights(attribute: str) -> FloatArray:
    """Return a tuple attribute of every profile as a (group, option) matrix of CDFs."""
    table = np.array([getattr(g, attribute) for g in PROFILES], dtype=np.float64)
    cdf = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
    cdf[:, -1] = 1.0
    return cdf


def draw_option(rng: np.random.Generator, group: IntArray, attribute: str) -> IntArray:
    """Draw one option per row from the group's weights for ``attribute``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> cats = draw_option(rng, np.zeros(1000, dtype=np.int64), "categories")
    >>> int(cats.max()) < 8
    True
    """
    cdf = weights(attribute)[group]
    u = rng.random(group.size)[:, None]
    return np.asarray((u >= cdf).sum(axis=1), dtype=np.int64)
