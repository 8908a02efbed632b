"""A posteriori segmentation: clusters of customers found in their traits, explained.

:class:`ClusterSegmenter` chooses the traits, preprocesses them, learns clusters on a
sample (k-means, mini-batch k-means, Gaussian mixture, Ward or HDBSCAN), picks their
number, checks their stability by bootstrap and explains each one by the traits that
set it apart (:func:`contrast`, usable for any group of customers) and by a readable
rule (:func:`to_definition` turns it into a rule segment). See ``docs/clustering.md``.

Examples
--------
>>> from cible.models.clustering import METHODS
>>> METHODS
('kmeans', 'minibatch', 'gmm', 'ward', 'hdbscan')
"""

from cible.models.clustering.features import ExcludedTrait, FeatureChoice, choose_features
from cible.models.clustering.methods import METHODS
from cible.models.clustering.preprocessing import TraitPreprocessor
from cible.models.clustering.profile import TraitContrast, contrast
from cible.models.clustering.rules import ClusterRule, Condition, explain_clusters, to_definition
from cible.models.clustering.segmenter import ClusterSegmenter
from cible.models.clustering.selection import KSelection
from cible.models.clustering.stability import TRUST_THRESHOLD, Stability, bootstrap_stability

__all__ = [
    "METHODS",
    "TRUST_THRESHOLD",
    "ClusterRule",
    "ClusterSegmenter",
    "Condition",
    "ExcludedTrait",
    "FeatureChoice",
    "KSelection",
    "Stability",
    "TraitContrast",
    "TraitPreprocessor",
    "bootstrap_stability",
    "choose_features",
    "contrast",
    "explain_clusters",
    "to_definition",
]
