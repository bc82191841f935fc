"""Bar charts as inline SVG, drawn when the HTML report is built.

A report that must open offline and stay small gets its charts as markup: no script library
in the file, nothing to load, a few kilobytes a chart, and the charts show even where scripts
are blocked (a mail client's preview). Bars are stacked by severity; each segment carries a
native tooltip (`<title>`) with its count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

SEVERITY_COLORS = {"error": "#D55E00", "warning": "#E69F00", "info": "#0072B2"}
"""Okabe-Ito colours: told apart with the common kinds of colour blindness."""
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its count per severity, and a note for its tooltip."""

    label: str
    counts: dict[str, int]
    note: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def nice_step(largest: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about `ticks` grid lines."""
    if largest <= 0:
        return 1
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return max(factor * power, 1)
    return 10 * power


def horizontal_bars(bars: Sequence[Bar], title: str, width: int = 720) -> str:
    """Labelled horizontal bars (a row each), count at the end of each bar."""
    label_width, row, top = 260, 24, 8
    room = width - label_width - 60
    largest = max((b.total for b in bars), default=0) or 1
    height = top + row * len(bars) + 8
    parts = [_open(width, height, title)]
    for index, bar in enumerate(bars):
        y = top + index * row
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end">'
            f"{escape(_clip(bar.label, 38))}<title>{escape(bar.label)}</title></text>"
        )
        x = float(label_width)
        for severity, count in _segments(bar):
            length = room * count / largest
            parts.append(_rect(x, y + 4, length, row - 8, severity, count, bar))
            x += length
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 16}">{bar.total:,}</text>')
    parts.append("</svg>")
    return "".join(parts)


def columns(bars: Sequence[Bar], title: str, width: int = 720, height: int = 240) -> str:
    """Vertical bars along an axis (months), with a count grid; labels thinned to fit."""
    left, bottom, top, right = 48, 36, 12, 12
    plot_w, plot_h = width - left - right, height - top - bottom
    largest = max((b.total for b in bars), default=0)
    step = nice_step(largest)
    ceiling = step * max(math.ceil(largest / step), 1)
    slot = plot_w / max(len(bars), 1)
    every = max(1, math.ceil(len(bars) * 56 / plot_w))  # a label needs about 56 px
    parts = [_open(width, height, title)]
    value = 0.0
    while value <= ceiling + 1e-9:
        y = top + plot_h - plot_h * value / ceiling
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(value)}</text>'
        )
        value += step
    for index, bar in enumerate(bars):
        x = left + index * slot + slot * 0.15
        y = float(top + plot_h)
        for severity, count in _segments(bar):
            length = plot_h * count / ceiling
            y -= length
            parts.append(_rect(x, y, slot * 0.7, length, severity, count, bar))
        if index % every == 0:
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
                f"{escape(bar.label)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def legend() -> str:
    """The severity colours, as an HTML line under the charts."""
    return "".join(
        f'<span class="key"><span class="swatch" style="background:{colour}"></span>'
        f"{severity}</span>"
        for severity, colour in SEVERITY_COLORS.items()
    )


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img" aria-label="{escape(title)}" {FONT}>'
        f"<title>{escape(title)}</title>"
    )


def _segments(bar: Bar) -> list[tuple[str, int]]:
    return [(s, bar.counts.get(s, 0)) for s in SEVERITY_COLORS if bar.counts.get(s, 0)]


def _rect(x: float, y: float, w: float, h: float, severity: str, count: int, bar: Bar) -> str:
    tip = f"{bar.label}: {count:,} {severity}" + (f" ({bar.note})" if bar.note else "")
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.5):.1f}" height="{h:.1f}"'
        f' fill="{SEVERITY_COLORS[severity]}"><title>{escape(tip)}</title></rect>'
    )


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
