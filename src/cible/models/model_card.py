"""A model card: what a fitted model was trained on, how good it is, with what.

After Mitchell et al. (2019), "Model Cards for Model Reporting" (FAT* '19), kept to
what an analyst needs to trust or question a score: the data window, the features
and how much each matters, the metrics of the model and of its baselines on data
it never saw, the parameters, when it was made and with which library versions.

The card is plain JSON so that the caller can store it next to the scores;
:meth:`ModelCard.to_json` and :meth:`ModelCard.from_json` round-trip it.

Examples
--------
>>> card = ModelCard(
...     model="churn", created_at="2025-01-01T00:00:00+00:00", parameters={"horizon_days": 90},
...     data={"horizon_days": 90}, features=["recency_days"], feature_importance=[],
...     metrics={}, library_versions={"numpy": "2.0"},
... )
>>> ModelCard.from_json(card.to_json()) == card
True
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, fields
from importlib import metadata
from typing import Any

from cible.models.errors import ModelDataError

#: Version of the JSON layout; bumped when a field changes meaning.
CARD_FORMAT = 1
#: Distributions whose versions the card records.
LIBRARIES = ("cible", "scikit-learn", "numpy", "scipy", "pandas", "ibis-framework")


@dataclass(frozen=True)
class ModelCard:
    """What a fitted model is, as plain JSON-ready data.

    Parameters
    ----------
    model : str
        Which model (``"churn"``).
    created_at : str
        When it was fitted, ISO 8601 in UTC.
    parameters : dict
        The estimator's ``get_params()``.
    data : dict
        The data window: horizon, and for ``training``, ``calibration`` and (once
        evaluated) ``evaluation``: the snapshot dates, rows and churn rate.
    features : list of str
        Traits the model reads, in order.
    feature_importance : list of dict
        Up to 15 ``{"feature", "importance", "std"}`` entries, largest first: the
        drop in ROC AUC on the evaluation set when the feature is shuffled
        (permutation importance); empty until the model is evaluated.
    metrics : dict
        ``{"model": {...}, "baselines": {name: {...}}}`` on the evaluation set
        (see :func:`cible.models.evaluation.churn_metrics`); empty until evaluated.
    library_versions : dict of str to str
        Python and library versions the model was fitted with.
    """

    model: str
    created_at: str
    parameters: dict[str, Any]
    data: dict[str, Any]
    features: list[str]
    feature_importance: list[dict[str, Any]]
    metrics: dict[str, Any]
    library_versions: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        """The card as a dictionary of JSON values."""
        return {"card_format": CARD_FORMAT, **asdict(self)}

    def to_json(self) -> str:
        """The card as a JSON document (indented, keys in a stable order)."""
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> ModelCard:
        """Read a card written by :meth:`to_json`.

        Raises
        ------
        ModelDataError
            When the text is not JSON, comes from a newer card format, or lacks a field.
        """
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ModelDataError(f"The model card is not valid JSON: {error}.") from None
        if not isinstance(document, dict):
            raise ModelDataError("The model card must be a JSON object.")
        version = document.pop("card_format", None)
        if version != CARD_FORMAT:
            raise ModelDataError(
                f"The model card has format {version!r}; this Cible reads format {CARD_FORMAT}."
            )
        names = [f.name for f in fields(cls)]
        missing = [name for name in names if name not in document]
        if missing:
            raise ModelDataError(f"The model card has no {missing[0]!r} field.")
        return cls(**{name: document[name] for name in names})


def library_versions() -> dict[str, str]:
    """Versions of Python and of :data:`LIBRARIES` (``"not installed"`` when absent)."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
