"""The product catalogue of the synthetic retailer, and how shoppers pick from it.

About 460 products in eight categories, each named from a product noun with its own
plausible price range. Two thirds were launched before the period the demo covers;
the rest arrive during it, some in its last weeks ("new products"). Shoppers choose a
category, then the product whose price is nearest to what they mean to spend, never
one launched after the moment they shop.

Examples
--------
>>> import numpy as np
>>> from datetime import date
>>> from cible.demo.timeline import Period
>>> catalogue = build_catalogue(np.random.default_rng(0), Period.ending(date(2025, 1, 1)))
>>> len(catalogue.ids), CATEGORIES[3]
(460, 'high-tech')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cible.demo.timeline import DAY, FloatArray, IntArray, Period

#: Category names, as written in products.csv; arrays hold their position.
CATEGORIES = (
    "mode",
    "maison",
    "beauté",
    "high-tech",
    "sport",
    "jouets",
    "épicerie fine",
    "livres",
)
HIGH_TECH = CATEGORIES.index("high-tech")
#: How long after its launch a product counts as new, for early adopters.
NEW_PRODUCT_DAYS = 75

# (noun, lowest price, highest price) per category, then the words that tell the
# products of one noun apart, then how many products and the share launched during
# the period.
_Spec = tuple[tuple[tuple[str, int, int], ...], tuple[str, ...], int, float]
_SPECS: tuple[_Spec, ...] = (
    (
        (
            ("T-shirt", 12, 35),
            ("Chemise", 25, 80),
            ("Robe", 30, 140),
            ("Jean", 35, 110),
            ("Pull", 30, 120),
            ("Veste", 60, 220),
            ("Manteau", 90, 320),
            ("Jupe", 25, 90),
            ("Écharpe", 15, 60),
            ("Baskets", 45, 150),
            ("Bottines", 60, 180),
            ("Sac à main", 40, 250),
            ("Ceinture", 15, 60),
            ("Short", 15, 45),
        ),
        ("noir", "blanc", "bleu marine", "camel", "kaki", "bordeaux", "gris chiné", "écru"),
        80,
        0.3,
    ),
    (
        (
            ("Lampe", 25, 180),
            ("Coussin", 12, 45),
            ("Plaid", 25, 90),
            ("Vase", 15, 80),
            ("Tapis", 40, 350),
            ("Miroir", 35, 220),
            ("Cocotte", 45, 260),
            ("Service à thé", 30, 120),
            ("Parure de lit", 40, 160),
            ("Bougie parfumée", 9, 40),
            ("Étagère", 40, 200),
            ("Fauteuil", 150, 650),
            ("Poêle", 20, 90),
            ("Carafe", 12, 45),
        ),
        ("ocre", "ivoire", "sable", "anthracite", "céladon", "terracotta", "bleu nuit", "olive"),
        70,
        0.3,
    ),
    (
        (
            ("Crème hydratante", 12, 70),
            ("Sérum", 20, 95),
            ("Rouge à lèvres", 9, 40),
            ("Eau de parfum", 35, 140),
            ("Shampooing", 5, 22),
            ("Huile sèche", 12, 45),
            ("Masque visage", 8, 40),
            ("Gommage", 9, 35),
            ("Eau micellaire", 6, 20),
            ("Baume à lèvres", 4, 15),
            ("Mascara", 10, 35),
            ("Crème mains", 5, 20),
        ),
        ("Éclat", "Pureté", "Douceur", "Hydra+", "Nutrition", "Jeunesse", "Fraîcheur", "Sensitive"),
        60,
        0.35,
    ),
    (
        (
            ("Casque audio", 40, 380),
            ("Écouteurs sans fil", 30, 280),
            ("Smartphone", 180, 1400),
            ("Tablette", 150, 1100),
            ("Ordinateur portable", 450, 2200),
            ("Enceinte connectée", 40, 350),
            ("Montre connectée", 90, 650),
            ("Appareil photo", 300, 1800),
            ("Drone", 250, 1500),
            ("Liseuse", 90, 250),
            ("Console de jeux", 250, 550),
            ("Clavier mécanique", 50, 200),
            ("Souris sans fil", 15, 90),
            ("Disque SSD", 45, 250),
            ("Chargeur rapide", 15, 60),
            ("Vidéoprojecteur", 250, 1500),
        ),
        tuple(
            f"{brand} {model}"
            for brand in ("Voltis", "Orbix", "Kaleo", "Nuvia", "Zéphyr", "Lumio")
            for model in ("Pro", "Max", "Lite", "Air", "Ultra", "S2", "Neo", "Mini")
        ),
        70,
        0.55,
    ),
    (
        (
            ("Tapis de yoga", 15, 70),
            ("Raquette de tennis", 30, 220),
            ("Chaussures de running", 60, 180),
            ("Vélo", 250, 1500),
            ("Sac de randonnée", 35, 180),
            ("Gourde isotherme", 12, 40),
            ("Haltères", 20, 120),
            ("Ballon de football", 12, 40),
            ("Tente", 60, 450),
            ("Maillot de bain", 20, 60),
            ("Bâtons de marche", 25, 110),
            ("Casque de vélo", 30, 150),
            ("Trottinette", 80, 500),
        ),
        ("Initiation", "Confort", "Performance", "Compétition", "Trail", "Évasion", "Urbain"),
        55,
        0.3,
    ),
    (
        (
            ("Puzzle", 8, 35),
            ("Peluche", 10, 45),
            ("Jeu de société", 18, 60),
            ("Poupée", 15, 70),
            ("Circuit de billes", 25, 90),
            ("Jeu de construction", 15, 130),
            ("Voiture télécommandée", 25, 120),
            ("Jeu de cartes", 6, 20),
            ("Dînette", 20, 80),
            ("Xylophone", 15, 50),
            ("Kit créatif", 10, 40),
        ),
        ("Petit Explorateur", "Géant", "Magique", "Aventure", "Classique", "Éveil", "Famille"),
        45,
        0.3,
    ),
    (
        (
            ("Terrine", 5, 18),
            ("Miel", 7, 25),
            ("Confiture", 4, 12),
            ("Huile d'olive", 9, 35),
            ("Thé", 6, 25),
            ("Café en grains", 8, 30),
            ("Chocolat noir", 4, 15),
            ("Foie gras", 18, 70),
            ("Moutarde", 3, 9),
            ("Caramel au beurre salé", 5, 14),
            ("Sel", 4, 12),
            ("Rillettes", 5, 14),
            ("Coffret gourmand", 30, 120),
        ),
        (
            "de Provence",
            "de Bretagne",
            "d'Alsace",
            "du Périgord",
            "de Normandie",
            "des Landes",
            "du Pays basque",
            "de Savoie",
        ),
        40,
        0.25,
    ),
    (
        (
            ("Roman", 8, 24),
            ("Polar", 8, 22),
            ("Bande dessinée", 12, 30),
            ("Manga", 7, 12),
            ("Album jeunesse", 10, 22),
            ("Essai", 12, 26),
            ("Beau livre", 25, 60),
            ("Recueil de nouvelles", 8, 20),
        ),
        (
            "« Les Heures claires »",
            "« Le Jardin d'hiver »",
            "« Un été à Biarritz »",
            "« La Maison des brumes »",
            "« Nuits lyonnaises »",
            "« Le Dernier Phare »",
            "« Sous les tilleuls »",
            "« La Route du sel »",
            "« Minuit à Montmartre »",
            "« L'Île aux mouettes »",
        ),
        40,
        0.3,
    ),
)

_KEY_SCALE = 10_000_000  # above any price in cents, so (category, price) sorts as one key


@dataclass(frozen=True)
class _PriceIndex:
    """Products of a subset sorted by (category, price), for nearest-price look-ups."""

    keys: IntArray
    products: IntArray
    first: IntArray
    stop: IntArray

    @classmethod
    def of(cls, category: IntArray, cents: IntArray, subset: NDArray[np.bool_]) -> _PriceIndex:
        members = np.flatnonzero(subset)
        keys = category[members] * _KEY_SCALE + cents[members]
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        edges = np.arange(len(CATEGORIES) + 1, dtype=np.int64) * _KEY_SCALE
        bounds = np.searchsorted(keys, edges)
        return cls(keys, members[order], bounds[:-1], bounds[1:])

    def nearest(
        self, rng: np.random.Generator, category: IntArray, target_cents: IntArray
    ) -> IntArray:
        position = np.searchsorted(self.keys, category * _KEY_SCALE + target_cents)
        # A little jitter so that equal budgets do not all land on the same product.
        position = position + rng.integers(-2, 3, position.size)
        first, stop = self.first[category], self.stop[category]
        return self.products[np.clip(position, first, np.maximum(stop - 1, first))]


@dataclass(frozen=True)
class Catalogue:
    """Products as parallel arrays, plus the indexes shoppers pick from.

    Attributes
    ----------
    ids, names : list of str
        ``P0001``... and the product names.
    category : ndarray of int
        Position in :data:`CATEGORIES`.
    cents : ndarray of int
        List price in cents.
    launched : ndarray of int
        Launch instant, epoch seconds.
    """

    ids: list[str]
    names: list[str]
    category: IntArray
    cents: IntArray
    launched: IntArray
    _all: _PriceIndex
    _classic: _PriceIndex
    _new_order: IntArray
    _new_launch: IntArray

    def pick(
        self,
        rng: np.random.Generator,
        category: IntArray,
        budget: FloatArray,
        when: IntArray,
        early_adopter: NDArray[np.bool_],
    ) -> IntArray:
        """Return one product per row: nearest in price, launched before ``when``.

        Parameters
        ----------
        category : ndarray of int
            Category the shopper browses.
        budget : ndarray of float
            Price, in euros, the shopper has in mind.
        when : ndarray of int
            Instant of the purchase or visit.
        early_adopter : ndarray of bool
            Rows that take a high-tech product launched in the previous
            :data:`NEW_PRODUCT_DAYS` days when there is one.

        Examples
        --------
        >>> from datetime import date
        >>> from cible.demo.timeline import Period
        >>> period = Period.ending(date(2025, 1, 1))
        >>> cat = build_catalogue(np.random.default_rng(0), period)
        >>> rows = np.array([HIGH_TECH])
        >>> chosen = cat.pick(np.random.default_rng(1), rows, np.array([300.0]),
        ...                   np.array([period.end - 1]), np.array([False]))
        >>> int(cat.category[chosen[0]]) == HIGH_TECH
        True
        """
        target = np.round(budget * 100).astype(np.int64)
        chosen = self._all.nearest(rng, category, target)
        too_new = self.launched[chosen] > when
        if too_new.any():
            chosen[too_new] = self._classic.nearest(rng, category[too_new], target[too_new])
        wanted = np.flatnonzero(early_adopter & (category == HIGH_TECH))
        if wanted.size:
            moment = when[wanted]
            low = np.searchsorted(self._new_launch, moment - NEW_PRODUCT_DAYS * DAY)
            high = np.searchsorted(self._new_launch, moment, side="right")
            found = high > low
            offset = np.floor(rng.random(wanted.size) * (high - low)).astype(np.int64)
            chosen[wanted[found]] = self._new_order[(low + offset)[found]]
        return chosen


def build_catalogue(rng: np.random.Generator, period: Period) -> Catalogue:
    """Draw the products of the retailer for ``period``.

    Examples
    --------
    >>> from datetime import date
    >>> cat = build_catalogue(np.random.default_rng(3), Period.ending(date(2024, 5, 1)))
    >>> bool((cat.cents > 0).all())
    True
    """
    names: list[str] = []
    categories: list[int] = []
    low_high: list[tuple[int, int]] = []
    new_flags: list[bool] = []
    for position, (nouns, qualifiers, count, new_share) in enumerate(_SPECS):
        combos = rng.choice(len(nouns) * len(qualifiers), size=count, replace=False)
        for combo in np.sort(combos).tolist():
            noun, low, high = nouns[combo // len(qualifiers)]
            names.append(f"{noun} {qualifiers[combo % len(qualifiers)]}")
            categories.append(position)
            low_high.append((low, high))
        new_flags.extend((rng.random(count) < new_share).tolist())
    bounds = np.array(low_high, dtype=np.float64)
    euros = np.exp(rng.uniform(np.log(bounds[:, 0]), np.log(bounds[:, 1])))
    cents = _shop_price(rng, euros)
    is_new = np.array(new_flags)
    launched = _launch_dates(rng, period, is_new)
    category = np.array(categories, dtype=np.int64)
    new_ht = np.flatnonzero(category == HIGH_TECH)
    new_ht = new_ht[np.argsort(launched[new_ht], kind="stable")]
    return Catalogue(
        ids=[f"P{i:04d}" for i in range(1, len(names) + 1)],
        names=names,
        category=category,
        cents=cents,
        launched=launched,
        _all=_PriceIndex.of(category, cents, np.ones(len(names), dtype=bool)),
        _classic=_PriceIndex.of(category, cents, launched <= period.start),
        _new_order=new_ht,
        _new_launch=launched[new_ht],
    )


def _shop_price(rng: np.random.Generator, euros: FloatArray) -> IntArray:
    """Round to prices shops write: 4,50 / 19,90 / 49,99 / 249,99 / 1299,00."""
    small = np.floor(euros) * 100 + rng.choice([50, 90, 99], euros.size)
    mid = np.floor(euros) * 100 + rng.choice([0, 90, 99, 99], euros.size)
    large = np.round(euros / 10) * 1000 - rng.choice([1, 100, 1], euros.size)
    cents = np.where(euros < 10, small, np.where(euros < 100, mid, large))
    return np.asarray(np.maximum(cents, 99), dtype=np.int64)


def _launch_dates(rng: np.random.Generator, period: Period, is_new: NDArray[np.bool_]) -> IntArray:
    old = rng.integers(period.start - 4 * 365 * DAY, period.start - DAY, is_new.size)
    # A fifth of the products launched during the period arrive in its last four
    # months, so that "new products" exist whatever the end date.
    recent = rng.random(is_new.size) < 0.2
    first = np.where(recent, period.end - 120 * DAY, period.start)
    during = first + np.floor(rng.random(is_new.size) * (period.end - DAY - first))
    days = np.where(is_new, during.astype(np.int64), old) // DAY
    return days.astype(np.int64) * DAY
