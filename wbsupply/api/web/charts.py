"""Small bar charts drawn on the server as inline SVG: no chart library, no CDN, readable on a phone."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 200
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 36, 34, 14


def bars(points: Sequence[tuple[str, float]], *, unit: str = "", title: str = "", every: int = 1) -> Markup:
    """A bar chart of ``(label, value)``; every ``every``-th label is written under its bar."""
    if not points:
        return Markup('<p class="hint">Данных пока нет.</p>')
    top = max(value for _, value in points) or 1.0
    inner_w, inner_h = WIDTH - PAD_LEFT - 6, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = inner_w / len(points)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
             f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + inner_h}" x2="{WIDTH - 6}" y2="{PAD_TOP + inner_h}" '
             'stroke="#ccc"/>',
             f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 4}" text-anchor="end">{_num(top)}</text>',
             f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + inner_h}" text-anchor="end">0</text>']
    for index, (label, value) in enumerate(points):
        height = inner_h * value / top
        x = PAD_LEFT + index * step
        y = PAD_TOP + inner_h - height
        parts.append(f'<rect x="{x + step * 0.12:.1f}" y="{y:.1f}" width="{step * 0.76:.1f}" height="{height:.1f}" '
                     f'fill="#7b2cbf"><title>{escape(label)}: {_num(value)}{escape(unit)}</title></rect>')
        if index % every == 0 or index == len(points) - 1:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{HEIGHT - PAD_BOTTOM + 14}" text-anchor="middle">'
                         f'{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _num(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
