"""Budget allocation across segments and channels to maximise expected incremental profit.

Each cell (a segment reached through a channel) carries the incremental profit per
customer treated measured against its holdout (mean and standard error, before the
campaign's cost), the cost per customer treated and the customers it can reach. The
allocation is a linear programme (scipy's `linprog`, HiGHS), or with whole customers
a mixed-integer one (`milp`)::

    maximise    sum_i (profit_i - cost_i) x_i
    subject to  sum_i cost_i x_i <= budget
                sum_{i in channel k} cost_i x_i <= cap_k      (optional, per channel)
                0 <= x_i <= reachable_i

Assumptions, which the result is only as good as:

- constant returns within a cell: the next customer treated earns the measured mean
  and costs the same as the first (no saturation, no volume discount);
- cells are independent: treating one cell does not change another's profit (a
  customer reachable through two channels counts in both cells, so the effects of
  treating them twice must add up, or the cells must hold different customers);
- the measured effect holds for the customers treated next (same population, season
  and offer), chosen at random within the cell;
- the expected profit uses the means; its standard error assumes independent cells.

The sensitivity view re-solves the programme with each cell's profit at the low and
the high end of its confidence interval (one cell at a time), and with every cell at
its low end and at its high end; the budget's shadow price is the expected profit one
more unit of budget would add (the dual value of the budget constraint in the linear
programme; with whole customers, that of its linear relaxation).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

from cible.experiments.errors import ExperimentError
from cible.experiments.result import Result

FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class Cell:
    """A segment reached through a channel: measured profit, cost and reach.

    Parameters
    ----------
    segment, channel : str
        What the cell is (unique together).
    profit : float
        Incremental profit per customer treated, against the holdout, before the cost.
    profit_se : float
        Standard error of ``profit``.
    cost : float
        Cost per customer treated (positive).
    reachable : int
        Customers this cell can treat.

    Examples
    --------
    >>> Cell("loyal", "email", profit=4.0, profit_se=1.0, cost=0.5, reachable=1_000).reachable
    1000
    """

    segment: str
    channel: str
    profit: float
    profit_se: float
    cost: float
    reachable: int

    def __post_init__(self) -> None:
        name = f"Cell ({self.segment}, {self.channel})"
        if not math.isfinite(self.profit):
            raise ExperimentError(f"{name}: profit is not a finite number ({self.profit}).")
        if not (math.isfinite(self.profit_se) and self.profit_se >= 0):
            raise ExperimentError(f"{name}: profit_se must be 0 or more ({self.profit_se}).")
        if not (math.isfinite(self.cost) and self.cost > 0):
            raise ExperimentError(f"{name}: cost per customer must be positive ({self.cost}).")
        if isinstance(self.reachable, bool) or not (
            float(self.reachable).is_integer() and self.reachable >= 0
        ):
            raise ExperimentError(
                f"{name}: reachable must be a whole number of customers ({self.reachable})."
            )


@dataclasses.dataclass(frozen=True)
class Scenario(Result):
    """The allocation when profits are moved to an end of their interval.

    ``cell`` is the index of the cell moved, or None when every cell is.
    """

    cell: int | None
    bound: str
    customers: tuple[float, ...]
    expected_profit: float


@dataclasses.dataclass(frozen=True)
class BudgetAllocation(Result):
    """Customers and spend per cell (in the order given), and what they are expected to earn.

    ``expected_profit`` is net of the cost; ``channel_shadow_prices`` holds the dual
    value of each channel cap given.
    """

    cells: tuple[Cell, ...]
    customers: tuple[float, ...]
    spend: tuple[float, ...]
    budget: float
    budget_used: float
    expected_profit: float
    expected_profit_se: float
    budget_shadow_price: float
    channel_shadow_prices: dict[str, float]
    scenarios: tuple[Scenario, ...]
    confidence: float
    whole_customers: bool


def allocate_budget(
    cells: Sequence[Cell],
    budget: float,
    channel_caps: Mapping[str, float] | None = None,
    whole_customers: bool = False,
    confidence: float = 0.95,
) -> BudgetAllocation:
    """Spend a budget on the cells that earn the most expected incremental profit.

    Parameters
    ----------
    cells : sequence of Cell
        The candidate (segment, channel) cells.
    budget : float
        Total spend allowed (0 or more).
    channel_caps : mapping of str to float, optional
        Most spend allowed per channel, for the channels named.
    whole_customers : bool, default False
        Treat whole customers (mixed-integer programme) rather than fractions.
    confidence : float, default 0.95
        Level of the profit intervals the sensitivity view uses.

    Returns
    -------
    BudgetAllocation

    Examples
    --------
    >>> cells = [
    ...     Cell("loyal", "email", profit=4.0, profit_se=1.0, cost=0.5, reachable=1_000),
    ...     Cell("lapsed", "sms", profit=6.0, profit_se=3.0, cost=2.0, reachable=1_000),
    ... ]
    >>> result = allocate_budget(cells, budget=1_500)
    >>> result.customers, result.expected_profit, result.budget_shadow_price
    ((1000.0, 500.0), 5500.0, 2.0)
    """
    problem = _check(cells, budget, channel_caps, confidence)
    profit = np.array([c.profit for c in cells])
    se = np.array([c.profit_se for c in cells])
    customers = _solve(problem, profit, whole_customers)
    dual_budget, dual_channels = _shadow_prices(problem, profit)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    scenarios = []
    for index in range(len(cells)):
        for bound, sign in (("low", -1.0), ("high", 1.0)):
            moved = profit.copy()
            moved[index] += sign * z * se[index]
            scenarios.append(_scenario(problem, moved, whole_customers, index, bound))
    for bound, sign in (("low", -1.0), ("high", 1.0)):
        scenarios.append(_scenario(problem, profit + sign * z * se, whole_customers, None, bound))
    spend = customers * problem.cost
    return BudgetAllocation(
        cells=tuple(cells),
        customers=tuple(customers.tolist()),
        spend=tuple(spend.tolist()),
        budget=float(budget),
        budget_used=float(spend.sum()),
        expected_profit=float((profit - problem.cost) @ customers),
        expected_profit_se=float(np.sqrt(((customers * se) ** 2).sum())),
        budget_shadow_price=dual_budget,
        channel_shadow_prices=dual_channels,
        scenarios=tuple(scenarios),
        confidence=confidence,
        whole_customers=whole_customers,
    )


@dataclasses.dataclass(frozen=True)
class _Problem:
    cost: FloatArray
    reachable: FloatArray
    rows: FloatArray  # spend per customer in each constraint: the budget, then each cap
    limits: FloatArray
    capped: tuple[str, ...]


def _check(
    cells: Sequence[Cell],
    budget: float,
    channel_caps: Mapping[str, float] | None,
    confidence: float,
) -> _Problem:
    if len(cells) == 0:
        raise ExperimentError("Give at least one cell to allocate the budget to.")
    keys = [(c.segment, c.channel) for c in cells]
    if len(set(keys)) != len(keys):
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        raise ExperimentError(f"Cells repeat a (segment, channel) pair: {repeated}.")
    if not (math.isfinite(budget) and budget >= 0):
        raise ExperimentError(f"budget must be 0 or more (got {budget}).")
    if not 0 < confidence < 1:
        raise ExperimentError(f"confidence must lie strictly between 0 and 1 ({confidence}).")
    caps = dict(channel_caps or {})
    channels = {c.channel for c in cells}
    unknown = sorted(set(caps) - channels)
    if unknown:
        raise ExperimentError(f"channel_caps names channels no cell uses: {unknown}.")
    for channel, cap in caps.items():
        if not (math.isfinite(cap) and cap >= 0):
            raise ExperimentError(f"The cap of channel {channel!r} must be 0 or more ({cap}).")
    cost = np.array([c.cost for c in cells])
    capped = tuple(sorted(caps))
    rows = np.vstack([cost] + [cost * np.array([c.channel == k for c in cells]) for k in capped])
    return _Problem(
        cost=cost,
        reachable=np.array([float(c.reachable) for c in cells]),
        rows=rows,
        limits=np.array([float(budget)] + [float(caps[k]) for k in capped]),
        capped=capped,
    )


def _solve(problem: _Problem, profit: FloatArray, whole: bool) -> FloatArray:
    net = profit - problem.cost
    if whole:
        done = optimize.milp(
            -net,
            integrality=np.ones_like(net),
            bounds=optimize.Bounds(0, problem.reachable),
            constraints=optimize.LinearConstraint(problem.rows, -np.inf, problem.limits),
        )
        customers = np.round(done.x) if done.success else None
    else:
        done = optimize.linprog(
            -net,
            A_ub=problem.rows,
            b_ub=problem.limits,
            bounds=list(zip(np.zeros_like(net), problem.reachable, strict=True)),
            method="highs",
        )
        customers = done.x if done.success else None
    if customers is None:
        raise ExperimentError(f"The allocation could not be solved ({done.message}).")
    # A cell that loses money gets no customer, not a solver's -0.0 or 1e-12.
    return np.where(np.abs(customers) < 1e-9, 0.0, customers)


def _shadow_prices(problem: _Problem, profit: FloatArray) -> tuple[float, dict[str, float]]:
    done = optimize.linprog(
        -(profit - problem.cost),
        A_ub=problem.rows,
        b_ub=problem.limits,
        bounds=list(zip(np.zeros_like(profit), problem.reachable, strict=True)),
        method="highs",
    )
    # HiGHS gives the marginals of the minimisation: minus the gain of one more unit.
    marginals = -np.asarray(done.ineqlin.marginals, dtype=np.float64) + 0.0
    return float(marginals[0]), {
        channel: float(marginals[i + 1]) for i, channel in enumerate(problem.capped)
    }


def _scenario(
    problem: _Problem, profit: FloatArray, whole: bool, cell: int | None, bound: str
) -> Scenario:
    customers = _solve(problem, profit, whole)
    return Scenario(
        cell=cell,
        bound=bound,
        customers=tuple(customers.tolist()),
        expected_profit=float((profit - problem.cost) @ customers),
    )
