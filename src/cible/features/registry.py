"""The declared per-customer traits: name, type, unit, category and descriptions.

Every trait is declared here, once, in a group (:data:`TRAIT_GROUPS`):
:data:`TRAITS` are the columns :func:`cible.features.compute_traits` returns, in this
order, after ``customer_id``; a run adds :data:`DERIVED_TRAITS` (RFM and lifecycle),
:data:`TYPOLOGY_TRAITS`, :data:`VALUE_TRAITS` and :data:`CHURN_TRAITS`. The segment
language, the UI and the documentation read this registry instead of hard-coding
trait names, in the way the field registry of :mod:`cible.domain.schema` describes
stored attributes.

Units are a small vocabulary the UI formats: ``days``, ``orders``, ``currency``
(the workspace currency; amounts are summed as stored, without conversion),
``share`` (a number between 0 and 1), ``count``, ``hours`` and ``""`` for dates and
labels.

Examples
--------
>>> get_trait("recency_days").unit
'days'
>>> [t.name for t in TRAITS][:3]
['first_order_at', 'last_order_at', 'recency_days']
>>> list(TRAIT_GROUPS)
['base', 'derived', 'typology', 'value', 'churn']
>>> VALUE_TRAITS[0].name
'probability_alive'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from cible.domain.schema import SALES_CHANNELS, Category

#: Column types a trait may have, as Ibis spells them.
DTYPES = ("float64", "int64", "string", "timestamp")


@dataclass(frozen=True)
class Trait:
    """One computed per-customer attribute.

    Parameters
    ----------
    name : str
        Column name, snake_case, with its unit where one applies (``recency_days``).
    dtype : str
        Column type: ``float64``, ``int64``, ``string`` or ``timestamp``.
    unit : str
        What one unit of the value is (``days``, ``orders``, ``currency``, ``share``,
        ``count``), empty for dates and labels.
    category : Category
        Segmentation basis the trait belongs to.
    description : str
        One English sentence for documentation and the UI.
    description_fr : str
        The same sentence in French.
    label : str
        A few English words a marketer reads in a table or a persona card: no column
        name, no configuration path (empty: the trait is only shown to machines).
    label_fr : str
        The same words in French.

    Examples
    --------
    >>> from cible.domain.schema import Category
    >>> Trait("x_days", "float64", "days", Category.BEHAVIOURAL, "X.", "X.").dtype
    'float64'
    >>> get_trait("recency_days").label_in("fr")
    'Jours depuis le dernier achat'
    """

    name: str
    dtype: str
    unit: str
    category: Category
    description: str
    description_fr: str
    label: str = ""
    label_fr: str = ""

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"trait {self.name}: dtype {self.dtype!r} is not one of {DTYPES}")

    def label_in(self, lang: str) -> str:
        """The label in ``lang`` (``en`` or ``fr``), the English one for another language."""
        return self.label_fr if lang == "fr" and self.label_fr else self.label


def labelled(traits: tuple[Trait, ...], labels: Mapping[str, tuple[str, str]]) -> tuple[Trait, ...]:
    """``traits`` with their English and French labels from ``labels`` (name -> (en, fr)).

    Raises
    ------
    ValueError
        When a trait has no label, so that no trait reaches a reader by its column name.

    Examples
    --------
    >>> from cible.domain.schema import Category
    >>> plain = Trait("x_days", "float64", "days", Category.BEHAVIOURAL, "X.", "X.")
    >>> labelled((plain,), {"x_days": ("Days of X", "Jours de X")})[0].label_fr
    'Jours de X'
    """
    missing = [t.name for t in traits if t.name not in labels]
    if missing:
        raise ValueError(f"traits without a label: {', '.join(missing)}")
    return tuple(replace(t, label=labels[t.name][0], label_fr=labels[t.name][1]) for t in traits)


_B, _V = Category.BEHAVIOURAL, Category.VALUE

# How each sales channel reads inside a sentence, in English and in French.
_CHANNEL_WORDS = {
    "web": ("on the website", "sur le site web"),
    "app": ("in the mobile app", "dans l'application mobile"),
    "store": ("in a physical store", "en magasin"),
    "phone": ("by phone", "par téléphone"),
    "marketplace": ("on a marketplace", "sur une place de marché"),
}


def _channel_share(channel: str) -> Trait:
    english, french = _CHANNEL_WORDS[channel]
    return Trait(
        f"channel_share_{channel}",
        "float64",
        "share",
        _B,
        f"Share of the customer's purchases placed {english}.",
        f"Part des achats du client passés {french}.",
    )


_ORDER_TRAITS = (
    Trait(
        "first_order_at",
        "timestamp",
        "",
        _B,
        "When the customer's first purchase was placed.",
        "Date du premier achat du client.",
    ),
    Trait(
        "last_order_at",
        "timestamp",
        "",
        _B,
        "When the customer's most recent purchase was placed.",
        "Date du dernier achat du client.",
    ),
    Trait(
        "recency_days",
        "float64",
        "days",
        _B,
        "Days since the customer's most recent purchase.",
        "Nombre de jours depuis le dernier achat du client.",
    ),
    Trait(
        "frequency",
        "int64",
        "orders",
        _B,
        "Number of purchases, cancelled and returned orders excluded.",
        "Nombre d'achats, hors commandes annulées ou retournées.",
    ),
    Trait(
        "monetary_value",
        "float64",
        "currency",
        _V,
        "Total amount of the customer's purchases.",
        "Montant total des achats du client.",
    ),
    Trait(
        "orders_90d",
        "int64",
        "orders",
        _B,
        "Number of purchases in the last 90 days.",
        "Nombre d'achats des 90 derniers jours.",
    ),
    Trait(
        "revenue_90d",
        "float64",
        "currency",
        _V,
        "Total amount of the customer's purchases in the last 90 days.",
        "Montant total des achats du client des 90 derniers jours.",
    ),
    Trait(
        "avg_order_value",
        "float64",
        "currency",
        _V,
        "Average amount of one purchase.",
        "Montant moyen d'un achat.",
    ),
    Trait(
        "tenure_days",
        "float64",
        "days",
        _B,
        "Days since the customer was created or first purchased, whichever came first.",
        "Nombre de jours depuis la création du client ou son premier achat, au plus tôt.",
    ),
    Trait(
        "mean_days_between_orders",
        "float64",
        "days",
        _B,
        "Mean number of days between two consecutive purchases.",
        "Nombre moyen de jours entre deux achats consécutifs.",
    ),
    Trait(
        "discount_share",
        "float64",
        "share",
        _B,
        "Share of the customer's purchases that had a discount.",
        "Part des achats du client ayant bénéficié d'une remise.",
    ),
    Trait(
        "returns",
        "int64",
        "orders",
        _B,
        "Number of orders the customer returned.",
        "Nombre de commandes retournées par le client.",
    ),
    Trait(
        "cancellations",
        "int64",
        "orders",
        _B,
        "Number of orders that were cancelled.",
        "Nombre de commandes annulées.",
    ),
    Trait(
        "return_rate",
        "float64",
        "share",
        _B,
        "Share of kept or returned orders that were returned.",
        "Part des commandes conservées ou retournées qui ont été retournées.",
    ),
)

_CHANNEL_TRAITS = (
    Trait(
        "top_channel",
        "string",
        "",
        _B,
        "Sales channel of most of the customer's purchases.",
        "Canal de vente de la plupart des achats du client.",
    ),
    *(_channel_share(channel) for channel in SALES_CHANNELS),
)

_CATEGORY_TRAITS = (
    Trait(
        "top_category",
        "string",
        "",
        _B,
        "Product category on which the customer spent the most.",
        "Catégorie de produits dans laquelle le client a le plus dépensé.",
    ),
    Trait(
        "top_category_share",
        "float64",
        "share",
        _B,
        "Share of the customer's spend that went to their top category.",
        "Part des dépenses du client consacrée à sa catégorie principale.",
    ),
    Trait(
        "category_count",
        "int64",
        "count",
        _B,
        "Number of distinct product categories the customer bought.",
        "Nombre de catégories de produits distinctes achetées par le client.",
    ),
    Trait(
        "high_tech_share",
        "float64",
        "share",
        _B,
        "Share of the customer's spend in high-tech categories ([traits] high_tech_categories).",
        "Part des dépenses du client dans les catégories high-tech "
        "([traits] high_tech_categories).",
    ),
    Trait(
        "early_adopter_share",
        "float64",
        "share",
        _B,
        "Share of bought lines whose product was launched at most [traits] new_product_days "
        "days before the order.",
        "Part des lignes achetées dont le produit est sorti au plus [traits] new_product_days "
        "jours avant la commande.",
    ),
)

_EMAIL_TRAITS = (
    Trait(
        "emails_received",
        "int64",
        "count",
        _B,
        "Number of marketing emails sent to the customer.",
        "Nombre d'e-mails marketing envoyés au client.",
    ),
    Trait(
        "email_open_rate",
        "float64",
        "share",
        _B,
        "Email opens divided by emails sent.",
        "Ouvertures d'e-mails rapportées aux e-mails envoyés.",
    ),
    Trait(
        "email_click_rate",
        "float64",
        "share",
        _B,
        "Email link clicks divided by emails sent.",
        "Clics dans les e-mails rapportés aux e-mails envoyés.",
    ),
)


def _sessions(days: int) -> Trait:
    return Trait(
        f"sessions_{days}d",
        "int64",
        "count",
        _B,
        f"Days with a page view or shopping event in the last {days} days.",
        f"Jours avec une page vue ou une action d'achat sur les {days} derniers jours.",
    )


def _product_views(days: int) -> Trait:
    return Trait(
        f"product_views_{days}d",
        "int64",
        "count",
        _B,
        f"Product pages viewed in the last {days} days.",
        f"Fiches produits consultées sur les {days} derniers jours.",
    )


def _cart_adds(days: int) -> Trait:
    return Trait(
        f"cart_adds_{days}d",
        "int64",
        "count",
        _B,
        f"Products added to the cart in the last {days} days.",
        f"Produits ajoutés au panier sur les {days} derniers jours.",
    )


_WEB_TRAITS = (
    _sessions(30),
    _sessions(90),
    _product_views(30),
    _product_views(90),
    _cart_adds(30),
    _cart_adds(90),
)

_ENGAGEMENT_TRAITS = (
    Trait(
        "reviews_written",
        "int64",
        "count",
        _B,
        "Number of product reviews the customer wrote.",
        "Nombre d'avis produits rédigés par le client.",
    ),
    Trait(
        "social_shares",
        "int64",
        "count",
        _B,
        "Number of products shared and referrals sent by the customer.",
        "Nombre de produits partagés et de parrainages envoyés par le client.",
    ),
    Trait(
        "support_tickets",
        "int64",
        "count",
        _B,
        "Number of support tickets the customer opened.",
        "Nombre de demandes d'assistance ouvertes par le client.",
    ),
    Trait(
        "comparison_views",
        "int64",
        "count",
        _B,
        "Number of product comparisons the customer viewed.",
        "Nombre de comparatifs de produits consultés par le client.",
    ),
)

_JOURNEY_TRAITS = (
    Trait(
        "promo_page_share",
        "float64",
        "share",
        _B,
        "Share of the customer's page views that were promotion pages ([traits] promo_paths).",
        "Part des pages vues par le client qui étaient des pages promotionnelles "
        "([traits] promo_paths).",
    ),
    Trait(
        "comparisons_per_order",
        "float64",
        "count",
        _B,
        "Product comparisons viewed per purchase.",
        "Comparatifs de produits consultés par achat.",
    ),
    Trait(
        "view_to_purchase_hours",
        "float64",
        "hours",
        _B,
        "Median hours from the first view of a bought product, within 30 days, to its purchase.",
        "Nombre médian d'heures entre la première consultation d'un produit acheté, sur "
        "30 jours, et son achat.",
    ),
)

_CHANNEL_NOUNS = {
    "web": ("website", "site web"),
    "app": ("mobile app", "application mobile"),
    "store": ("store", "magasin"),
    "phone": ("phone", "téléphone"),
    "marketplace": ("marketplace", "place de marché"),
}
# What a marketer reads for each trait (tables, persona cards, reports).
_LABELS: dict[str, tuple[str, str]] = {
    "first_order_at": ("First purchase", "Premier achat"),
    "last_order_at": ("Last purchase", "Dernier achat"),
    "recency_days": ("Days since last purchase", "Jours depuis le dernier achat"),
    "frequency": ("Purchases", "Nombre d'achats"),
    "monetary_value": ("Total spend", "Montant total des achats"),
    "orders_90d": ("Purchases (90 days)", "Achats (90 jours)"),
    "revenue_90d": ("Spend (90 days)", "Montant des achats (90 jours)"),
    "avg_order_value": ("Average order", "Panier moyen"),
    "tenure_days": ("Days as a customer", "Ancienneté (jours)"),
    "mean_days_between_orders": ("Days between purchases", "Jours entre deux achats"),
    "discount_share": ("Share of discounted purchases", "Part des achats avec remise"),
    "returns": ("Returned orders", "Commandes retournées"),
    "cancellations": ("Cancelled orders", "Commandes annulées"),
    "return_rate": ("Return rate", "Taux de retour"),
    "top_channel": ("Main sales channel", "Canal d'achat principal"),
    **{
        f"channel_share_{channel}": (
            f"Share of purchases: {english}",
            f"Part des achats : {french}",
        )
        for channel, (english, french) in _CHANNEL_NOUNS.items()
    },
    "top_category": ("Main category", "Catégorie principale"),
    "top_category_share": (
        "Share of spend in main category",
        "Part des dépenses dans la catégorie principale",
    ),
    "category_count": ("Categories bought", "Catégories achetées"),
    "high_tech_share": ("Share of spend in high-tech", "Part des dépenses en high-tech"),
    "early_adopter_share": ("Share of new products bought", "Part de produits nouveaux achetés"),
    "emails_received": ("Marketing emails received", "E-mails marketing reçus"),
    "email_open_rate": ("Email open rate", "Taux d'ouverture des e-mails"),
    "email_click_rate": ("Email click rate", "Taux de clic des e-mails"),
    **{
        f"sessions_{days}d": (f"Visit days ({days} days)", f"Jours de visite ({days} jours)")
        for days in (30, 90)
    },
    **{
        f"product_views_{days}d": (
            f"Product pages viewed ({days} days)",
            f"Fiches produits vues ({days} jours)",
        )
        for days in (30, 90)
    },
    **{
        f"cart_adds_{days}d": (f"Cart additions ({days} days)", f"Ajouts au panier ({days} jours)")
        for days in (30, 90)
    },
    "reviews_written": ("Reviews written", "Avis rédigés"),
    "social_shares": ("Shares and referrals", "Partages et parrainages"),
    "support_tickets": ("Support requests", "Demandes d'assistance"),
    "comparison_views": ("Product comparisons viewed", "Comparatifs consultés"),
    "promo_page_share": ("Share of promotion pages viewed", "Part de pages promotionnelles vues"),
    "comparisons_per_order": ("Comparisons per purchase", "Comparatifs par achat"),
    "view_to_purchase_hours": (
        "Hours from first view to purchase",
        "Heures entre consultation et achat",
    ),
}

#: Every trait :func:`cible.features.compute_traits` returns, in column order.
TRAITS: tuple[Trait, ...] = labelled(
    _ORDER_TRAITS
    + _CHANNEL_TRAITS
    + _CATEGORY_TRAITS
    + _EMAIL_TRAITS
    + _WEB_TRAITS
    + _ENGAGEMENT_TRAITS
    + _JOURNEY_TRAITS,
    _LABELS,
)

# Traits a run adds after TRAITS: RFM and lifecycle (computed in the database from
# TRAITS), typologies, then the value and churn scores that models compute.
_DERIVED = (
    Trait(
        "rfm_r",
        "int64",
        "",
        _V,
        "Recency score, 1-5 (5 = most recent).",
        "Score de récence, 1 à 5 (5 = plus récent).",
    ),
    Trait("rfm_f", "int64", "", _V, "Frequency score, 1-5.", "Score de fréquence, 1 à 5."),
    Trait("rfm_m", "int64", "", _V, "Monetary score, 1-5.", "Score monétaire, 1 à 5."),
    Trait(
        "rfm_score",
        "string",
        "",
        _V,
        "R, F and M scores as one code (545).",
        "Scores R, F et M en un code (545).",
    ),
    Trait("rfm_segment", "string", "", _V, "Named RFM segment id.", "Identifiant du segment RFM."),
    Trait(
        "last_gap_days",
        "float64",
        "days",
        _B,
        "Days between the last two purchases.",
        "Jours entre les deux derniers achats.",
    ),
    Trait(
        "lifecycle_stage",
        "string",
        "",
        _B,
        "Lifecycle stage (prospect, new, active, loyal, reactivated, at_risk, lapsed, churned).",
        "Étape du cycle de vie (prospect, nouveau, actif, fidèle, réactivé, à risque, "
        "inactif, perdu).",
    ),
)
# probability_alive is the name cible.clv gives the same quantity
# (BetaGeoModel.expected_probability_alive): one name, one meaning, in the models, the
# traits and the segment language. It is not the complement of churn_risk, which a
# classifier estimates over a horizon.
_VALUE = (
    Trait(
        "probability_alive",
        "float64",
        "share",
        _V,
        "Probability the customer has not stopped buying for good (BG/NBD); not the "
        "complement of the churn risk.",
        "Probabilité que le client n'ait pas cessé d'acheter pour de bon (BG/NBD) ; pas le "
        "complément du risque de départ.",
    ),
    Trait(
        "expected_orders_90d",
        "float64",
        "orders",
        _V,
        "Expected purchases in the next 90 days (BG/NBD).",
        "Achats attendus dans les 90 prochains jours (BG/NBD).",
    ),
    Trait(
        "clv_12m",
        "float64",
        "currency",
        _V,
        "Expected spend over the next 12 months, discounted 1% a month.",
        "Dépense attendue sur 12 mois, actualisée à 1 % par mois.",
    ),
    Trait(
        "expected_next_order_at",
        "timestamp",
        "",
        _V,
        "Expected date of the next purchase at the current expected rate.",
        "Date attendue du prochain achat au rythme attendu actuel.",
    ),
    Trait(
        "value_tier",
        "string",
        "",
        _V,
        "Value tier by clv_12m: platinum, gold, silver, bronze.",
        "Palier de valeur selon clv_12m : platine, or, argent, bronze.",
    ),
)
_CHURN = (
    Trait(
        "churn_risk",
        "float64",
        "share",
        _B,
        "Probability of no purchase over the churn model's horizon (`cible churn train`).",
        "Probabilité de ne plus acheter sur l'horizon du modèle (`cible churn train`).",
    ),
    Trait(
        "churn_risk_band",
        "string",
        "",
        _B,
        "Churn risk band: low (< 0.3), medium (< 0.6), high.",
        "Niveau de risque de départ : faible (< 0,3), moyen (< 0,6), élevé.",
    ),
)
_RUN_LABELS = {
    "rfm_r": ("Recency score", "Score de récence"),
    "rfm_f": ("Frequency score", "Score de fréquence"),
    "rfm_m": ("Monetary score", "Score monétaire"),
    "rfm_score": ("RFM code", "Code RFM"),
    "rfm_segment": ("RFM segment", "Segment RFM"),
    "last_gap_days": (
        "Days between the last two purchases",
        "Jours entre les deux derniers achats",
    ),
    "lifecycle_stage": ("Lifecycle stage", "Étape du cycle de vie"),
    "probability_alive": ("Probability still active", "Probabilité d'être encore actif"),
    "expected_orders_90d": ("Expected purchases (90 days)", "Achats attendus (90 jours)"),
    "clv_12m": ("Expected 12-month value", "Valeur attendue sur 12 mois"),
    "expected_next_order_at": ("Expected next purchase", "Prochain achat attendu"),
    "value_tier": ("Value tier", "Palier de valeur"),
    "churn_risk": ("Churn risk", "Risque de départ"),
    "churn_risk_band": ("Churn risk band", "Niveau de risque de départ"),
}

#: The typologies (:mod:`cible.features.typology`), in the order that breaks ties.
TYPOLOGIES = (
    "value_shopper",
    "loyal",
    "informed",
    "impulsive",
    "technophile",
    "social_influencer",
)
_TYPOLOGY_NAMES = {
    "value_shopper": ("value shopper", "chasseur de bonnes affaires"),
    "loyal": ("loyal", "fidèle"),
    "informed": ("informed", "réfléchi"),
    "impulsive": ("impulsive", "impulsif"),
    "technophile": ("technophile", "technophile"),
    "social_influencer": ("social influencer", "influenceur"),
}


def _typology_score(name: str) -> Trait:
    english, french = _TYPOLOGY_NAMES[name]
    return Trait(
        f"typology_score_{name}",
        "float64",
        "share",
        _B,
        f"Typology score '{english}', 0-1: weighted percentile ranks of its inputs among "
        "buyers (docs/typologies.md).",
        f"Score de typologie « {french} », 0 à 1 : rangs centiles pondérés de ses critères "
        "parmi les acheteurs (docs/typologies.md).",
        label=f"Typology score: {english}",
        label_fr=f"Score de typologie : {french}",
    )


#: RFM scores and segment (:mod:`cible.features.rfm`), then the lifecycle stage
#: (:mod:`cible.features.lifecycle`).
DERIVED_TRAITS = labelled(_DERIVED, _RUN_LABELS)
#: The typology label, then one score per typology (:mod:`cible.features.typology`).
TYPOLOGY_TRAITS: tuple[Trait, ...] = (
    Trait(
        "typology",
        "string",
        "",
        _B,
        "Typology with the best score, when it reaches [typology] min_score "
        f"({', '.join(TYPOLOGIES)}); empty otherwise.",
        "Typologie au meilleur score, s'il atteint [typology] min_score ; vide sinon.",
        label="Typology",
        label_fr="Typologie",
    ),
    *(_typology_score(name) for name in TYPOLOGIES),
)
#: Lifetime value scores (:mod:`cible.models.value`).
VALUE_TRAITS = labelled(_VALUE, _RUN_LABELS)
#: Churn risk of the newest churn model (:mod:`cible.models.churn_risk`).
CHURN_TRAITS = labelled(_CHURN, _RUN_LABELS)

#: Every trait by group, in the column order of a run's ``customer_traits``:
#: ``base`` (:func:`cible.features.compute_traits`), ``derived`` (RFM and lifecycle),
#: ``typology``, ``value`` and ``churn``.
TRAIT_GROUPS: Mapping[str, tuple[Trait, ...]] = MappingProxyType(
    {
        "base": TRAITS,
        "derived": DERIVED_TRAITS,
        "typology": TYPOLOGY_TRAITS,
        "value": VALUE_TRAITS,
        "churn": CHURN_TRAITS,
    }
)


_BY_NAME = {t.name: t for t in TRAITS}


def get_trait(name: str) -> Trait:
    """Return the trait called ``name``.

    Raises
    ------
    KeyError
        When no trait has that name; the message lists the known names.

    Examples
    --------
    >>> get_trait("frequency").description
    'Number of purchases, cancelled and returned orders excluded.'
    >>> get_trait("recency")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    KeyError: "unknown trait 'recency'; known traits: first_order_at, ...
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        known = ", ".join(_BY_NAME)
        raise KeyError(f"unknown trait {name!r}; known traits: {known}") from None
