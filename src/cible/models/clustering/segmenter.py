"""ClusterSegmenter: customers grouped by their traits, with the number of groups chosen and
every group checked for stability and explained.

The steps of :meth:`ClusterSegmenter.fit`:

1. choose the traits (:func:`~cible.models.clustering.features.choose_features`);
2. draw a random sample of at most ``sample_size`` customers, on which everything
   is learned: preprocessing (:class:`~cible.models.clustering.features.TraitPreprocessor`),
   the partitions, the choice of ``k`` and the stability;
3. learn a partition per candidate ``k`` (:mod:`~cible.models.clustering.methods`)
   and choose ``k`` (:mod:`~cible.models.clustering.selection`);
4. number the clusters by size on the sample, largest first, so that a refit with
   the same ``random_state`` gives the same ids;
5. assign every customer, ``batch_size`` at a time (:meth:`predict`);
6. bootstrap stability (:mod:`~cible.models.clustering.stability`), profiles
   (:func:`~cible.models.clustering.profile.contrast`, over every customer) and one
   rule per cluster (:mod:`~cible.models.clustering.rules`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from cible.domain.schema import CUSTOMERS, Field
from cible.features import Trait
from cible.models.clustering.features import ExcludedTrait, choose_features
from cible.models.clustering.methods import METHODS, MethodSettings, Partition, partitions
from cible.models.clustering.preprocessing import TraitPreprocessor
from cible.models.clustering.profile import TraitContrast, contrast
from cible.models.clustering.rules import ClusterRule, explain_clusters
from cible.models.clustering.selection import KSelection, select_k
from cible.models.clustering.stability import Recluster, Stability, bootstrap_stability
from cible.models.errors import ModelDataError
from cible.models.model_files import dump_model, load_model

ID = "customer_id"
#: What a stored segmenter may name beyond the types skops trusts by default
#: (scikit-learn's public estimators, numpy, built-in containers): the output of
#: ``skops.io.get_untrusted_types`` on segmenters fitted with every method, all of
#: them the project's own plain classes, which run no code when built.
TRUSTED_TYPES = (
    "cible.domain.schema.Field",
    "cible.features.registry.Trait",
    "cible.models.clustering.features.ExcludedTrait",
    "cible.models.clustering.methods.Partition",
    "cible.models.clustering.preprocessing.TraitPreprocessor",
    "cible.models.clustering.profile.TraitContrast",
    "cible.models.clustering.rules.ClusterRule",
    "cible.models.clustering.rules.Condition",
    "cible.models.clustering.segmenter.ClusterSegmenter",
    "cible.models.clustering.stability.Stability",
)


class ClusterSegmenter(BaseEstimator):  # type: ignore[misc]  # scikit-learn ships no types
    """Group customers by their traits; choose the number of groups; explain each group.

    Parameters
    ----------
    method : {"kmeans", "minibatch", "gmm", "ward", "hdbscan"}, default "kmeans"
        Algorithm (see :mod:`cible.models.clustering.methods`).
    k : "auto" or int, default "auto"
        Number of clusters, or ``"auto"`` to choose it over ``k_range``. HDBSCAN
        finds it itself and accepts only ``"auto"``.
    k_range : tuple of int, default (2, 10)
        Smallest and largest ``k`` tried by ``"auto"``, both included.
    sample_size : int, default 50_000
        Customers learned from; a larger base is sampled at random, then assigned.
    random_state : int or None
        Seed of the sample, the algorithms and the bootstrap; an int makes fits
        identical.
    batch_size : int, default 100_000
        Customers assigned at a time by :meth:`predict`.
    include, exclude : iterable of str, optional
        Traits to read besides / instead of the default choice, and traits not to read
        (see :func:`~cible.models.clustering.features.choose_features`).
    fields : iterable of Field
        Customer profile fields with their sensitivity; personal and special ones
        never feed the clustering.
    categorical_weight : float, default 0.5
        Weight of a label relative to a numeric trait (k-prototypes style).
    skew_threshold : float, default 1.0
        Skewness above which a non-negative trait is log-transformed.
    n_init : int, default 10
        Starts of k-means, mini-batch k-means and the Gaussian mixture; the best is
        kept. Fewer starts make the choice of ``k`` noisier: a poor local optimum at
        the right ``k`` scores below a good one at the wrong ``k``.
    linkage_size : int, default 10_000
        Customers Ward and HDBSCAN learn from (they need all pairwise distances).
    min_cluster_share : float, default 0.02
        HDBSCAN's smallest cluster, as a share of the customers it learns from.
    n_bootstrap : int, default 20
        Bootstrap resamples for the stability; 0 skips it.
    stability_size : int, default 10_000
        Customers of the sample the bootstrap draws from (each resample refits the
        method, so this bounds its cost; the Jaccard coefficients need no more).
    silhouette_size : int, default 10_000
        Customers the silhouette of each candidate ``k`` is computed on.
    k_bootstrap : int, default 5
        Resamples of the quick stability check that chooses ``k`` (see
        :mod:`~cible.models.clustering.selection`); 0 leaves the choice to the
        criteria alone.
    k_bootstrap_size : int, default 5_000
        Customers those resamples are drawn from.
    top : int, default 5
        Traits listed per cluster in :attr:`profiles_`.
    n_threads : int or None, default 1
        OpenMP threads of scikit-learn's k-means; None leaves its default
        (every core). One is the default because an iteration on a sample of tens of
        thousands of customers takes milliseconds, and synchronising threads costs
        more than it saves as soon as other processes share the cores (measured on
        a loaded 2-core machine: 7.5 s with one thread, 17.5 s with two, for 10
        starts of k-means on 50,000 x 43).

    Attributes
    ----------
    k_ : int
        Number of clusters.
    labels_ : ndarray of int
        Cluster of each row of the table given to :meth:`fit`, ``0`` the largest.
    sizes_ : ndarray of int
        Customers per cluster in that table.
    selection_ : KSelection
        The candidates' criteria, the chosen ``k`` and why.
    stability_ : Stability or None
        Per-cluster mean Jaccard, overall ARI, clusters to trust.
    profiles_ : dict
        Cluster -> the traits that set it apart (:class:`TraitContrast` list).
    rules_ : dict
        Cluster -> its surrogate rule (:class:`ClusterRule`).
    features_ : list of str
        Columns the algorithm sees (after encoding).
    traits_ : list of str
        Traits read.
    excluded_ : list of ExcludedTrait
        Traits not read, with the reason.
    preprocessor_ : TraitPreprocessor
        The fitted preprocessing.
    partition_ : Partition
        The learned partition, which assigns customers.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from cible.features import get_trait
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(300)],
    ...     "frequency": np.r_[rng.poisson(2, 200), rng.poisson(20, 100)],
    ...     "discount_share": np.r_[rng.uniform(0.5, 1, 200), rng.uniform(0, 0.2, 100)]})
    >>> model = ClusterSegmenter(random_state=0, k_range=(2, 3), n_init=2, n_bootstrap=2)
    >>> model = model.fit(frame, [get_trait("frequency"), get_trait("discount_share")])
    >>> model.k_, model.sizes_.tolist()
    (2, [200, 100])
    >>> model.rules_[1].text["en"]
    'discount_share < 35%: 100% of matching customers are in this cluster, covers 100%'
    """

    def __init__(
        self,
        method: str = "kmeans",
        k: str | int = "auto",
        k_range: tuple[int, int] = (2, 10),
        sample_size: int = 50_000,
        random_state: int | None = None,
        batch_size: int = 100_000,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
        fields: Iterable[Field] = CUSTOMERS.fields,
        categorical_weight: float = 0.5,
        skew_threshold: float = 1.0,
        n_init: int = 10,
        linkage_size: int = 10_000,
        min_cluster_share: float = 0.02,
        n_bootstrap: int = 20,
        stability_size: int = 10_000,
        silhouette_size: int = 10_000,
        k_bootstrap: int = 5,
        k_bootstrap_size: int = 5_000,
        top: int = 5,
        n_threads: int | None = 1,
    ) -> None:
        self.method = method
        self.k = k
        self.k_range = k_range
        self.sample_size = sample_size
        self.random_state = random_state
        self.batch_size = batch_size
        self.include = include
        self.exclude = exclude
        self.fields = fields
        self.categorical_weight = categorical_weight
        self.skew_threshold = skew_threshold
        self.n_init = n_init
        self.linkage_size = linkage_size
        self.min_cluster_share = min_cluster_share
        self.n_bootstrap = n_bootstrap
        self.stability_size = stability_size
        self.silhouette_size = silhouette_size
        self.k_bootstrap = k_bootstrap
        self.k_bootstrap_size = k_bootstrap_size
        self.top = top
        self.n_threads = n_threads

    def fit(self, frame: pd.DataFrame, traits: Sequence[Trait]) -> ClusterSegmenter:
        """Learn the clusters of ``frame`` and explain them.

        Parameters
        ----------
        frame : DataFrame
            ``customer_id`` and trait columns, one row per customer.
        traits : sequence of Trait
            Every trait known (:data:`cible.features.TRAITS` and a run's additions);
            the clustering reads the ones :func:`choose_features` keeps, and the
            profiles compare all of them.

        Returns
        -------
        self

        Raises
        ------
        ModelDataError
            For a setting out of range, a table without ``customer_id`` or with
            repeated ids, fewer customers than clusters, or no usable trait.
        """
        ks = self._check_settings()
        _check_frame(frame)
        if len(frame) <= max(ks):
            raise ModelDataError(
                f"the table has {len(frame)} customers: too few to form {max(ks)} clusters."
            )
        rng = np.random.default_rng(self.random_state)
        choice = choose_features(
            traits,
            columns=frame.columns,
            fields=self.fields,
            include=self.include,
            exclude=self.exclude,
        )
        rows = _sample_rows(len(frame), self.sample_size, rng)
        sample = frame.iloc[rows]
        self.preprocessor_ = TraitPreprocessor(
            choice.numeric,
            choice.categorical,
            skew_threshold=self.skew_threshold,
            categorical_weight=self.categorical_weight,
        ).fit(sample)
        x = self.preprocessor_.transform(sample)
        if x.shape[1] == 0:
            raise ModelDataError(
                "no trait varies among these customers (each usable trait is empty or the "
                "same for all): there is nothing to cluster on."
            )
        distinct = len(np.unique(x, axis=0))
        if distinct < min(ks):
            raise ModelDataError(
                f"these customers have only {distinct} distinct profile(s) on the chosen "
                f"traits: too few to form {min(ks)} clusters."
            )
        ks = [k for k in ks if k <= distinct]
        self._fit_partition(x, ks, rng)
        self.labels_ = self.predict(frame)["cluster"].to_numpy(np.int32)
        self.sizes_ = np.bincount(self.labels_, minlength=self.k_)
        self._describe(frame, traits, choice.excluded, rows, x, rng)
        return self

    def _check_settings(self) -> list[int]:
        if self.method not in METHODS:
            raise ModelDataError(f"method {self.method!r} is not one of {', '.join(METHODS)}.")
        if self.k == "auto":
            low, high = self.k_range
            if not (isinstance(low, int) and isinstance(high, int) and 2 <= low <= high):
                raise ModelDataError(
                    f"k_range {self.k_range!r} must be two whole numbers 2 <= low <= high."
                )
            return list(range(low, high + 1))
        if self.method == "hdbscan":
            raise ModelDataError(
                "method hdbscan finds the number of clusters itself: use k='auto'."
            )
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 2:
            raise ModelDataError(
                f"k must be 'auto' or a whole number of at least 2, not {self.k!r}."
            )
        return [self.k]

    def _settings(self) -> MethodSettings:
        return MethodSettings(
            self.method, self.n_init, self.linkage_size, self.min_cluster_share, self.n_threads
        )

    def _fit_partition(self, x: np.ndarray, ks: list[int], rng: np.random.Generator) -> None:
        settings = self._settings()
        found = partitions(x, ks, settings, rng)
        self.selection_: KSelection = select_k(
            x,
            found,
            settings,
            rng,
            silhouette_size=self.silhouette_size,
            n_bootstrap=self.k_bootstrap,
            bootstrap_size=self.k_bootstrap_size,
        )
        self.partition_: Partition = found[self.selection_.k]
        self.k_ = self.partition_.k
        self._sample_labels = self.partition_.relabel_by_size(x)

    def _describe(
        self,
        frame: pd.DataFrame,
        traits: Sequence[Trait],
        left_out: Sequence[ExcludedTrait],
        rows: np.ndarray,
        x: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        prep = self.preprocessor_
        self.features_ = list(prep.feature_names_out_)
        self.traits_ = [*prep.numeric_, *prep.levels_]
        self.excluded_ = [*left_out, *prep.dropped_]
        self.stability_: Stability | None = None
        if self.n_bootstrap > 0:
            drawn = _sample_rows(x.shape[0], self.stability_size, rng)
            self.stability_ = bootstrap_stability(
                self._sample_labels[drawn], self._recluster(x[drawn], rng), self.n_bootstrap, rng
            )
        self.profiles_: dict[int, list[TraitContrast]] = {
            c: contrast(frame, self.labels_ == c, traits, top=self.top)
            for c in range(self.k_)
            if self.sizes_[c]
        }
        used = [t for t in traits if t.name in self.traits_]
        self.rules_: dict[int, ClusterRule] = explain_clusters(
            frame,
            self.labels_,
            used,
            levels=prep.levels_,
            fit_rows=rows,
            random_state=int(rng.integers(2**31 - 1)),
        )
        del self._sample_labels

    def _recluster(self, x: np.ndarray, rng: np.random.Generator) -> Recluster:
        settings = self._settings()

        def recluster(rows: np.ndarray) -> np.ndarray:
            drawn = x[rows]
            try:
                partition = next(iter(partitions(drawn, [self.k_], settings, rng).values()))
            except ModelDataError:
                # HDBSCAN found no cluster in this resample: one group, every cluster lost.
                return np.zeros(rows.size, dtype=np.int64)
            labels: np.ndarray = partition.raw_assign(drawn)
            return labels

        return recluster

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The cluster of every customer of ``frame``, ``batch_size`` customers at a time.

        Parameters
        ----------
        frame : DataFrame
            ``customer_id`` and the traits the model read in fit.

        Returns
        -------
        DataFrame
            ``customer_id`` and ``cluster`` (int), in the order of ``frame``.
        """
        check_is_fitted(self, "partition_")
        if ID not in frame.columns:
            raise ModelDataError(f"the table has no {ID!r} column.")
        labels = np.empty(len(frame), dtype=np.int64)
        step = max(1, int(self.batch_size))
        for start in range(0, len(frame), step):
            batch = frame.iloc[start : start + step]
            labels[start : start + step] = self.partition_.assign(
                self.preprocessor_.transform(batch)
            )
        return pd.DataFrame({ID: frame[ID].to_numpy(), "cluster": labels})

    def summary(self) -> dict[str, Any]:
        """Plain JSON-ready facts of the fit: k, sizes, selection, stability, rules.

        Examples
        --------
        >>> ClusterSegmenter().summary()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        sklearn.exceptions.NotFittedError: ...
        """
        check_is_fitted(self, "partition_")
        stability = self.stability_
        return {
            "method": self.method,
            "k": self.k_,
            "noise": self.partition_.noise,
            "sizes": self.sizes_.tolist(),
            "selection": {
                "table": self.selection_.table.to_dict(orient="records"),
                "reason": dict(self.selection_.reason),
            },
            "stability": None
            if stability is None
            else {
                "jaccard": stability.jaccard.tolist(),
                "ari": stability.ari,
                "trusted": stability.trusted.tolist(),
            },
            "traits": self.traits_,
            "excluded": [
                {"trait": e.trait, "code": e.code, "reason": dict(e.reason)} for e in self.excluded_
            ],
            "log": list(self.preprocessor_.log_),
            "rules": {
                c: {"text": dict(r.text), "precision": r.precision, "coverage": r.coverage}
                for c, r in self.rules_.items()
            },
            "profiles": {c: [dict(p.text) for p in rows] for c, rows in self.profiles_.items()},
        }

    def dumps(self) -> bytes:
        """The fitted segmenter as skops bytes, for storage; :meth:`loads` reads them back."""
        return dump_model(self)

    @classmethod
    def loads(cls, blob: bytes) -> ClusterSegmenter:
        """A segmenter from :meth:`dumps` bytes, built only from :data:`TRUSTED_TYPES`.

        Anything else, a pickle of an older Cible first, raises the
        :class:`~cible.models.errors.StoredModelError` of
        :func:`~cible.models.model_files.load_model` unopened.
        """
        return load_model(
            blob,
            cls,
            TRUSTED_TYPES,
            what="clustering",
            redo="run `cible cluster` again (same --dimension) to fit and store a new one",
        )

    def __getstate__(self) -> dict[str, Any]:
        """The state to save, with the k-selection table as plain columns.

        skops cannot store a pandas DataFrame; numpy columns it stores as arrays.
        """
        # A copy: object.__getstate__ may hand back the instance's own __dict__.
        state: dict[str, Any] = dict(super().__getstate__())
        selection = state.get("selection_")
        if isinstance(selection, KSelection):
            state["selection_"] = {
                "table": {name: selection.table[name].to_numpy() for name in selection.table},
                "k": selection.k,
                "reason": dict(selection.reason),
            }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`__getstate__`, the table a DataFrame again."""
        selection = state.get("selection_")
        if isinstance(selection, dict):
            table = pd.DataFrame(selection["table"])
            state = {
                **state,
                "selection_": KSelection(table=table, k=selection["k"], reason=selection["reason"]),
            }
        super().__setstate__(state)


def _check_frame(frame: pd.DataFrame) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ModelDataError(f"expected a pandas DataFrame of traits, got {type(frame).__name__}.")
    if ID not in frame.columns:
        raise ModelDataError(f"the table has no {ID!r} column; give one row per customer.")
    repeated = frame[ID].duplicated()
    if repeated.any():
        first = frame.loc[repeated, ID].iloc[0]
        raise ModelDataError(
            f"customer_id {first!r} appears more than once; give one row per customer."
        )


def _sample_rows(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size, replace=False))
