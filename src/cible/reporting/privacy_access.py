"""Pages a person reads: their data (GDPR art. 15) and the record of processing (art. 30).

:func:`render_access_page` shows the document of ``ws.privacy_access.export`` as one
self-contained HTML page in French or English, each segment named and explained
from the catalog in that language. :func:`render_record` shows the record of
processing as Markdown or HTML. Both read the served JSON form (dates as ISO text),
so a page built from the API's answer and one built locally are the same; both are
autoescaped, so a hostile name prints as text.

Examples
--------
>>> page = render_access_page({"customer_id": "c1", "exported_at": "2026-01-31T10:00:00",
...     "profile": {"customer_id": "c1", "first_name": "<b>Ann</b>"}, "segments": [],
...     "consents": [], "orders": [], "events": [], "traits": None, "tags": [],
...     "campaign_assignments": [], "deliveries": [], "surveys": [], "tickets": [],
...     "merges": []}, "fr")
>>> "Vos données" in page, "&lt;b&gt;Ann&lt;/b&gt;" in page
(True, True)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cible.domain.json_values import dumps_json
from cible.locale import gettext
from cible.locale.messages import LANGS
from cible.locale.privacy_labels import LABELS
from cible.reporting.html import environment

#: Consent statuses counted per purpose, widest first.
STATUSES = ("granted", "denied", "withdrawn")
#: Formats :func:`render_record` writes.
RECORD_FORMATS = ("md", "html")


@dataclass(frozen=True)
class Section:
    """One table of the record: a title, column headings and rows of text."""

    title: str
    header: tuple[str, ...]
    rows: Sequence[tuple[Any, ...]]


def label(key: str, lang: str, **values: object) -> str:
    """The label ``key`` in ``lang``, with ``values`` filled in.

    Examples
    --------
    >>> label("prospect_days", "en", days=30)
    'Prospects without any order or event are kept 30 days.'
    """
    return gettext(lang, LABELS[key]).format(**values)


def render_access_page(document: dict[str, Any], lang: str) -> str:
    """Everything held about one customer as an HTML page in ``lang`` (``en`` or ``fr``).

    Raises
    ------
    ValueError
        When ``lang`` is not one of ``en``, ``fr``.
    """
    _check(lang)
    served = json.loads(dumps_json(document))
    return str(_template("privacy_access.html.j2", lang).render(d=served, lang=lang))


def render_record(record: dict[str, Any], lang: str, fmt: str = "md") -> str:
    """The record of processing as Markdown (``md``) or an HTML page (``html``).

    Examples
    --------
    >>> record = {"workspace": "shop", "generated_at": "2026-01-31T10:00:00", "data": [],
    ...     "purposes": [], "segments": [], "clusterings": [], "automations": [],
    ...     "campaigns": [], "recipients": {"webhooks": [], "smtp": {"host": "mail",
    ...     "port": 25, "sender": "s", "security": "none"}}, "special_fields": [],
    ...     "retention": {"prospect_days": 1095, "customer_inactive_days": 1825}}
    >>> render_record(record, "fr").splitlines()[0]
    '# Registre des activités de traitement'

    Raises
    ------
    ValueError
        When ``lang`` or ``fmt`` is unknown.
    """
    _check(lang)
    if fmt not in RECORD_FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(RECORD_FORMATS)}")
    served = json.loads(dumps_json(record))
    sections = record_sections(served, lang)
    if fmt == "html":
        template = _template("privacy_record.html.j2", lang)
        return str(template.render(r=served, lang=lang, sections=sections))
    return _markdown(served, sections, lang)


def record_sections(record: dict[str, Any], lang: str) -> list[Section]:
    """The record's tables, with headings in ``lang``."""

    def t(key: str) -> str:
        return label(key, lang)

    data = [
        (d["table"], str(d["rows"]), f["name"], f["category"], f["sensitivity"])
        for d in record["data"]
        for f in d["fields"]
    ]
    purposes = [
        (p["channel"], p["purpose"], *(str(p[s]) for s in (*STATUSES, "records")))
        for p in record["purposes"]
    ]
    segments = [
        (_local(s["name"], lang) or s["id"], s["id"], s["kind"] or "", _reads(s["reads"]))
        for s in record["segments"]
    ]
    clusterings = [(c["dimension"] or "", ", ".join(c["features"])) for c in record["clusterings"]]
    activations = [
        (kind, a["id"], a["status"], _reads({k: v for k, v in a.items() if isinstance(v, list)}))
        for kind, key in (("automation", "automations"), ("campaign", "campaigns"))
        for a in record[key]
    ]
    recipients = record["recipients"]
    hooks = [
        (
            h["name"],
            h["url"],
            f"{h['channel']}/{h['purpose']}",
            t("yes" if h["personal_data"] else "no"),
        )
        for h in recipients["webhooks"]
    ]
    smtp = recipients["smtp"]
    special = [
        (f"{s['table']}.{s['field']}", s["legal_basis"] or t("no_legal_basis"))
        for s in record["special_fields"]
    ]
    return [
        Section(
            t("data_held"),
            (t("table"), t("rows"), t("field"), t("category"), t("sensitivity")),
            data,
        ),
        Section(
            t("purposes"),
            (t("channel"), t("purpose"), t("granted"), t("denied"), t("withdrawn"), t("records")),
            purposes,
        ),
        Section(t("processing"), (t("segment"), "id", t("kind"), t("reads")), segments),
        Section(t("clusterings"), (t("segment"), t("features")), clusterings),
        Section(t("automations"), (t("kind"), "id", t("status"), t("names")), activations),
        Section(t("webhooks"), (t("webhooks"), "URL", t("purpose"), t("personal_data")), hooks),
        Section(
            t("smtp"),
            ("host", "port", "sender"),
            [(smtp["host"], str(smtp["port"]), smtp["sender"])],
        ),
        Section(t("special_fields"), (t("field"), t("legal_basis")), special),
    ]


def _markdown(record: dict[str, Any], sections: list[Section], lang: str) -> str:
    lines = [
        f"# {label('record_title', lang)}",
        "",
        label(
            "record_intro", lang, workspace=record["workspace"], date=_when(record["generated_at"])
        ),
    ]
    for section in sections:
        lines += ["", f"## {section.title}", ""]
        if not section.rows:
            lines.append(label("none", lang))
            continue
        lines.append(_row(section.header))
        lines.append("|" + "---|" * len(section.header))
        lines += [_row(row) for row in section.rows]
    retention = record["retention"]
    lines += [
        "",
        f"## {label('retention', lang)}",
        "",
        label("prospect_days", lang, days=retention["prospect_days"]),
        label("customer_inactive_days", lang, days=retention["customer_inactive_days"]),
    ]
    return "\n".join(lines) + "\n"


def _row(cells: tuple[Any, ...]) -> str:
    # A pipe or a line break inside a cell would split the Markdown table.
    safe = (str(c).replace("|", "\\|").replace("\n", " ") for c in cells)
    return "| " + " | ".join(safe) + " |"


def _reads(reads: dict[str, list[str]]) -> str:
    return "; ".join(f"{kind}: {', '.join(names)}" for kind, names in reads.items() if names)


def _local(texts: dict[str, str] | None, lang: str) -> str:
    """A catalog text in ``lang``, else in the other language, else empty."""
    texts = texts or {}
    return texts.get(lang) or next((v for v in texts.values() if v), "")


def _when(value: Any) -> str:
    """An ISO 8601 timestamp as ``YYYY-MM-DD HH:MM`` (UTC), empty when missing."""
    if not isinstance(value, str):
        return "" if value is None else str(value)
    return value.replace("T", " ")[:16]


def _check(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"language {lang!r} is not one of {', '.join(LANGS)}")


def _template(name: str, lang: str) -> Any:
    env = environment(lang)

    def t(key: str, **values: object) -> str:
        return label(key, lang, **values)

    env.globals.update(t=t, when=_when, local=lambda texts: _local(texts, lang))
    return env.get_template(name)
