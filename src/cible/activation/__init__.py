"""Putting segments to work: audiences exported for analysis or for a channel."""

from cible.activation.export import Audience, Exports

__all__ = ["Audience", "Exports"]
