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
>>> drawn.startswith('<svg class="chart" role="img" aria-label="Sizes"'), "1,5" in drawn
(True, True)
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
    # Vega names the SVG namespace first; the role makes the chart one image to a reader.
    opening = f'<svg class="chart" role="img" aria-label="{label}" '
    return Markup(drawn.replace("<svg ", opening, 1))


def _xml_safe(value: Any) -> Any:
    """``value`` with every character XML forbids in its texts replaced by U+FFFD."""
    if isinstance(value, str):
        return _NOT_XML.sub("\ufffd", value)
    if isinstance(value, dict):
        return {key: _xml_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_xml_safe(item) for item in value]
    return value
