"""Errors Cible raises on purpose; each carries one sentence a user can act on."""

from __future__ import annotations


class CibleError(Exception):
    """Base class: an expected failure whose message is meant for the user."""


class WorkspaceError(CibleError):
    """The workspace is missing, locked, damaged or from a newer Cible."""


class ConfigError(CibleError):
    """``cible.toml`` holds a value Cible cannot use."""


class ImportFileError(CibleError):
    """A file cannot be imported at all (unreadable, wrong kind, strict mode refusal)."""


class UnknownCustomerError(CibleError):
    """No customer has the id asked for (a profile, an erasure, an export, an objection,
    a message to render); the HTTP API answers 404."""


class DraftChangedError(CibleError):
    """A segment draft was saved again or deleted since the form replacing or deleting it
    was opened: the change is refused rather than overwrite someone else's work."""
