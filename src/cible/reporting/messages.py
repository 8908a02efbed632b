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
    "dimension_typology": {
        "en": "Typologies (shopper types)",
        "fr": "Typologies (profils d'acheteurs)",
    },
    # Persona cards.
    "personas": {"en": "Personas", "fr": "Personas"},
    "personas_help": {
        "en": "Who the customers of each segment are and what to do with them. Names are "
        "generated from what sets the segment apart; choose your own in cible.toml.",
        "fr": "Qui sont les clients de chaque segment et que leur proposer. Les noms viennent "
        "de ce qui distingue le segment ; choisissez les vôtres dans cible.toml.",
    },
    "of_revenue": {"en": "of revenue", "fr": "du CA"},
    "avg_clv": {"en": "Average 12-month value", "fr": "Valeur moyenne sur 12 mois"},
    "avg_churn": {"en": "Average churn risk", "fr": "Risque de départ moyen"},
    "sales_channel": {"en": "Preferred sales channel", "fr": "Canal d'achat préféré"},
    "contact_channel": {
        "en": "Most consented contact channel",
        "fr": "Canal de contact le plus consenti",
    },
    "preferred_time": {"en": "When they buy", "fr": "Quand ils achètent"},
    "top_categories": {"en": "Top categories", "fr": "Catégories principales"},
    "distinguishing": {"en": "What sets them apart", "fr": "Ce qui les distingue"},
    "no_distinguishing": {
        "en": "Nothing sets them clearly apart from the whole base.",
        "fr": "Rien ne les distingue nettement de l'ensemble de la base.",
    },
    "in_segment": {"en": "segment", "fr": "segment"},
    "base": {"en": "whole base", "fr": "toute la base"},
    "actions": {"en": "Recommended actions", "fr": "Actions recommandées"},
    "time_pattern": {
        "en": "Mostly on {weekday}s; busiest hour {hour}:00-{next}:00 ({zone} time).",
        "fr": "Surtout le {weekday} ; heure la plus active {hour} h-{next} h (heure {zone}).",
    },
    "time_unknown": {"en": "No purchase yet.", "fr": "Aucun achat pour l'instant."},
    "sales_web": {"en": "website", "fr": "site web"},
    "sales_app": {"en": "mobile app", "fr": "application mobile"},
    "sales_store": {"en": "store", "fr": "magasin"},
    "sales_phone": {"en": "phone", "fr": "téléphone"},
    "sales_marketplace": {"en": "marketplace", "fr": "place de marché"},
    "contact_email": {"en": "email", "fr": "e-mail"},
    "contact_sms": {"en": "SMS", "fr": "SMS"},
    "contact_phone": {"en": "phone", "fr": "téléphone"},
    "contact_post": {"en": "post", "fr": "courrier"},
    "contact_push": {"en": "push notifications", "fr": "notifications push"},
    "contact_ads": {"en": "online ads", "fr": "publicité en ligne"},
    "contact_none": {"en": "a channel they consented to", "fr": "un canal consenti"},
    "category_none": {"en": "their favourite categories", "fr": "leurs catégories préférées"},
    # Portfolio guardrails.
    "portfolio": {"en": "Portfolio guardrails", "fr": "Garde-fous du portefeuille"},
    "micro_segments": {"en": "Micro-segments", "fr": "Micro-segments"},
    "micro_help": {
        "en": "Segments with fewer than {min_size} customers or less than {min_share} of "
        "revenue: too small for a campaign of their own or for stable figures.",
        "fr": "Segments de moins de {min_size} clients ou de moins de {min_share} du CA : trop "
        "petits pour une campagne dédiée ou des chiffres stables.",
    },
    "micro_none": {"en": "No micro-segment.", "fr": "Aucun micro-segment."},
    "too_small": {"en": "too few customers", "fr": "trop peu de clients"},
    "low_revenue": {"en": "little revenue", "fr": "peu de CA"},
    "reason": {"en": "Why", "fr": "Motif"},
    "dimension": {"en": "Dimension", "fr": "Dimension"},
    "pareto": {"en": "Revenue concentration (Pareto)", "fr": "Concentration du CA (Pareto)"},
    "pareto_summary": {
        "en": "The top {top} of buyers by amount spent ({customers} customers) bring "
        "{share} of revenue.",
        "fr": "Les {top} d'acheteurs qui dépensent le plus ({customers} clients) font "
        "{share} du CA.",
    },
    "top_customers": {"en": "Top customers", "fr": "Meilleurs clients"},
    "share_of_top": {"en": "% of top customers", "fr": "% des meilleurs clients"},
    "top_density": {"en": "% of the segment", "fr": "% du segment"},
    "overlaps": {"en": "Overlaps between dimensions", "fr": "Recoupements entre dimensions"},
    "overlap_help": {
        "en": "Customers in both segments; darker cells share more of their customers "
        "(Jaccard index).",
        "fr": "Clients dans les deux segments ; plus la case est foncée, plus les segments "
        "partagent leurs clients (indice de Jaccard).",
    },
    "coverage_title": {"en": "Coverage", "fr": "Couverture"},
    "coverage_help": {
        "en": "Customers that each dimension leaves in none of its segments.",
        "fr": "Clients que chaque dimension ne place dans aucun de ses segments.",
    },
    "covered": {"en": "In a segment", "fr": "Dans un segment"},
    "uncovered": {"en": "In none", "fr": "Dans aucun"},
    "clusters_title": {
        "en": "Clusters found in the data ({dimension})",
        "fr": "Groupes trouvés dans les données ({dimension})",
    },
    "clusters_help": {
        "en": "{k} groups of customers who behave alike, found by {method}, each described "
        "by a readable rule and the traits that set it apart.",
        "fr": "{k} groupes de clients au comportement proche, trouvés par {method}, chacun "
        "décrit par une règle lisible et les traits qui le distinguent.",
    },
    "clusters_ari": {
        "en": "Refitted on resampled customers, the clustering agrees with itself at {ari} "
        "(adjusted Rand index, 1 = identical).",
        "fr": "Réestimé sur des échantillons de clients, le découpage concorde avec lui-même "
        "à {ari} (indice de Rand ajusté, 1 = identique).",
    },
    "cluster_stability": {"en": "Stability", "fr": "Stabilité"},
    "cluster_rule": {"en": "Rule that describes it", "fr": "Règle qui le décrit"},
    "cluster_traits": {"en": "What sets it apart", "fr": "Ce qui le distingue"},
    "cluster_untrusted": {
        "en": "unstable: do not act on it",
        "fr": "instable : ne pas s'y fier",
    },
    "footer": {
        "en": "Made by Cible. Shares of revenue are over purchases before the date above.",
        "fr": "Produit par Cible. Les parts de CA portent sur les achats avant la date ci-dessus.",
    },
    "quality_title": {"en": "Data quality", "fr": "Qualité des données"},
    "quality_score": {"en": "quality score out of 100", "fr": "score de qualité sur 100"},
    "quality_audit": {
        "en": "Audit #{audit_id} of {date}, {customers} customers.",
        "fr": "Audit n° {audit_id} du {date}, {customers} clients.",
    },
    "quality_change": {
        "en": "{change} points since the previous audit ({previous}).",
        "fr": "{change} points depuis l'audit précédent ({previous}).",
    },
    "quality_first": {
        "en": "First audit: the trend shows from the next one.",
        "fr": "Premier audit : la tendance apparaîtra dès le suivant.",
    },
    "quality_help": {
        "en": "Each check weighs the share of records it hurts by how much less a record "
        "hurt by it is worth (its severity: 1 for a duplicate profile, 0.8 for a stale one, "
        "0.2 for a missing phone...). The score multiplies what is left after each check, "
        "so problems compound. If fixed: the points the score gains once that problem is "
        "fixed, the others left as they are.",
        "fr": "Chaque contrôle pèse la part des lignes qu'il touche par ce que vaut en moins "
        "une ligne touchée (sa gravité : 1 pour un profil en double, 0,8 pour un profil "
        "ancien, 0,2 pour un téléphone manquant...). Le score multiplie ce qui reste après "
        "chaque contrôle : les problèmes se cumulent. Si corrigé : les points que gagne le "
        "score une fois ce problème corrigé, les autres restant en l'état.",
    },
    "quality_formula_changed": {
        "en": "The score's formula changed since the previous audit: the change reflects "
        "the formula, not the data.",
        "fr": "La formule du score a changé depuis l'audit précédent : l'écart vient de la "
        "formule, pas des données.",
    },
    "quality_best_fix": {
        "en": "Biggest gain: {label}, {rows} rows to fix, +{gain} points.",
        "fr": "Plus gros gain : {label}, {rows} lignes à corriger, +{gain} points.",
    },
    "quality_problems": {
        "en": "Fixes that gain the most points",
        "fr": "Les corrections qui rapportent le plus de points",
    },
    "quality_problem": {"en": "Problem", "fr": "Problème"},
    "quality_rows": {"en": "Rows", "fr": "Lignes"},
    "quality_share": {"en": "Share", "fr": "Part"},
    "quality_points": {"en": "If fixed", "fr": "Si corrigé"},
    "quality_examples": {"en": "Examples", "fr": "Exemples"},
    "quality_none": {"en": "No problem found.", "fr": "Aucun problème trouvé."},
    "quality_area_completeness": {"en": "completeness", "fr": "complétude"},
    "quality_area_validity": {"en": "validity", "fr": "validité"},
    "quality_area_consistency": {"en": "consistency", "fr": "cohérence"},
    "quality_area_freshness": {"en": "freshness", "fr": "fraîcheur"},
    "quality_area_duplicates": {"en": "duplicates", "fr": "doublons"},
    "quality_area_outliers": {"en": "outliers", "fr": "valeurs atypiques"},
    "quality_area_consent": {"en": "consent", "fr": "consentement"},
}

LANGS = ("en", "fr")


def text(key: str, lang: str, **values: object) -> str:
    """The sentence ``key`` in ``lang``, with ``values`` filled in."""
    return MESSAGES[key][lang].format(**values)
