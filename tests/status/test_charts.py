"""The status page's charts (shared/core/status/charts.py) drawn from small inputs whose geometry is worked out by
hand: a 720 x 200 box, the plot from x=40 to 720 and y=16 to 164 (148 high), bars scaled to the tallest."""

from __future__ import annotations

import pytest

from shared.core.ledger.ledger_record import Outcome
from shared.core.status.charts import CHART_CSS, OUTCOME_ORDER, durations, runs_per_day

pytestmark = pytest.mark.unit

FRAME = ('<line class="axis" x1="40" y1="164" x2="720" y2="164"></line>'
         '<line class="axis" x1="40" y1="16" x2="40" y2="164"></line>')


def _figure(name: str, title: str, top: str, body: str) -> str:
    return (f'<figure><svg class="chart" id="{name}" role="img" aria-labelledby="{name}-t" viewBox="0 0 720 200" '
            f'width="720" height="200" xmlns="http://www.w3.org/2000/svg"><title id="{name}-t">{title}</title>'
            f'{FRAME}<text x="36" y="20" text-anchor="end">{top}</text><text x="36" y="164" text-anchor="end">0'
            f"</text>{body}</svg><figcaption>{title}</figcaption></figure>")


def test_runs_per_day_stack_each_days_outcomes_in_order_unknown_ones_last_with_a_legend() -> None:
    # Two days, 340 wide each; the tallest day holds 4: completed 3 is 111 high, failed 1 is 37, the other day's 2
    # runs of an unknown outcome 74.
    drawn = runs_per_day([("2026-12-06", {"failed": 1, "completed": 3}), ("2026-12-07", {"we<ird": 2})])
    body = ('<rect class="s-completed" x="42.0" y="53.0" width="336.0" height="111.0"><title>2026-12-06: completed 3'
            '</title></rect><rect class="s-failed" x="42.0" y="16.0" width="336.0" height="37.0"><title>2026-12-06: '
            'failed 1</title></rect><text x="210.0" y="178" text-anchor="middle">12-06</text>'
            '<rect class="s-other" x="382.0" y="90.0" width="336.0" height="74.0"><title>2026-12-07: we&lt;ird 2'
            '</title></rect><text x="550.0" y="178" text-anchor="middle">12-07</text>'
            '<rect class="s-completed" x="40" y="188" width="10" height="10"></rect><text x="54" y="197">completed'
            '</text><rect class="s-failed" x="150" y="188" width="10" height="10"></rect><text x="164" y="197">failed'
            '</text><rect class="s-other" x="260" y="188" width="10" height="10"></rect><text x="274" y="197">'
            "we&lt;ird</text>")
    assert drawn == _figure("runs-per-day", "Runs per day by outcome, last 2 days (UTC)", "4", body)


def test_every_outcome_a_record_is_tagged_with_has_its_own_colour_in_stacking_order() -> None:
    order = ("completed", "running", "starting", "waiting", "failed for now", "skipped", "rejected", "canceled",
             "failed")
    assert set(OUTCOME_ORDER) == {outcome.value for outcome in Outcome} and order == OUTCOME_ORDER
    drawn = runs_per_day([("2026-12-07", {outcome: 1 for outcome in reversed(order)})])
    classes = [part.split('"')[0] for part in drawn.split('<rect class="s-')[1:10]]
    assert classes == [outcome.replace(" ", "-") for outcome in order]
    assert all(f".s-{kind}{{fill:#" in CHART_CSS for kind in classes)
    assert '<title>2026-12-07: failed for now 1</title>' in drawn


def test_the_legend_takes_six_outcomes_a_row_and_the_chart_grows_by_a_row_for_more() -> None:
    six = runs_per_day([("2026-12-07", dict.fromkeys(OUTCOME_ORDER[:6], 1))])
    seven = runs_per_day([("2026-12-07", dict.fromkeys(OUTCOME_ORDER[:7], 1))])
    assert 'viewBox="0 0 720 200" width="720" height="200"' in six and '<text x="604" y="197">skipped</text>' in six
    assert 'viewBox="0 0 720 218" width="720" height="218"' in seven
    assert ('<rect class="s-rejected" x="40" y="206" width="10" height="10"></rect><text x="54" y="215">rejected'
            '</text>') in seven


def test_durations_draw_one_bar_per_run_scaled_to_the_longest() -> None:
    # Two bars 340 wide; 120.4 s is the full 148, 30 s is 30 / 120.4 * 148 = 36.9 of it.
    drawn = durations([("r<1", 30.0), ("r2", 120.4)])
    body = ('<rect class="s-duration" x="41.0" y="127.1" width="338.0" height="36.9"><title>r&lt;1: 30 s</title>'
            '</rect><rect class="s-duration" x="381.0" y="16.0" width="338.0" height="148.0"><title>r2: 120 s'
            "</title></rect>")
    assert drawn == _figure("durations", "Run durations in Azure ML, last 2 runs that ended (seconds)", "120.4",
                            body)


def test_durations_show_the_sixty_most_recent_runs() -> None:
    runs = [(f"r{n}", 100.0 if n == 0 else 10.0) for n in range(61)]
    drawn = durations(runs)
    assert "last 60 runs" in drawn and "<title>r0: " not in drawn and "<title>r60: 10 s</title>" in drawn
    assert '<text x="36" y="20" text-anchor="end">10</text>' in drawn
    assert '<rect class="s-duration" x="41.0" y="16.0" width="9.3" height="148.0"><title>r1: 10 s' in drawn


def test_empty_charts_still_draw_their_frame_scaled_to_one() -> None:
    assert runs_per_day([]) == _figure("runs-per-day", "Runs per day by outcome, last 0 days (UTC)", "1", "")
    assert durations([]) == _figure("durations", "Run durations in Azure ML, last 0 runs that ended (seconds)", "1",
                                    "")
    zero = runs_per_day([("2026-12-07", {})])
    assert '<text x="36" y="20" text-anchor="end">1</text>' in zero and "<rect" not in zero


def test_one_run_or_one_day_takes_the_whole_width() -> None:
    assert '<rect class="s-duration" x="41.0" y="16.0" width="678.0" height="148.0">' in durations([("r1", 5.0)])
    assert '<rect class="s-running" x="42.0" y="16.0" width="676.0" height="148.0">' in runs_per_day(
        [("2026-12-07", {"running": 2})])
