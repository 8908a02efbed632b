"""A Vega-Lite spec drawn as inline SVG, so that an HTML page stays one offline file.

The report and the pages Cible writes draw the specs of :mod:`cible.reporting.charts`
(the ones the web pages draw with vega-embed) through vl-convert, which runs Vega in
the process: no script in the page, no font, nothing fetched (``allowed_base_urls``
is empty, so a spec naming a data URL fails instead of reaching out). Numbers and
dates on the axes follow the reader's language. vl-convert starts its JavaScript
engine once per process (about two seconds); each chart then takes milliseconds.

Examples
--------
>>> spec = {"description": "Sizes", "data": {"values": [{"a": "x", "b": 1.5}]},
...         "mark": "bar", "encoding": {"x": {"field": "b", "type": "quantitative"},
...                                      "y": {"field": "a", "type": "nominal"}}}
>>> drawn = svg(spec, "fr")
>>> drawn.startswith('<svg class="chart" role="img"'), 'aria-label="Sizes"' in drawn
(True, True)
>>> "1,5" in drawn, "http" in drawn
(True, False)
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import vl_convert
from markupsafe import Markup

from cible.domain.json_values import dumps_json
from cible.reporting.charts import WIDTH

#: d3 locales of the axes' numbers and dates, per report language.
_LOCALES: dict[str, Any] = {"en": "en-GB", "fr": "fr-FR"}
#: The namespace declarations and Vega's own class of the opening tag.
_DROPPED = re.compile(r' (?:xmlns(?::\w+)?|class)="[^"]*"')
#: Characters XML forbids; vl-convert aborts the whole process on one in a label.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def svg(spec: dict[str, Any], lang: str) -> Markup:
    """``spec`` drawn as an ``<svg>`` element, labelled by its ``description``.

    A non-finite number in the data (a corrupt amount) becomes null, which Vega-Lite
    leaves out, and a character XML forbids in a text (a control character in a
    segment's name) becomes U+FFFD, rather than failing the page. The element scales
    down with the page (``class="chart"``; the page's style sets ``max-width``).
    """
    plain: dict[str, Any] = _xml_safe(json.loads(dumps_json(spec)))
    if plain.get("width") == "container":  # a web spec: the report has no container
        plain["width"] = WIDTH
    drawn = vl_convert.vegalite_to_svg(
        plain,
        allowed_base_urls=[],
        format_locale=_LOCALES[lang],
        time_format_locale=_LOCALES[lang],
    )
    label = html.escape(str(plain.get("description", "")), quote=True)
    # Inline in HTML, an <svg> is in the SVG namespace without naming it: dropping the
    # declarations leaves no URL in the page. The role makes the chart one image; the
    # class replaces Vega's "marks", which no page styles.
    opening, rest = drawn.split(">", 1)
    opening = _DROPPED.sub("", opening).replace("<svg", '<svg class="chart" role="img"', 1)
    return Markup(f'{opening} aria-label="{label}">{rest}')


def _xml_safe(value: Any) -> Any:
    """``value`` with every character XML forbids in its texts replaced by U+FFFD."""
    if isinstance(value, str):
        return _NOT_XML.sub("\ufffd", value)
    if isinstance(value, dict):
        return {key: _xml_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_xml_safe(item) for item in value]
    return value
