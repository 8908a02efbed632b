"""French communes the demo customers live in, read from ``data/french_places.csv``.

The file lists about two hundred real communes of metropolitan France with their
postal code, department, current region (the 13 of 2016), population and an urban,
peri-urban or rural class. Customers are spread over them in proportion to a damped
population, so that villages appear next to Paris and Lyon.

Examples
--------
>>> places = load_places()
>>> "Saint-Étienne" in places.names
True
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np

from cible.demo.timeline import FloatArray, IntArray

#: Values of the ``urban_rural`` custom attribute.
AREA_CLASSES = ("urban", "periurban", "rural")
# Population ** 0.7: big cities still dominate, small towns are not drowned out.
_DAMPING = 0.7


@dataclass(frozen=True)
class Places:
    """Communes as parallel lists, with draw weights and a nearby commune each.

    Attributes
    ----------
    names, postal_codes, departments, regions, area_classes : list of str
        One entry per commune, as in the CSV file.
    weights : ndarray of float
        Probability of a customer living there.
    nearby : ndarray of int
        Another commune of the same department (or region), where a customer who
        moves is likely to go.
    """

    names: list[str]
    postal_codes: list[str]
    departments: list[str]
    regions: list[str]
    area_classes: list[str]
    weights: FloatArray
    nearby: IntArray

    def draw(self, rng: np.random.Generator, size: int) -> IntArray:
        """Draw ``size`` communes, weighted by damped population."""
        cdf = np.cumsum(self.weights)
        cdf[-1] = 1.0
        return np.searchsorted(cdf, rng.random(size), side="right").astype(np.int64)


def load_places() -> Places:
    """Read the communes shipped with the package."""
    text = (resources.files("cible.demo") / "data" / "french_places.csv").read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    population = np.array([float(r["population"]) for r in rows])
    weights = population**_DAMPING
    departments = [r["department"] for r in rows]
    regions = [r["region"] for r in rows]
    return Places(
        names=[r["name"] for r in rows],
        postal_codes=[r["postal_code"] for r in rows],
        departments=departments,
        regions=regions,
        area_classes=[r["area_class"] for r in rows],
        weights=weights / weights.sum(),
        nearby=_nearby(departments, regions),
    )


def _nearby(departments: list[str], regions: list[str]) -> IntArray:
    """Next commune of the same department, else of the same region, cyclically."""
    result = np.arange(len(departments), dtype=np.int64)
    for keys in (regions, departments):  # department neighbours override region ones
        members: dict[str, list[int]] = {}
        for index, key in enumerate(keys):
            members.setdefault(key, []).append(index)
        for group in members.values():
            if len(group) > 1:
                result[group] = np.roll(np.array(group), -1)
    return result
