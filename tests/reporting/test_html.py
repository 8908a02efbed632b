"""The report page: a figure that is not finite prints as a dash and draws nothing."""

from __future__ import annotations

import math

import pytest

from cible.reporting.html import environment


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, None])
def test_filters_show_a_dash_for_missing_and_non_finite_figures(lang: str, value: float | None):
    filters = environment(lang).filters
    assert filters["percent"](value) == "\u2013"
    assert filters["number"](value, 1) == "\u2013"
    assert filters["money"](value, "EUR") == "\u2013"


def test_expressions_and_geometry_never_print_nan():
    template = environment("en").from_string(
        "{{ share | percent }} {{ share }} <rect width='{{ (100 * share) | round(1) }}%'>"
        " {{ 0.25 | round(1) }}"
    )
    assert template.render(share=math.nan) == "\u2013 \u2013 <rect width='0.0%'> 0.2"
    assert "inf" not in template.render(share=math.inf)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_huge_figures_do_not_break_the_formatting(lang: str):
    filters = environment(lang).filters
    assert filters["money"](1e200, "EUR") == "1e+200 EUR"
    assert filters["number"](-1e200, 2) == "-1e+200"
    assert filters["percent"](1e20) == "1e+22 %"
    assert filters["money"](12345.5, "EUR") in ("€12,345.50", "12\u202f345,50\u00a0€")
