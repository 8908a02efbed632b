"""Cible: an open-source customer segmentation engine.

Examples
--------
>>> import cible
>>> cible.Workspace.__name__
'Workspace'
"""

from cible.workspace import Workspace

__all__ = ["Workspace", "__version__"]
__version__ = "0.1.0"
