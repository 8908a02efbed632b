"""Every sentence of the report in English and French."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "title": {"en": "Customer segments", "fr": "Segments clients"},
    "as_of": {"en": "Situation on", "fr": "Situation au"},
    "run": {"en": "run", "fr": "calcul"},
    "customers": {"en": "customers", "fr": "clients"},
    "buyers": {"en": "buyers", "fr": "acheteurs"},
    "revenue": {"en": "revenue", "fr": "chiffre d'affaires"},
    "segment": {"en": "Segment", "fr": "Segment"},
    "size": {"en": "Customers", "fr": "Clients"},
    "share_customers": {"en": "% of customers", "fr": "% des clients"},
    "share_revenue": {"en": "% of revenue", "fr": "% du CA"},
    "aov": {"en": "Average order", "fr": "Panier moyen"},
    "recency": {"en": "Days since last order", "fr": "Jours depuis la dernière commande"},
    "guide": {"en": "Reading guide", "fr": "Guide de lecture"},
    "rfm_grid": {"en": "RFM grid", "fr": "Grille RFM"},
    "rfm_help": {
        "en": "Customers by recency score (rows, 5 = most recent) and frequency score "
        "(columns, 5 = most frequent). Darker cells hold more revenue.",
        "fr": "Clients par score de récence (lignes, 5 = plus récent) et de fréquence "
        "(colonnes, 5 = plus fréquent). Plus la case est foncée, plus elle pèse en CA.",
    },
    "funnel": {"en": "Lifecycle", "fr": "Cycle de vie"},
    "funnel_help": {
        "en": "Where customers stand in their relationship with the brand.",
        "fr": "Où en sont les clients dans leur relation avec la marque.",
    },
    "coverage": {
        "en": "{covered} of {total} customers are in a segment of this dimension.",
        "fr": "{covered} clients sur {total} sont dans un segment de cette dimension.",
    },
    "dimension_rfm": {"en": "RFM segments", "fr": "Segments RFM"},
    "dimension_lifecycle": {"en": "Lifecycle stages", "fr": "Étapes du cycle de vie"},
    "dimension_churn_risk": {
        "en": "Churn risk (trained model)",
        "fr": "Risque de départ (modèle entraîné)",
    },
    "dimension_value": {
        "en": "Value tiers (expected 12-month value)",
        "fr": "Paliers de valeur (valeur attendue sur 12 mois)",
    },
    "dimension_other": {"en": "Segments: {name}", "fr": "Segments : {name}"},
    "holdout_title": {
        "en": "Purchase model, holdout check",
        "fr": "Modèle d'achat, contrôle hors échantillon",
    },
    "holdout": {"en": "holdout", "fr": "hors échantillon"},
    "holdout_cumulative": {
        "en": "Cumulative repeat purchases per week",
        "fr": "Achats répétés cumulés par semaine",
    },
    "holdout_by_frequency": {
        "en": "Mean holdout purchases by calibration repeat purchases",
        "fr": "Achats moyens hors échantillon selon les achats répétés de calibration",
    },
    "calibration_frequency": {
        "en": "Calibration repeat purchases",
        "fr": "Achats répétés (calibration)",
    },
    "actual": {"en": "actual", "fr": "observé"},
    "expected": {"en": "expected", "fr": "attendu"},
    "week": {"en": "week", "fr": "semaine"},
    "no_segments": {"en": "No segment yet.", "fr": "Aucun segment pour l'instant."},
    "footer": {
        "en": "Made by Cible. Shares of revenue are over purchases before the date above.",
        "fr": "Produit par Cible. Les parts de CA portent sur les achats avant la date ci-dessus.",
    },
}

LANGS = ("en", "fr")


def text(key: str, lang: str, **values: object) -> str:
    """The sentence ``key`` in ``lang``, with ``values`` filled in."""
    return MESSAGES[key][lang].format(**values)
