"""The ``cible`` command line: a thin layer over :class:`cible.Workspace`."""
