"""Rendering a :class:`~cible.reporting.model.Report` as one self-contained HTML page.

Charts are the Vega-Lite specs of :mod:`~cible.reporting.charts` (the web pages' own),
which the templates pick and :func:`~cible.reporting.vega.svg` draws as inline SVG: the
page needs no script, no font and no network, so it opens offline and prints as it
shows. Numbers and dates follow the reader's language through Babel.

Examples
--------
>>> from datetime import datetime
>>> from cible.reporting.model import Report
>>> page = render_report(Report(workspace="demo", lang="fr", as_of=datetime(2026, 1, 31),
...     run_id=1, customers=0, buyers=0, revenue=0.0, currency="EUR", dimensions=[]))
>>> "Segments clients" in page and "<script" not in page
True
"""

from __future__ import annotations

import math
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from cible.locale.messages import LANGS, text
from cible.reporting import charts, vega
from cible.reporting.model import Report

_LOCALES = {"en": "en_GB", "fr": "fr_FR"}
#: Shown for a missing figure: an en dash.
_NONE = "\u2013"
#: Babel rounds through a 28-digit decimal context; figures this large (only a
#: corrupt or hostile amount reaches them) are shown in scientific notation instead.
_HUGE = 1e15


def _finalize(value: Any) -> Any:
    """Every ``{{ expression }}``: a non-finite number prints as a dash, not ``nan``."""
    return _NONE if isinstance(value, float) and not math.isfinite(value) else value


def _geometry(value: Any, digits: int = 0) -> float:
    """The ``round`` filter, used for chart sizes and colours: a non-finite number draws 0."""
    number = float(value)
    return round(number, digits) if math.isfinite(number) else 0.0


def environment(lang: str) -> Environment:
    locale = _LOCALES[lang]
    env = Environment(
        loader=PackageLoader("cible.reporting", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )

    def number(value: float | None, digits: int = 0) -> str:
        if value is None or not math.isfinite(value):
            return _NONE
        if abs(value) >= _HUGE:
            return f"{value:.3g}"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return str(format_decimal(value, format=pattern, locale=locale))

    def money(value: float | None, currency: str) -> str:
        if value is None or not math.isfinite(value):
            return _NONE
        if abs(value) >= _HUGE:
            return f"{value:.3g} {currency}"
        return str(format_currency(value, currency, locale=locale))

    def percent(value: float | None) -> str:
        if value is None or not math.isfinite(value):
            return _NONE
        if abs(value) >= _HUGE:
            return f"{100 * value:.3g} %"
        return str(format_percent(value, "#,##0.0 %", locale=locale))

    def t(key: str, **values: Any) -> str:
        return text(key, lang, **values)

    def chart(spec: dict[str, Any] | None) -> str:
        return "" if spec is None else vega.svg(spec, lang)

    env.filters.update(number=number, money=money, percent=percent, round=_geometry)
    env.globals.update(
        t=t,
        format_date=lambda d: format_date(d, "long", locale=locale),
        charts=charts,
        chart=chart,
        lang=lang,
    )
    return env


def render_report(report: Report) -> str:
    """The report as an HTML document (a string).

    Raises
    ------
    ValueError
        When ``report.lang`` is not one of ``en``, ``fr``.
    """
    if report.lang not in LANGS:
        raise ValueError(f"language {report.lang!r} is not one of {', '.join(LANGS)}")
    template = environment(report.lang).get_template("report.html.j2")
    max_revenue = max((cell.revenue for cell in report.rfm_grid), default=0.0) or 1.0
    return template.render(r=report, max_revenue=max_revenue)
