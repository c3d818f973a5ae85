"""Small inline-SVG charts drawn on the server: no JavaScript, no fonts or scripts from elsewhere.

Each function returns one ``<svg>`` element as text for monthly figures: categories (months)
along x, a value or None (a gap) per category, optional reference lines (thresholds). Every
mark carries a ``<title>``, which browsers show as a tooltip. Every text and attribute value
is escaped here and every coordinate is a number formatted here, so the pages may embed the
SVG as markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 560, 230
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 30, 46


@dataclass(frozen=True)
class RefLine:
    """A horizontal reference line, e.g. a threshold."""

    value: float
    label: str
    color: str = "#b45309"


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values from at most ``low`` to at least ``high``."""
    span = high - low if high > low else abs(high) or 1.0
    raw = span / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(k * step, 10) for k in range(first, max(last, first + 1) + 1)]


class _Frame:
    """The plot area and the y scale shared by both chart kinds."""

    def __init__(self, n: int, values: list[float], refs: Sequence[RefLine], zero: bool) -> None:
        pool = values + [r.value for r in refs] + ([0.0] if zero else [])
        low, high = (min(pool), max(pool)) if pool else (0.0, 1.0)
        if high == low:
            high = low + (abs(low) or 1.0)
        self.ticks = _nice_ticks(low, high + (high - low) * 0.08)
        self.low, self.high = self.ticks[0], self.ticks[-1]
        self.n = max(n, 1)
        self.inner_w = WIDTH - LEFT - RIGHT
        self.inner_h = HEIGHT - TOP - BOTTOM

    def x(self, i: int) -> float:
        return LEFT + self.inner_w * (i + 0.5) / self.n

    def y(self, value: float) -> float:
        return TOP + self.inner_h * (1 - (value - self.low) / (self.high - self.low))

    def band(self) -> float:
        return self.inner_w / self.n


def _open(title: str, css_class: str) -> list[str]:
    return [
        f'<svg class="chart {escape(css_class)}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{LEFT}" y="18" class="chart-title">{escape(title)}</text>',
    ]


def _axes(frame: _Frame, labels: Sequence[str], fmt: Callable[[float], str]) -> list[str]:
    parts = []
    for tick in frame.ticks:
        y = frame.y(tick)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{escape(fmt(tick))}</text>')
    every = max(1, math.ceil(len(labels) / 12))
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            x = frame.x(i)
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" class="tick" text-anchor="end" '
                f'transform="rotate(-35 {x:.1f} {HEIGHT - BOTTOM + 16})">{escape(label)}</text>'
            )
    base = frame.y(max(frame.low, min(0.0, frame.high)))
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base:.1f}" y2="{base:.1f}" class="axis"/>')
    return parts


def _refs(frame: _Frame, refs: Sequence[RefLine], fmt: Callable[[float], str]) -> list[str]:
    parts = []
    for ref in refs:
        y = frame.y(ref.value)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{escape(ref.color)}" '
            f'stroke-dasharray="5 4" class="ref"><title>{escape(ref.label)}: {escape(fmt(ref.value))}</title></line>'
        )
        parts.append(
            f'<text x="{WIDTH - RIGHT - 2}" y="{y - 4:.1f}" class="ref-label" fill="{escape(ref.color)}" '
            f'text-anchor="end">{escape(ref.label)}</text>'
        )
    return parts


def _empty(frame: _Frame, values: list[float]) -> list[str]:
    if values:
        return []
    x, y = LEFT + frame.inner_w / 2, TOP + frame.inner_h / 2
    return [f'<text x="{x:.1f}" y="{y:.1f}" class="empty" text-anchor="middle">no data yet</text>']


def line_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    refs: Sequence[RefLine] = (),
    fmt: Callable[[float], str] = lambda v: f"{v:.2f}",
    color: str = "#1d4ed8",
    zero: bool = True,
    css_class: str = "",
) -> str:
    """A line with a dot per month; a missing value breaks the line."""
    finite, paint = _finite(values), escape(color)
    frame = _Frame(len(labels), finite, refs, zero)
    parts = [*_open(title, css_class), *_axes(frame, labels, fmt), *_refs(frame, refs, fmt)]
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, value in enumerate(values):
        if value is None or math.isnan(float(value)):
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{frame.x(i):.1f},{frame.y(float(value)):.1f}")
    if segment:
        segments.append(segment)
    for points in segments:
        if len(points) > 1:
            parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{paint}" stroke-width="2"/>')
    for i, value in enumerate(values):
        if value is None or math.isnan(float(value)):
            continue
        parts.append(
            f'<circle cx="{frame.x(i):.1f}" cy="{frame.y(float(value)):.1f}" r="3.5" fill="{paint}" class="point">'
            f"<title>{escape(labels[i])}: {escape(fmt(float(value)))}</title></circle>"
        )
    parts += [*_empty(frame, finite), "</svg>"]
    return "\n".join(parts)


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    colors: Sequence[str] | None = None,
    fmt: Callable[[float], str] = lambda v: f"{v:,.0f}",
    css_class: str = "",
) -> str:
    """A bar per month; ``colors`` (one per month) flags months, e.g. a failed validation."""
    finite = _finite(values)
    frame = _Frame(len(labels), finite, (), True)
    parts = [*_open(title, css_class), *_axes(frame, labels, fmt)]
    width = frame.band() * 0.7
    base = frame.y(max(frame.low, 0.0))
    for i, value in enumerate(values):
        if value is None or math.isnan(float(value)):
            continue
        top = frame.y(float(value))
        fill = escape(colors[i] if colors else "#1d4ed8")
        parts.append(
            f'<rect x="{frame.x(i) - width / 2:.1f}" y="{min(top, base):.1f}" width="{width:.1f}" '
            f'height="{abs(base - top):.1f}" fill="{fill}" class="bar">'
            f"<title>{escape(labels[i])}: {escape(fmt(float(value)))}</title></rect>"
        )
    parts += [*_empty(frame, finite), "</svg>"]
    return "\n".join(parts)


@dataclass(frozen=True)
class IntervalSeries:
    """Estimates with their intervals, one per month (None: no estimate that month)."""

    name: str
    estimates: Sequence[float | None]
    lows: Sequence[float | None]
    highs: Sequence[float | None]
    color: str


def interval_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[IntervalSeries],
    *,
    refs: Sequence[RefLine] = (),
    fmt: Callable[[float], str] = lambda v: f"{v:.3f}",
    css_class: str = "",
) -> str:
    """Per month, a dot per series with a whisker from the interval's low to its high end, side by side."""
    pool = [v for s in series for v in (*_finite(s.estimates), *_finite(s.lows), *_finite(s.highs))]
    frame = _Frame(len(labels), pool, refs, True)
    parts = [*_open(title, css_class), *_axes(frame, labels, fmt), *_refs(frame, refs, fmt)]
    step = frame.band() / (len(series) + 1)
    for k, s in enumerate(series):
        for i, (value, low, high) in enumerate(zip(s.estimates, s.lows, s.highs, strict=True)):
            if value is None or math.isnan(float(value)):
                continue
            x = frame.x(i) - frame.band() / 2 + step * (k + 1)
            tip = f"{labels[i]}, {s.name}: {fmt(float(value))}"
            if low is not None and high is not None and not math.isnan(float(low)) and not math.isnan(float(high)):
                parts.append(
                    f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.y(float(low)):.1f}" y2="{frame.y(float(high)):.1f}" '
                    f'stroke="{escape(s.color)}" stroke-width="2" class="whisker"/>'
                )
                tip += f" [{fmt(float(low))}, {fmt(float(high))}]"
            parts.append(
                f'<circle cx="{x:.1f}" cy="{frame.y(float(value)):.1f}" r="3.5" fill="{escape(s.color)}" class="point">'
                f"<title>{escape(tip)}</title></circle>"
            )
    parts += [*_empty(frame, pool), "</svg>"]
    return "\n".join(parts)
