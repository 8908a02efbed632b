"""Per-customer traits as Ibis expressions (recency, frequency, channels, activity...).

:func:`compute_traits` builds one expression returning a row per customer as of any
moment; :data:`TRAITS` declares each column's type, unit, category and meaning.

Examples
--------
>>> from cible.features import TRAITS, get_trait
>>> get_trait("monetary_value").unit
'currency'
>>> len(TRAITS) > 30
True
"""

from cible.features.registry import TRAITS, Trait, get_trait
from cible.features.traits import compute_traits

__all__ = ["TRAITS", "Trait", "compute_traits", "get_trait"]
