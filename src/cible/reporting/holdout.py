"""A self-contained HTML page with the two holdout charts of a purchase model.

Chart geometry is computed here; ``templates/holdout.html.j2`` draws it as inline SVG.

Examples
--------
>>> page = render_holdout([("0", 10, 0.2, 0.25)], [(1, 0, 0.0, False), (2, 5, 4.0, True)],
...                       title="CDNOW", lang="en")
>>> "<svg" in page and "<script" not in page
True
"""

from __future__ import annotations

from typing import Any

from cible.reporting.html import environment

WIDTH, HEIGHT, PAD = 720, 300, 48


def _line_chart(points: list[tuple[int, float, float, bool]]) -> dict[str, Any]:
    weeks = [p[0] for p in points]
    top = max(max(p[1], p[2]) for p in points) or 1.0

    def x(week: float) -> float:
        return PAD + (week - weeks[0]) / max(weeks[-1] - weeks[0], 1) * (WIDTH - 2 * PAD)

    def y(value: float) -> float:
        return HEIGHT - PAD - value / top * (HEIGHT - 2 * PAD)

    first_holdout = next((p[0] for p in points if p[3]), weeks[-1])
    return {
        "actual": " ".join(f"{x(p[0]):.1f},{y(p[1]):.1f}" for p in points),
        "expected": " ".join(f"{x(p[0]):.1f},{y(p[2]):.1f}" for p in points),
        "split": x(first_holdout),
        "first_week": weeks[0],
        "last_week": weeks[-1],
        "top": top,
    }


def _bars(rows: list[tuple[str, int, float, float]]) -> list[dict[str, Any]]:
    top = max(max(r[2], r[3]) for r in rows) or 1.0
    slot = (WIDTH - 2 * PAD) / len(rows)
    bars = []
    for i, (label, _, actual, expected) in enumerate(rows):
        left = PAD + i * slot
        heights = [value / top * (HEIGHT - 2 * PAD) for value in (actual, expected)]
        bars.append(
            {
                "label": label,
                "centre": left + slot / 2,
                "width": slot / 2 - 8,
                "x": [left + 6, left + slot / 2],
                "heights": heights,
            }
        )
    return bars


def render_holdout(
    by_repeat_purchases: list[tuple[str, int, float, float]],
    cumulative: list[tuple[int, float, float, bool]],
    *,
    title: str,
    lang: str,
) -> str:
    """The page: cumulative repeat purchases and holdout purchases by repeat purchases.

    ``by_repeat_purchases`` rows are (repeat purchases in the calibration period,
    customers, actual, expected);
    ``cumulative`` rows are (week, actual, expected, in holdout).
    """
    template = environment(lang).get_template("holdout.html.j2")
    return template.render(
        title=title,
        lang=lang,
        rows=by_repeat_purchases,
        line=_line_chart(cumulative),
        bars=_bars(by_repeat_purchases),
        width=WIDTH,
        height=HEIGHT,
        pad=PAD,
    )
