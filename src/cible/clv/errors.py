"""The error a CLV model raises on purpose; its message says what to try."""

from __future__ import annotations

from cible.domain.errors import CibleError


class ModelError(CibleError):
    """A CLV model cannot use its input, did not converge, or is not fitted yet."""
