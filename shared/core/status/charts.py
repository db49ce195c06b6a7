"""The status page's charts as inline SVG, drawn on the server from plain values: no script, no external asset,
no ``style`` attribute (colours are classes of the page's one stylesheet, which the CSP names by its hash), every
text escaped. Pure (standard library only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

OUTCOME_ORDER = ("completed", "running", "starting", "waiting", "failed for now", "skipped", "rejected", "canceled",
                 "failed")
"""What became of runs (the words of ``shared.core.ledger.ledger_record.Outcome``, tests/status/test_charts.py ties
them), in stacking order, bottom first: done well, under way, not run, gone wrong; a word not listed (``unknown``,
an older tag's) stacks last."""
CHART_CSS = """
.chart{display:block;max-width:100%;height:auto}.chart text{font:13px system-ui,sans-serif;fill:#333}
.s-completed{fill:#2e7d32}.s-running{fill:#1565c0}.s-starting{fill:#6a1b9a}.s-waiting{fill:#00838f}
.s-failed-for-now{fill:#f9a825}.s-skipped{fill:#9e9e9e}.s-rejected{fill:#ef6c00}.s-canceled{fill:#6d4c41}
.s-failed{fill:#c62828}.s-other{fill:#555}.s-duration{fill:#37474f}.axis{stroke:#999}
"""
_WIDTH, _HEIGHT, _TOP, _BOTTOM, _LEFT = 720, 200, 16, 36, 40
_LEGEND_ROW, _LEGEND_STEP, _LEGEND_LINE = 6, 110, 18
"""Legend entries a row (the longest, ``failed for now``, fits in a step), and each row's height below the plot."""
DURATION_BARS = 60
"""Most recent runs the durations chart draws (one bar each)."""


def runs_per_day(per_day: Sequence[tuple[str, Mapping[str, int]]]) -> str:
    """Stacked bars: each day's runs by outcome, with a title per segment and a legend (a row per six outcomes
    shown, the chart taller by a row past the first)."""
    tallest = max((sum(counts.values()) for _day, counts in per_day), default=0) or 1
    step = (_WIDTH - _LEFT) / max(1, len(per_day))
    bars = []
    for index, (day, counts) in enumerate(per_day):
        x, base = _LEFT + index * step, float(_HEIGHT - _BOTTOM)
        for outcome in sorted(counts, key=_rank):
            height = counts[outcome] / tallest * (_HEIGHT - _TOP - _BOTTOM)
            base -= height
            bars.append(f'<rect class="s-{_kind(outcome)}" x="{x + 2:.1f}" y="{base:.1f}" width="{step - 4:.1f}" '
                        f'height="{height:.1f}"><title>{escape(day)}: {escape(outcome)} {counts[outcome]}</title>'
                        "</rect>")
        bars.append(f'<text x="{x + step / 2:.1f}" y="{_HEIGHT - _BOTTOM + 14}" text-anchor="middle">'
                    f"{escape(day[5:])}</text>")
    outcomes = sorted({outcome for _day, counts in per_day for outcome in counts}, key=_rank)
    rows = max(1, -(-len(outcomes) // _LEGEND_ROW))
    return _svg("runs-per-day", f"Runs per day by outcome, last {len(per_day)} days (UTC)", tallest,
                "".join(bars) + _legend(outcomes), _HEIGHT + (rows - 1) * _LEGEND_LINE)


def _legend(outcomes: Sequence[str]) -> str:
    entries = []
    for index, outcome in enumerate(outcomes):
        x, y = _LEFT + _LEGEND_STEP * (index % _LEGEND_ROW), _HEIGHT - 12 + _LEGEND_LINE * (index // _LEGEND_ROW)
        entries.append(f'<rect class="s-{_kind(outcome)}" x="{x}" y="{y}" width="10" height="10"></rect>'
                       f'<text x="{x + 14}" y="{y + 9}">{escape(outcome)}</text>')
    return "".join(entries)


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


def _svg(name: str, title: str, top: float, body: str, height: int = _HEIGHT) -> str:
    axis = (f'<line class="axis" x1="{_LEFT}" y1="{_HEIGHT - _BOTTOM}" x2="{_WIDTH}" y2="{_HEIGHT - _BOTTOM}"></line>'
            f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_HEIGHT - _BOTTOM}"></line>'
            f'<text x="{_LEFT - 4}" y="{_TOP + 4}" text-anchor="end">{top:g}</text>'
            f'<text x="{_LEFT - 4}" y="{_HEIGHT - _BOTTOM}" text-anchor="end">0</text>')
    return (f'<figure><svg class="chart" id="{name}" role="img" aria-labelledby="{name}-t" viewBox="0 0 {_WIDTH} '
            f'{height}" width="{_WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{name}-t">{escape(title)}</title>{axis}{body}</svg>'
            f"<figcaption>{escape(title)}</figcaption></figure>")


def _rank(outcome: str) -> int:
    return OUTCOME_ORDER.index(outcome) if outcome in OUTCOME_ORDER else len(OUTCOME_ORDER)


def _kind(outcome: str) -> str:
    """The outcome's colour class (``failed for now``: ``failed-for-now``); ``other`` for a word not listed."""
    return outcome.replace(" ", "-") if outcome in OUTCOME_ORDER else "other"
