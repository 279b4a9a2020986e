"""Charts drawn on the server as inline SVG (no script, no CDN); each has a title and a data table beside it."""

from __future__ import annotations

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

BAR = "#1f5f99"
LATE = "#b3261e"
LINE = "#0b7a3e"
INK = "#1b1b1b"
GRID = "#c8ccd0"


def _svg(width: int, height: int, title: str, body: list[str], chart_id: str) -> SafeString:
    # nosemgrep: django-mark-safe-non-literal  SVG texts escaped, numbers and colours from code
    return mark_safe(  # noqa: S308  # nosec B308 B703  # texts escaped, numbers and colours from code
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{escape(chart_id)}-title" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def month_trend(
    points: list[dict], *, title: str, bars_label: str, line_label: str, chart_id: str = "trend"
) -> SafeString:
    """Bars: dossiers received per month; line: on-time rate (right axis, 0-100 %)."""
    width, height, left, right, top, bottom = 720, 260, 48, 48, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{GRID}"/>',
    ]
    if not points:
        return _svg(width, height, title, body, chart_id)
    peak = max(p["received"] or 0 for p in points) or 1
    slot = plot_w / len(points)
    line = []
    for i, p in enumerate(points):
        h = plot_h * (p["received"] or 0) / peak
        x = left + i * slot + slot * 0.15
        body.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{BAR}">'
            f"<title>{escape(p['month'].strftime('%m/%Y'))}: {p['received']}</title></rect>"
        )
        body.append(
            f'<text x="{left + i * slot + slot / 2:.1f}" y="{height - 22}" font-size="11" text-anchor="middle" '
            f'fill="{INK}">{escape(p["month"].strftime("%m/%Y"))}</text>'
        )
        if p["on_time_rate"] is not None:
            line.append((left + i * slot + slot / 2, top + plot_h * (1 - p["on_time_rate"] / 100)))
    if line:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in line)
        body.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2.5"/>')
        body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{LINE}"/>' for x, y in line]
    body.append(f'<text x="{left}" y="{top + 10}" font-size="11" fill="{INK}">{peak}</text>')
    body.append(f'<text x="{width - right + 4}" y="{top + 10}" font-size="11" fill="{INK}">100%</text>')
    body.append(
        f'<rect x="{left}" y="{height - 14}" width="10" height="10" fill="{BAR}"/>'
        f'<text x="{left + 14}" y="{height - 5}" font-size="11" fill="{INK}">{escape(bars_label)}</text>'
        f'<line x1="{left + 240}" y1="{height - 9}" x2="{left + 260}" y2="{height - 9}" '
        f'stroke="{LINE}" stroke-width="2.5"/>'
        f'<text x="{left + 264}" y="{height - 5}" font-size="11" fill="{INK}">{escape(line_label)}</text>'
    )
    return _svg(width, height, title, body, chart_id)


def horizontal_bars(
    items: list[tuple[str, float | None, str]],
    *,
    title: str,
    chart_id: str,
    maximum: float | None = None,
    suffix: str = "%",
) -> SafeString:
    """One bar per (label, value, colour) item, the value written at the end of the bar."""
    row, label_w, width = 24, 260, 720
    height = max(row * len(items) + 8, 32)
    top = (max((v or 0) for _l, v, _c in items) if items else 0) or 1
    peak = maximum or top
    body = []
    for i, (label, value, colour) in enumerate(items):
        y = 4 + i * row
        w = (width - label_w - 70) * (value or 0) / peak
        short = label if len(label) <= 42 else label[:41] + "…"
        body.append(
            format_html(
                '<text x="{}" y="{}" font-size="12" text-anchor="end" fill="{}">{}</text>',
                label_w - 6,
                y + 15,
                INK,
                short,
            )
        )
        body.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{colour}"/>')
        shown = "—" if value is None else (f"{value:g}{suffix}")
        body.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12" fill="{INK}">{escape(shown)}</text>')
    return _svg(width, height, title, body, chart_id)
