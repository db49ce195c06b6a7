"""The status page's charts as inline SVG, drawn on the server from plain values: no script, no external asset,
no ``style`` attribute (colours are classes of the page's one stylesheet, which the CSP names by its hash), every
text escaped. Pure (standard library only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

STATE_ORDER = ("submitted", "waiting", "claimed", "skipped", "rejected", "failed")
"""Stacking order, bottom first; a state not listed (``unknown``) stacks last."""
CHART_CSS = """
.chart{display:block;max-width:100%;height:auto}.chart text{font:13px system-ui,sans-serif;fill:#333}
.s-submitted{fill:#2e7d32}.s-waiting{fill:#1565c0}.s-claimed{fill:#6a1b9a}.s-skipped{fill:#9e9e9e}
.s-rejected{fill:#ef6c00}.s-failed{fill:#c62828}.s-other{fill:#555}.s-duration{fill:#37474f}.axis{stroke:#999}
"""
_WIDTH, _HEIGHT, _TOP, _BOTTOM, _LEFT = 720, 200, 16, 36, 40
DURATION_BARS = 60
"""Most recent runs the durations chart draws (one bar each)."""


def runs_per_day(per_day: Sequence[tuple[str, Mapping[str, int]]]) -> str:
    """Stacked bars: each day's records by state, with a title per segment and a legend."""
    tallest = max((sum(counts.values()) for _day, counts in per_day), default=0) or 1
    step = (_WIDTH - _LEFT) / max(1, len(per_day))
    bars = []
    for index, (day, counts) in enumerate(per_day):
        x, base = _LEFT + index * step, float(_HEIGHT - _BOTTOM)
        for state in sorted(counts, key=_rank):
            height = counts[state] / tallest * (_HEIGHT - _TOP - _BOTTOM)
            base -= height
            bars.append(f'<rect class="s-{_kind(state)}" x="{x + 2:.1f}" y="{base:.1f}" width="{step - 4:.1f}" '
                        f'height="{height:.1f}"><title>{escape(day)}: {escape(state)} {counts[state]}</title></rect>')
        bars.append(f'<text x="{x + step / 2:.1f}" y="{_HEIGHT - _BOTTOM + 14}" text-anchor="middle">'
                    f"{escape(day[5:])}</text>")
    states = sorted({state for _day, counts in per_day for state in counts}, key=_rank)
    legend = "".join(f'<rect class="s-{_kind(state)}" x="{_LEFT + 110 * i}" y="{_HEIGHT - 12}" width="10" height="10">'
                     f'</rect><text x="{_LEFT + 110 * i + 14}" y="{_HEIGHT - 3}">{escape(state)}</text>'
                     for i, state in enumerate(states))
    return _svg("runs-per-day", f"Runs per day by state, last {len(per_day)} days (UTC)", tallest,
                "".join(bars) + legend)


def durations(runs: Sequence[tuple[str, float]]) -> str:
    """One bar per recent run that ended, its height its duration, its record and duration in its title."""
    shown = list(runs)[-DURATION_BARS:]
    longest = max((seconds for _record, seconds in shown), default=0) or 1
    step = (_WIDTH - _LEFT) / max(1, len(shown))
    bars = "".join(
        f'<rect class="s-duration" x="{_LEFT + index * step + 1:.1f}" '
        f'y="{_HEIGHT - _BOTTOM - seconds / longest * (_HEIGHT - _TOP - _BOTTOM):.1f}" width="{max(1, step - 2):.1f}" '
        f'height="{seconds / longest * (_HEIGHT - _TOP - _BOTTOM):.1f}"><title>{escape(record)}: '
        f"{seconds:.0f} s</title></rect>" for index, (record, seconds) in enumerate(shown))
    return _svg("durations", f"Run durations in Azure ML, last {len(shown)} runs that ended (seconds)", longest,
                bars)


def _svg(name: str, title: str, top: float, body: str) -> str:
    axis = (f'<line class="axis" x1="{_LEFT}" y1="{_HEIGHT - _BOTTOM}" x2="{_WIDTH}" y2="{_HEIGHT - _BOTTOM}"></line>'
            f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_HEIGHT - _BOTTOM}"></line>'
            f'<text x="{_LEFT - 4}" y="{_TOP + 4}" text-anchor="end">{top:g}</text>'
            f'<text x="{_LEFT - 4}" y="{_HEIGHT - _BOTTOM}" text-anchor="end">0</text>')
    return (f'<figure><svg class="chart" id="{name}" role="img" aria-labelledby="{name}-t" viewBox="0 0 {_WIDTH} '
            f'{_HEIGHT}" width="{_WIDTH}" height="{_HEIGHT}" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{name}-t">{escape(title)}</title>{axis}{body}</svg>'
            f"<figcaption>{escape(title)}</figcaption></figure>")


def _rank(state: str) -> int:
    return STATE_ORDER.index(state) if state in STATE_ORDER else len(STATE_ORDER)


def _kind(state: str) -> str:
    return state if state in STATE_ORDER else "other"
