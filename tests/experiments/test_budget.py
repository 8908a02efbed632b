import itertools

import numpy as np
import pytest
from scipy import stats

from cible.experiments import Cell, ExperimentError, allocate_budget

CHANNELS = ("email", "sms", "mail")


def _random_problem(rng, cells, reach):
    made = [
        Cell(
            segment=f"segment {i}",
            channel=CHANNELS[i % len(CHANNELS)],
            profit=float(rng.uniform(-1.0, 8.0)),
            profit_se=float(rng.uniform(0.0, 2.0)),
            cost=float(rng.integers(1, 6)),
            reachable=int(rng.integers(0, reach + 1)),
        )
        for i in range(cells)
    ]
    total = sum(c.cost * c.reachable for c in made)
    budget = float(rng.uniform(0.2, 0.8) * total)
    caps = {"sms": float(rng.uniform(0, 0.5) * total)} if rng.random() < 0.5 else None
    return made, budget, caps


def _brute_force(cells, budget, caps):
    """Every whole allocation, kept when within the budget and caps: the best net profit."""
    best = 0.0
    for customers in itertools.product(*(range(c.reachable + 1) for c in cells)):
        spend = [c.cost * x for c, x in zip(cells, customers, strict=True)]
        if sum(spend) > budget + 1e-9:
            continue
        if caps and any(
            sum(s for c, s in zip(cells, spend, strict=True) if c.channel == k) > cap + 1e-9
            for k, cap in caps.items()
        ):
            continue
        best = max(
            best, sum((c.profit - c.cost) * x for c, x in zip(cells, customers, strict=True))
        )
    return best


def _greedy(cells, budget, caps):
    """The fractional optimum: spend on cells by net profit per euro, within every limit.

    The budget and the per-channel caps are nested (a laminar family), so their
    constraints form a polymatroid and the greedy order is optimal for the linear programme.
    """
    room = {"budget": budget, **(caps or {})}
    total = 0.0
    order = sorted(cells, key=lambda c: (c.profit - c.cost) / c.cost, reverse=True)
    for cell in order:
        if cell.profit <= cell.cost:
            break
        spend = min(cell.cost * cell.reachable, room["budget"], room.get(cell.channel, np.inf))
        room["budget"] -= spend
        if cell.channel in room:
            room[cell.channel] -= spend
        total += (cell.profit - cell.cost) * spend / cell.cost
    return total


@pytest.mark.parametrize("seed", range(8))
def test_whole_customers_equal_a_brute_force_search(seed):
    rng = np.random.default_rng(seed)
    cells, budget, caps = _random_problem(rng, cells=4, reach=4)
    result = allocate_budget(cells, budget, channel_caps=caps, whole_customers=True)
    assert result.expected_profit == pytest.approx(_brute_force(cells, budget, caps), abs=1e-9)
    assert all(float(x).is_integer() for x in result.customers)
    assert result.budget_used <= budget + 1e-9


@pytest.mark.parametrize("seed", range(8))
def test_the_linear_programme_equals_the_greedy_optimum(seed):
    rng = np.random.default_rng(100 + seed)
    cells, budget, caps = _random_problem(rng, cells=7, reach=1_000)
    result = allocate_budget(cells, budget, channel_caps=caps)
    assert result.expected_profit == pytest.approx(_greedy(cells, budget, caps), rel=1e-9)
    # Whole customers earn at most the fractional optimum.
    whole = allocate_budget(cells, budget, channel_caps=caps, whole_customers=True)
    assert whole.expected_profit <= result.expected_profit + 1e-6


def test_shadow_price_is_the_profit_of_one_more_unit_of_budget():
    rng = np.random.default_rng(7)
    cells, budget, _ = _random_problem(rng, cells=6, reach=1_000)
    result = allocate_budget(cells, budget)
    step = 1e-3
    more = allocate_budget(cells, budget + step)
    slope = (more.expected_profit - result.expected_profit) / step
    assert result.budget_shadow_price == pytest.approx(slope, rel=1e-6)


def test_each_scenario_is_the_allocation_with_that_profit_moved():
    cells = [
        Cell("loyal", "email", profit=4.0, profit_se=1.0, cost=0.5, reachable=1_000),
        Cell("lapsed", "sms", profit=6.0, profit_se=3.0, cost=2.0, reachable=1_000),
        Cell("new", "email", profit=1.0, profit_se=0.2, cost=0.5, reachable=500),
    ]
    result = allocate_budget(cells, budget=1_500, confidence=0.9)
    low_lapsed = next(s for s in result.scenarios if s.cell == 1 and s.bound == "low")
    moved = list(cells)
    moved[1] = Cell("lapsed", "sms", 6.0 - stats.norm.ppf(0.95) * 3.0, 3.0, 2.0, 1_000)
    assert low_lapsed.customers == pytest.approx(allocate_budget(moved, 1_500).customers)
    # At its low end lapsed customers lose money: the budget moves to "new".
    assert low_lapsed.customers[1] == 0
    everyone = {s.bound: s.expected_profit for s in result.scenarios if s.cell is None}
    assert everyone["low"] <= result.expected_profit <= everyone["high"]
    assert len(result.scenarios) == 2 * len(cells) + 2


def test_the_standard_error_of_the_profit_adds_the_cells_variances():
    cells = [
        Cell("a", "email", profit=4.0, profit_se=1.0, cost=1.0, reachable=100),
        Cell("b", "sms", profit=5.0, profit_se=2.0, cost=1.0, reachable=100),
    ]
    result = allocate_budget(cells, budget=1_000)
    assert result.customers == (100.0, 100.0)
    assert result.expected_profit_se == pytest.approx(np.sqrt(100**2 * 1 + 100**2 * 4))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: allocate_budget([], 10), "at least one cell"),
        (lambda: allocate_budget([Cell("a", "email", 1, 0, 1, 5)] * 2, 10), "repeat"),
        (lambda: allocate_budget([Cell("a", "email", 1, 0, 1, 5)], -1), "budget"),
        (
            lambda: allocate_budget([Cell("a", "email", 1, 0, 1, 5)], 10, {"fax": 1}),
            "no cell uses",
        ),
        (lambda: Cell("a", "email", 1, 0, 0, 5), "cost per customer"),
        (lambda: Cell("a", "email", 1, -1, 1, 5), "profit_se"),
        (lambda: Cell("a", "email", 1, 0, 1, 2.5), "reachable"),
    ],
)
def test_bad_cells_and_budgets_are_refused(call, message):
    with pytest.raises(ExperimentError, match=message):
        call()
