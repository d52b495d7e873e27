"""Charts as server-rendered SVG: no JavaScript, nothing fetched, readable without colour.

Every chart is an `<svg role="img">` with a `<title>` and `<desc>` (named by aria-labelledby),
axis titles, and a `<title>` on each mark (shown as a tooltip). Colours are SVG presentation
attributes, which the page's Content-Security-Policy allows (inline `style` it does not). All
text goes through `escape`; callers pass plain strings. Pages also show each chart's data as a
table for screen readers and for copying.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from babel.dates import format_date
from markupsafe import Markup, escape

from hyperlearn.service.dashboard import SkillNode
from hyperlearn.service.errors import N_

# Okabe & Ito's colour-blind-safe palette (without its yellow, too pale on white), and a
# dash pattern per series so lines differ in more than colour.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "12 4", "4 4", "1 2")
GRID = "#e3e6ee"
AXIS = "#5b6475"
BAR = "#56B4E9"
LINE = "#D55E00"

_W, _H = 720, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 58, 16, 54


def _same(message: str) -> str:
    return message


@dataclass(frozen=True, slots=True)
class Words:
    """The language of a chart's own words (tooltips, legend, dates): `gettext` translates
    the messages of this module, `language` names months."""

    gettext: Callable[[str], str] = field(default=_same)
    language: str = "en"

    def day(self, day: date) -> str:
        return format_date(day, "d MMM", locale=self.language)


ENGLISH = Words()


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    points: Sequence[tuple[date, float]]  # y in [0, 1]


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _open(chart_id: str, width: int, height: int, title: str, description: str) -> list[str]:
    cid = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" font-family="system-ui, sans-serif">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(description)}</desc>',
    ]


def _close(parts: list[str]) -> Markup:
    # Safe: every piece of text in `parts` went through `escape`, every number through `_num`.
    return Markup("".join([*parts, "</svg>"]))  # noqa: S704


def _text(
    x: float,
    y: float,
    content: str,
    *,
    size: int = 12,
    anchor: str = "middle",
    fill: str = AXIS,
    extra: str = "",
) -> str:
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}"{extra}>{escape(content)}</text>'
    )


def _axis_title_left(label: str, height: int) -> str:
    y = _TOP + (height - _TOP - _BOTTOM) / 2
    return _text(14, y, label, extra=f' transform="rotate(-90 14 {_num(y)})"')


def _axis_title_right(label: str, width: int, height: int) -> str:
    x, y = width - 12, _TOP + (height - _TOP - _BOTTOM) / 2
    return _text(x, y, label, extra=f' transform="rotate(90 {_num(x)} {_num(y)})"')


def _percent_axis(plot_left: float, plot_right: float, y_of: _YScale, *, right: bool) -> list[str]:
    parts = []
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = y_of(tick)
        if not right:
            parts.append(
                f'<line x1="{_num(plot_left)}" x2="{_num(plot_right)}" y1="{_num(y)}" '
                f'y2="{_num(y)}" stroke="{GRID}"/>'
            )
        x, anchor = (plot_right + 6, "start") if right else (plot_left - 6, "end")
        parts.append(_text(x, y + 4, f"{round(tick * 100)}%", size=11, anchor=anchor))
    return parts


class _YScale:
    def __init__(self, top: float, bottom: float, maximum: float) -> None:
        self.top, self.bottom, self.maximum = top, bottom, maximum or 1.0

    def __call__(self, value: float) -> float:
        return self.bottom - (self.bottom - self.top) * value / self.maximum


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50... at least `value` (an axis maximum)."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return int(step * magnitude)
    return int(10 * magnitude)  # pragma: no cover - the loop always returns


def _count_axis(left: float, right: float, y_of: _YScale, maximum: int) -> list[str]:
    parts = []
    step = max(1, nice_ceiling(maximum / 4)) if maximum > 4 else 1
    tick = 0
    while tick <= maximum:
        y = y_of(tick)
        parts.append(
            f'<line x1="{_num(left)}" x2="{_num(right)}" y1="{_num(y)}" y2="{_num(y)}" '
            f'stroke="{GRID}"/>'
        )
        parts.append(_text(left - 6, y + 4, str(tick), size=11, anchor="end"))
        tick += step
    return parts


def line_chart(
    chart_id: str,
    title: str,
    description: str,
    series: Sequence[Series],
    start: date,
    end: date,
    *,
    y_label: str,
    x_label: str = "Day",
    words: Words = ENGLISH,
) -> Markup:
    """Lines of a share (0 to 100%) over days, each held flat from its last point to `end`."""
    _day = words.day
    height = _H + 22 * math.ceil(len(series) / 2)  # room for the legend
    plot_bottom = _H - _BOTTOM
    left, right = _LEFT, _W - 24
    span = max((end - start).days, 1)

    def x_of(day: date) -> float:
        return left + (right - left) * (day - start).days / span

    y_of = _YScale(_TOP, plot_bottom, 1.0)
    parts = _open(chart_id, _W, height, title, description)
    parts += _percent_axis(left, right, y_of, right=False)
    for day in _date_ticks(start, end, 6):
        x = x_of(day)
        parts.append(_text(x, plot_bottom + 16, _day(day), size=11))
    parts.append(_text((left + right) / 2, plot_bottom + 36, x_label))
    parts.append(_axis_title_left(y_label, _H))
    for n, line in enumerate(series):
        colour, dash = PALETTE[n % len(PALETTE)], DASHES[n % len(DASHES)]
        points = [*line.points, (end, line.points[-1][1])] if line.points else []
        coords = " ".join(f"{_num(x_of(d))},{_num(y_of(v))}" for d, v in points)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<g><title>{escape(line.label)}</title><polyline points="{coords}" fill="none" '
            f'stroke="{colour}" stroke-width="2"{dash_attr}/>'
        )
        for d, v in line.points:
            parts.append(
                f'<circle cx="{_num(x_of(d))}" cy="{_num(y_of(v))}" r="3" fill="{colour}">'
                f"<title>{escape(line.label)}, {escape(_day(d))}: {round(v * 100)}%</title>"
                "</circle>"
            )
        parts.append("</g>")
        lx = left + (n % 2) * (right - left) / 2
        ly = _H + 4 + 22 * (n // 2)
        parts.append(
            f'<line x1="{_num(lx)}" x2="{_num(lx + 28)}" y1="{_num(ly)}" y2="{_num(ly)}" '
            f'stroke="{colour}" stroke-width="2"{dash_attr}/>'
        )
        parts.append(_text(lx + 34, ly + 4, _short(line.label, 42), size=12, anchor="start"))
    return _close(parts)


def bar_line_chart(
    chart_id: str,
    title: str,
    description: str,
    days: Sequence[date],
    bars: Sequence[int],
    line: Sequence[float | None],
    *,
    bar_label: str,
    line_label: str,
    x_label: str = "Day",
    words: Words = ENGLISH,
) -> Markup:
    """Counts per day as bars (left axis) and a share per day as a line (right axis, gaps
    where the share is undefined)."""
    _day, _ = words.day, words.gettext
    plot_bottom = _H - _BOTTOM
    left, right = _LEFT, _W - _RIGHT
    slot = (right - left) / max(len(days), 1)
    maximum = nice_ceiling(max(bars, default=0))
    counts = _YScale(_TOP, plot_bottom, maximum)
    shares = _YScale(_TOP, plot_bottom, 1.0)
    parts = _open(chart_id, _W, _H, title, description)
    parts += _count_axis(left, right, counts, maximum)
    parts += _percent_axis(left, right, shares, right=True)
    step = max(1, math.ceil(len(days) / 8))
    for n, (day, count) in enumerate(zip(days, bars, strict=True)):
        x = left + n * slot
        if count:
            share = line[n]
            tip = _("%(day)s: %(count)s answered") % {"day": _day(day), "count": count}
            if share is not None:
                tip += _(", %(percent)s%% right") % {"percent": round(share * 100)}
            parts.append(
                f'<rect x="{_num(x + slot * 0.15)}" y="{_num(counts(count))}" '
                f'width="{_num(slot * 0.7)}" height="{_num(plot_bottom - counts(count))}" '
                f'fill="{BAR}"><title>{escape(tip)}</title></rect>'
            )
        if (len(days) - 1 - n) % step == 0:
            parts.append(_text(x + slot / 2, plot_bottom + 16, _day(day), size=11))
    path, dots = [], []
    previous = False
    for n, share in enumerate(line):
        if share is None:
            previous = False
            continue
        x, y = left + (n + 0.5) * slot, shares(share)
        tip = _("%(day)s: %(percent)s%% right") % {
            "day": _day(days[n]),
            "percent": round(share * 100),
        }
        path.append(f"{'L' if previous else 'M'}{_num(x)} {_num(y)}")
        dots.append(
            f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3" fill="{LINE}">'
            f"<title>{escape(tip)}</title></circle>"
        )
        previous = True
    if path:
        parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    parts += dots
    parts.append(_text((left + right) / 2, plot_bottom + 36, x_label))
    parts.append(_axis_title_left(bar_label, _H))
    parts.append(_axis_title_right(line_label, _W, _H))
    return _close(parts)


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[int],
    *,
    y_label: str,
    x_label: str,
    notes: Sequence[str] | None = None,
) -> Markup:
    """One bar per label, its value written above it; `notes` are the bars' tooltips."""
    plot_bottom = _H - _BOTTOM
    left, right = _LEFT, _W - 24
    slot = (right - left) / max(len(labels), 1)
    maximum = nice_ceiling(max(values, default=0))
    y_of = _YScale(_TOP + 12, plot_bottom, maximum)
    parts = _open(chart_id, _W, _H, title, description)
    parts += _count_axis(left, right, y_of, maximum)
    for n, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + n * slot
        note = notes[n] if notes else f"{label}: {value}"
        parts.append(
            f'<rect x="{_num(x + slot * 0.15)}" y="{_num(y_of(value))}" '
            f'width="{_num(slot * 0.7)}" height="{_num(plot_bottom - y_of(value))}" '
            f'fill="{BAR}"><title>{escape(note)}</title></rect>'
        )
        if value:
            parts.append(_text(x + slot / 2, y_of(value) - 4, str(value), size=11, fill="#1d2330"))
        parts.append(_text(x + slot / 2, plot_bottom + 16, label, size=11))
    parts.append(_text((left + right) / 2, plot_bottom + 36, x_label))
    parts.append(_axis_title_left(y_label, _H))
    return _close(parts)


# Skill graph: one column per layer (longest prerequisite chain), prerequisites to the left.
_NODE_W, _NODE_H, _COL_GAP, _ROW_GAP, _GRAPH_TOP = 168, 38, 44, 10, 44
_LOW, _HIGH = (0xEE, 0xF3, 0xFB), (0x1F, 0x4E, 0x9C)
STATUS_NAMES = {
    "strong": N_("known well enough to unlock what builds on it"),
    "next": N_("open: up next"),
    "locked": N_("locked: its prerequisites come first"),
}


def mastery_colour(value: float) -> str:
    """A light-to-dark blue ramp (one hue: it reads in greyscale and to colour-blind eyes)."""
    t = min(max(value, 0.0), 1.0)
    r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(_LOW, _HIGH, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def skill_graph(
    chart_id: str,
    title: str,
    description: str,
    nodes: Sequence[SkillNode],
    *,
    words: Words = ENGLISH,
) -> Markup:
    """The skill graph as columns of boxes filled by mastery, with edges from each
    prerequisite; open skills to learn next have a thick orange border, locked ones a dashed
    grey one."""
    _ = words.gettext
    rows = _rows(nodes)
    columns = max((n.layer for n in nodes), default=0) + 1
    tallest = max((sum(1 for n in nodes if n.layer == c) for c in range(columns)), default=0)
    width = 16 + columns * (_NODE_W + _COL_GAP)
    height = _GRAPH_TOP + max(tallest, 1) * (_NODE_H + _ROW_GAP) + 8

    def corner(node: SkillNode) -> tuple[float, float]:
        return 16 + node.layer * (_NODE_W + _COL_GAP), _GRAPH_TOP + rows[node.skill_id] * (
            _NODE_H + _ROW_GAP
        )

    by_id = {n.skill_id: n for n in nodes}
    parts = _open(chart_id, width, height, title, description)
    parts += _graph_legend(words)
    parts.append('<g fill="none" stroke="#b7bdc9" stroke-width="1.2">')
    for node in nodes:
        x2, y2 = corner(node)
        for prerequisite in node.prerequisites:
            if prerequisite not in by_id:
                continue
            x1, y1 = corner(by_id[prerequisite])
            x1, y1, y2m = x1 + _NODE_W, y1 + _NODE_H / 2, y2 + _NODE_H / 2
            bend = (x2 - x1) / 2
            parts.append(
                f'<path d="M{_num(x1)} {_num(y1)} C{_num(x1 + bend)} {_num(y1)} '
                f'{_num(x2 - bend)} {_num(y2m)} {_num(x2)} {_num(y2m)}"/>'
            )
    parts.append("</g>")
    for node in nodes:
        x, y = corner(node)
        fill = "#f3f4f6" if node.status == "locked" else mastery_colour(node.mastery)
        dark = node.status != "locked" and node.mastery > 0.55
        ink = "#ffffff" if dark else ("#6b7280" if node.status == "locked" else "#1d2330")
        border = {
            "next": ' stroke="#E69F00" stroke-width="3"',
            "locked": ' stroke="#9aa1af" stroke-width="1" stroke-dasharray="4 3"',
        }.get(node.status, ' stroke="#1f4e9c" stroke-width="1"')
        tip = _(
            "%(skill)s (%(level)s): %(percent)s%% mastery, "
            "%(right)s of %(answered)s right; %(status)s"
        ) % {
            "skill": node.name,
            "level": node.level,
            "percent": round(node.mastery * 100),
            "right": node.right,
            "answered": node.attempts,
            "status": _(STATUS_NAMES[node.status]),
        }
        parts.append(
            f'<g class="skill-node" data-status="{escape(node.status)}">'
            f"<title>{escape(tip)}</title>"
            f'<rect x="{_num(x)}" y="{_num(y)}" width="{_NODE_W}" height="{_NODE_H}" rx="6" '
            f'fill="{fill}"{border}/>'
        )
        parts.append(_text(x + 8, y + 15, _short(node.name, 25), size=11, anchor="start", fill=ink))
        parts.append(
            _text(
                x + 8,
                y + 30,
                f"{node.level} · {round(node.mastery * 100)}%",
                size=10,
                anchor="start",
                fill=ink,
            )
        )
        parts.append("</g>")
    return _close(parts)


def _graph_legend(words: Words) -> list[str]:
    _ = words.gettext
    parts = [_text(16, 16, _("Mastery"), size=11, anchor="start")]
    for n in range(6):
        parts.append(
            f'<rect x="{70 + n * 18}" y="6" width="18" height="12" fill="{mastery_colour(n / 5)}"/>'
        )
    parts.append(_text(70, 32, "0%", size=10, anchor="start"))
    parts.append(_text(178, 32, "100%", size=10, anchor="end"))
    parts.append(
        '<rect x="200" y="5" width="26" height="14" rx="3" fill="#ffffff" stroke="#E69F00" '
        'stroke-width="3"/>'
    )
    parts.append(_text(232, 16, _("up next"), size=11, anchor="start"))
    parts.append(
        '<rect x="300" y="5" width="26" height="14" rx="3" fill="#f3f4f6" stroke="#9aa1af" '
        'stroke-dasharray="4 3"/>'
    )
    parts.append(_text(332, 16, _("locked"), size=11, anchor="start"))
    return parts


def _rows(nodes: Sequence[SkillNode]) -> dict[str, int]:
    """Row of each node in its column: by the mean row of its prerequisites (the barycentre
    heuristic, fewer crossings), then level and curriculum order."""
    rows: dict[str, int] = {}
    order = {n.skill_id: i for i, n in enumerate(nodes)}
    columns = max((n.layer for n in nodes), default=-1) + 1
    for column in range(columns):
        members = [n for n in nodes if n.layer == column]

        def key(node: SkillNode) -> tuple[float, int, int]:
            placed = [rows[p] for p in node.prerequisites if p in rows]
            centre = sum(placed) / len(placed) if placed else 0.0
            return centre, node.level.rank, order[node.skill_id]

        for row, node in enumerate(sorted(members, key=key)):
            rows[node.skill_id] = row
    return rows


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _date_ticks(start: date, end: date, count: int) -> list[date]:
    span = (end - start).days
    if span <= 0:
        return [start]
    step = max(1, math.ceil(span / (count - 1)))
    ticks = [start + timedelta(days=d) for d in range(0, span + 1, step)]
    if (end - ticks[-1]).days * 2 >= step:
        ticks.append(end)
    return ticks
