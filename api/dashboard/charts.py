"""Charts as inline SVG, drawn on the server (no JavaScript, no CDN).

Each chart has `role="img"`, a `<title>` and a description, and every figure it draws is also
in a table on the same page, so screen readers and keyboard users lose nothing. Geometry is
integer arithmetic on minor units (pixels, never money, are the output). Labels are escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from billing.documents.formatting import format_amount

__all__ = ["COST_COLOR", "MARGIN_COLOR", "Series", "column_chart", "trend_chart"]

_COST = "#b45309"  # amber 700: 4.9:1 on white
_MARGIN = "#15803d"  # green 700


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    color: str
    values: tuple[int, ...]


def _scale(value: int, top: int, bottom: int, span: int) -> int:
    """Pixel offset of `value` on an axis from `bottom` (<= 0) to `top` (>= 0) over `span`."""
    width = max(top - bottom, 1)
    return (value - bottom) * span // width


def _axis_bounds(series: Sequence[Series]) -> tuple[int, int]:
    values = [v for s in series for v in s.values] or [0]
    return max(max(values), 0) or 1, min(min(values), 0)


def _legend(series: Sequence[Series], x: int, y: int) -> list[str]:
    parts = []
    for index, item in enumerate(series):
        left = x + index * 130
        parts.append(
            f'<rect x="{left}" y="{y - 10}" width="12" height="12" fill="{item.color}"/>'
            f'<text x="{left + 16}" y="{y}" font-size="12">{escape(item.name)}</text>'
        )
    return parts


def column_chart(
    title: str, labels: Sequence[str], series: Sequence[Series], currency: str
) -> Markup:
    """Grouped columns, one group per label (e.g. charge and cost per usage type)."""
    width, height, pad_left, pad_bottom, pad_top = 640, 260, 70, 50, 30
    plot_w, plot_h = width - pad_left - 10, height - pad_top - pad_bottom
    top, bottom = _axis_bounds(series)
    zero_y = pad_top + plot_h - _scale(0, top, bottom, plot_h)
    groups = max(len(labels), 1)
    group_w = plot_w // groups
    bar_w = max(min((group_w - 12) // max(len(series), 1), 48), 4)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-{id(labels)}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-{id(labels)}">{escape(title)}</title>',
        f'<line x1="{pad_left}" y1="{zero_y}" x2="{width - 10}" y2="{zero_y}" stroke="#555"/>',
        f'<text x="{pad_left - 6}" y="{pad_top + 4}" font-size="11" text-anchor="end">'
        f"{escape(format_amount(top, currency))}</text>",
        f'<text x="{pad_left - 6}" y="{zero_y + 4}" font-size="11" text-anchor="end">0</text>',
    ]
    for g, label in enumerate(labels):
        x0 = pad_left + g * group_w + 6
        for s, item in enumerate(series):
            value = item.values[g] if g < len(item.values) else 0
            y = pad_top + plot_h - _scale(value, top, bottom, plot_h)
            y_top, bar_h = min(y, zero_y), abs(zero_y - y)
            parts.append(
                f'<rect x="{x0 + s * bar_w}" y="{y_top}" width="{bar_w - 2}" height="{bar_h}" '
                f'fill="{item.color}"><title>{escape(item.name)} {escape(label)}: '
                f"{escape(format_amount(value, currency))} {escape(currency)}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + group_w // 2 - 6}" y="{height - pad_bottom + 16}" font-size="11" '
            f'text-anchor="middle">{escape(label[:18])}</text>'
        )
    parts.extend(_legend(series, pad_left, height - 8))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above


def trend_chart(
    title: str, labels: Sequence[str], series: Sequence[Series], currency: str
) -> Markup:
    """Lines over periods (revenue, cost, margin), with a dot per point."""
    width, height, pad_left, pad_bottom, pad_top = 640, 260, 70, 50, 20
    plot_w, plot_h = width - pad_left - 20, height - pad_top - pad_bottom
    top, bottom = _axis_bounds(series)
    steps = max(len(labels) - 1, 1)
    zero_y = pad_top + plot_h - _scale(0, top, bottom, plot_h)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="trend-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="trend-title">{escape(title)}</title>',
        f'<line x1="{pad_left}" y1="{zero_y}" x2="{width - 20}" y2="{zero_y}" stroke="#555"/>',
        f'<text x="{pad_left - 6}" y="{pad_top + 4}" font-size="11" text-anchor="end">'
        f"{escape(format_amount(top, currency))}</text>",
        f'<text x="{pad_left - 6}" y="{zero_y + 4}" font-size="11" text-anchor="end">0</text>',
    ]
    for item in series:
        points = []
        for index, value in enumerate(item.values):
            x = pad_left + index * plot_w // steps
            y = pad_top + plot_h - _scale(value, top, bottom, plot_h)
            points.append((x, y, value, labels[index] if index < len(labels) else ""))
        path = " ".join(f"{x},{y}" for x, y, _, _ in points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{item.color}" stroke-width="2"/>'
        )
        for x, y, value, label in points:
            parts.append(
                f'<circle cx="{x}" cy="{y}" r="3" fill="{item.color}"><title>'
                f"{escape(item.name)} {escape(label)}: {escape(format_amount(value, currency))}"
                "</title></circle>"
            )
    for index, label in enumerate(labels):
        if index % 2 == len(labels) % 2 or len(labels) <= 6:
            x = pad_left + index * plot_w // steps
            parts.append(
                f'<text x="{x}" y="{height - pad_bottom + 16}" font-size="11" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.extend(_legend(series, pad_left, height - 8))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above


COST_COLOR = _COST
MARGIN_COLOR = _MARGIN
