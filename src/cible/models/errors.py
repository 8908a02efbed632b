"""The error a predictive model raises on purpose; its message says what to change."""

from __future__ import annotations

from cible.domain.errors import CibleError


class ModelDataError(CibleError):
    """A model cannot use the data or settings it was given.

    Raised for a feature that is not a numeric trait, a missing column, snapshots
    whose dates or horizon do not allow an honest fit or evaluation, or a label with
    one class only. A model used before ``fit`` raises scikit-learn's
    ``NotFittedError`` instead, as every estimator does.
    """


class StoredModelError(ModelDataError):
    """A stored model cannot be opened safely, so it is not opened at all.

    Raised for a model an older Cible stored with pickle, a file naming a type
    Cible does not trust (altered, or written by another program), damaged bytes,
    or another kind of model. The message says how to store a new one.
    """
