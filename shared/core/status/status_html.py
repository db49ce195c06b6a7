"""The status page's HTML, from plain values: every value escaped here, one stylesheet whose hash the
Content-Security-Policy names, no script and no external asset. Pure (standard library only): the blob path
never imports it.

Every form posts back to the page's own URL (no ``action``): a browser keeps the ``?code=`` it was opened with
there, so the function key travels without the page ever writing it into its HTML or links.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from string import Template
from typing import Any

from shared.core.status.charts import CHART_CSS, durations, runs_per_day

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1rem 2rem;color:#1b1b1b;background:#fff}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.4rem 0}th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;
vertical-align:top}th{background:#f2f2f2}caption{text-align:left;font-weight:600;padding:.2rem 0}
.ok{color:#0a6b0a}.bad{color:#a40000;font-weight:600}.notice{border:1px solid #888;padding:.4rem .6rem;
background:#fffbe6}pre{background:#f6f6f6;padding:.5rem;overflow:auto;max-width:100%}
form.inline{display:inline}label{margin-right:.6rem}fieldset{border:1px solid #ccc;margin:.4rem 0}
table{max-width:100%}.long{display:inline-block;max-width:16rem;overflow:hidden;text-overflow:ellipsis;
white-space:nowrap;vertical-align:bottom}.error{display:inline-block;max-width:22rem;overflow-wrap:anywhere}
figure{margin:.4rem 0}.charts{display:flex;flex-wrap:wrap;gap:1rem}.charts figure{flex:1 1 30rem;min-width:0}
""" + CHART_CSS
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    + "'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
"""No script at all, the one inline stylesheet by its hash, forms only to this origin, never framed."""
PAGE_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY"}
"""``no-referrer``: the page's URL carries the function key; a studio link must not send it to ml.azure.com."""

_PAGE = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>AML pipeline trigger: status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>$style</style></head>
<body><h1>AML pipeline trigger: status</h1>
$notice
<main>
$sections
</main></body></html>
""")


@dataclass(frozen=True)
class View:
    """What the page shows, as plain values (rendered by ``page``)."""

    health: tuple[bool, Mapping[str, Any]] | None = None
    """Healthy or not and the health report; None on a refusal page."""
    filters: Mapping[str, str] = field(default_factory=dict)
    """The runs table's filters as the form holds them: owner (``rule:<name>``/``schedule:<name>``), state,
    since, until."""
    owners: Sequence[str] = ()
    states: Sequence[str] = ()
    rules: Sequence[Mapping[str, Any]] = ()
    schedules: Sequence[Mapping[str, Any]] = ()
    runs: Sequence[Mapping[str, Any]] = ()
    page: int = 1
    pages: int = 1
    matched: int = 0
    csrf: str | None = None
    """The Retry forms' token; None: the page is read-only (no secret configured)."""
    retry_off_reason: str | None = None
    explained: Mapping[str, Any] | None = None
    explain_blob: str = ""
    sweeps: Sequence[Mapping[str, Any]] = ()
    notice: str | None = None
    notice_ok: bool = True
    per_day: Sequence[tuple[str, Mapping[str, int]]] = ()
    """(UTC day, its records counted by state), oldest first: the runs-per-day chart."""
    durations: Sequence[tuple[str, float]] = ()
    """(record, seconds) of recent runs that ended, oldest first: the durations chart."""
    as_of: str | None = None
    """Whose time the runs and counts shown are from (``run_index.as_of_note``); None: not said."""


def page(view: View) -> str:
    """The whole document; ``view`` values are escaped wherever they land (text or attribute)."""
    sections = [] if view.health is None else [_health(view.health)]
    if view.health is not None and view.health[1].get("freshness"):
        sections.append(_freshness(view.health[1]["freshness"]))
    if view.owners or view.rules or view.schedules:
        sections += [_charts(view), _rules(view.rules), _schedules(view.schedules), _runs(view), _explain(view),
                     _sweeps(view.sweeps)]
    notice = "" if view.notice is None else (
        f'<p class="notice" role="status"><span class="{"ok" if view.notice_ok else "bad"}">'
        f"{escape(view.notice)}</span></p>")
    return _PAGE.substitute(style=STYLE, notice=notice, sections="\n".join(sections))


def _table(caption: str, headers: Sequence[str], rows: Iterable[Sequence[str]], empty: str) -> str:
    """A table with a caption and column headers; cells are already-escaped HTML."""
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return f"<p>{escape(empty)}</p>"
    head = "".join(f'<th scope="col">{escape(header)}</th>' for header in headers)
    return f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text(value: Any) -> str:
    if value is None or value == "":
        return ""
    return escape(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True))


def _ok(ok: bool) -> str:
    return '<span class="ok">ok</span>' if ok else '<span class="bad">failing</span>'


def _health(health: tuple[bool, Mapping[str, Any]]) -> str:
    healthy, report = health
    rows = []
    configuration = report.get("configuration", {})
    detail = configuration.get("problems") or {key: value for key, value in configuration.items() if key != "ok"}
    rows.append(("configuration", _ok(bool(configuration.get("ok"))), _text(detail)))
    for name in ("ledger", "watched_container"):
        if name in report:
            rows.append((escape(name.replace("_", " ")), _ok(report[name]["ok"]), _text(report[name].get("error"))))
    for scope, check in report.get("tokens", {}).items():
        rows.append((f"token for {escape(scope)}", _ok(check["ok"]), _text(check.get("error"))))
    if "dead_letters" in report:  # a count, not a check: events waiting for replay-dead-letters
        letters = report["dead_letters"]
        rows.append(("dead-lettered events waiting", _text(letters.get("waiting", "unknown")),
                     _text(letters.get("error") or f"in {letters['container']}; python -m cli replay-dead-letters")))
    return (f'<section aria-labelledby="health"><h2 id="health">Health: {"healthy" if healthy else "unhealthy"}'
            f"</h2>{_table('Checks', ('check', 'result', 'detail'), rows, 'no checks')}</section>")


def _freshness(expectations: Sequence[Mapping[str, Any]]) -> str:
    """Each freshness expectation and its last decided deadline (``/api/health``'s ``freshness``)."""
    rows = [(_text(item["rule"]), _text(item["folder"] or "(whole rule)"), f"<code>{_text(item['deadline'])}</code>",
             _text(item["min_files"]), _text(item.get("last_deadline")), _verdict(item),
             _text(item.get("files")), _text(item.get("since"))) for item in expectations]
    table = _table("Freshness expectations (UTC)", ("rule", "folder", "deadline", "files expected", "last deadline",
                                                    "verdict", "files", "since"), rows, "No expectations.")
    return f'<section aria-labelledby="freshness"><h2 id="freshness">Freshness</h2>{table}</section>'


def _verdict(item: Mapping[str, Any]) -> str:
    """An expectation's verdict, ``overdue`` marked as failing (and not yet decided: blank); a state that could not
    be read shows its error, marked as failing too."""
    shown = item.get("error", item.get("verdict"))
    return f'<span class="bad">{escape(shown)}</span>' if "error" in item or shown == "overdue" else _text(shown)


def _rules(rules: Sequence[Mapping[str, Any]]) -> str:
    rows = [(_text(rule["name"]), _text(rule["prefix"]), _text(rule["suffix"]), _text(rule["kind"]),
             _text(rule["host"]), _counts(rule["day"]), _counts(rule["week"]), _text(rule["last_run"]))
            for rule in rules]
    table = _table("Blob rules", ("rule", "prefix", "suffix", "target kind", "target host", "today (UTC)",
                                  "last 7 days (UTC)", "last run"), rows, "No blob rules.")
    return f'<section aria-labelledby="rules"><h2 id="rules">Rules</h2>{table}</section>'


def _counts(counts: Mapping[str, int]) -> str:
    return escape(", ".join(f"{state} {count}" for state, count in sorted(counts.items())) or "none")


def _schedules(schedules: Sequence[Mapping[str, Any]]) -> str:
    rows = [(_text(item["name"]), f"<code>{_text(item['expression'])}</code>",
             "<br>".join(_text(moment) for moment in item["next"]), _text(item["last_occurrence"]),
             _text(item["last_outcome"]), "enabled" if item["enabled"] else "disabled") for item in schedules]
    table = _table("Schedules (UTC)", ("schedule", "NCRONTAB", "next three", "last occurrence", "its outcome",
                                       "enabled"), rows, "No schedules.")
    return f'<section aria-labelledby="schedules"><h2 id="schedules">Schedules</h2>{table}</section>'


def _hidden(fields: Mapping[str, str]) -> str:
    return "".join(f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
                   for name, value in fields.items() if value)


def _select(name: str, label: str, options: Sequence[str], chosen: str) -> str:
    items = "".join(f'<option value="{escape(option)}"{" selected" if option == chosen else ""}>'
                    f"{escape(option or 'any')}</option>" for option in ("", *options))
    return f'<label for="f-{name}">{escape(label)}</label><select id="f-{name}" name="{name}">{items}</select>'


def _moment(name: str, label: str, value: str) -> str:
    return (f'<label for="f-{name}">{escape(label)}</label>'
            f'<input id="f-{name}" name="{name}" value="{escape(value)}" placeholder="2026-11-22T02:00:00Z" size="22">')


def _runs(view: View) -> str:
    chosen = view.filters
    form = ('<form method="post" id="filters"><fieldset><legend>Filter runs</legend>'
            + _select("owner", "Rule or schedule", view.owners, chosen.get("owner", ""))
            + _select("state", "Outcome", view.states, chosen.get("state", ""))
            + _moment("since", "Since", chosen.get("since", "")) + _moment("until", "Until", chosen.get("until", ""))
            + '<button type="submit" name="action" value="filter">Apply filters</button></fieldset>'
            + _pager(view) + "</form>")
    rows = [_run_row(run, view) for run in view.runs]
    table = _table(f"Runs {len(view.runs)} of {view.matched}, newest first",
                   ("time", "rule or schedule", "blob", "outcome", "run status", "duration", "studio", "attempts",
                    "error", "action"),
                   rows, "No runs match.")
    off = "" if view.csrf or not view.retry_off_reason else f"<p>{escape(view.retry_off_reason)}</p>"
    as_of = "" if view.as_of is None else f'<p class="as-of">{escape(view.as_of)}</p>'
    return f'<section aria-labelledby="runs"><h2 id="runs">Recent runs</h2>{as_of}{form}{off}{table}</section>'


def _charts(view: View) -> str:
    return (f'<section aria-labelledby="charts"><h2 id="charts">Runs at a glance</h2><div class="charts">'
            f"{runs_per_day(view.per_day)}{durations(view.durations)}</div></section>")


def _long(value: Any) -> str:
    """A long name cut to the column's width with an ellipsis; the whole of it in the title (hover, screen
    readers)."""
    text = _text(value)
    return f'<span class="long" title="{text}">{text}</span>' if text else ""


def _pager(view: View) -> str:
    buttons = [f'<span>page {view.page} of {view.pages}</span>']
    if view.page > 1:
        buttons.append(f'<button type="submit" name="page" value="{view.page - 1}">Newer</button>')
    if view.page < view.pages:
        buttons.append(f'<button type="submit" name="page" value="{view.page + 1}">Older</button>')
    return '<nav aria-label="Pages of runs">' + " ".join(buttons) + "</nav>"


def _run_row(run: Mapping[str, Any], view: View) -> list[str]:
    url = run.get("run_url")
    link = (f'<a href="{escape(url)}" rel="noreferrer noopener" target="_blank">studio</a>'
            if isinstance(url, str) and url.startswith("https://") else "")
    action = ""
    if run.get("state") in ("failed", "rejected") and view.csrf:
        what = f"{run['blob']} ({run['record']})" if run.get("blob") else run["record"]
        action = ('<form method="post" class="inline">' + _hidden({**view.filters, "record": run["record"],
                                                                  "csrf": view.csrf})
                  + f'<button type="submit" name="action" value="retry" aria-label="Retry {_text(what)}">'
                  "Retry</button></form>")
    error = _text(run.get("error"))
    return [_text(run.get("time")), _long(run.get("owner")), _long(run.get("blob")), _text(run.get("outcome")),
            _text(run.get("run_status")), _text(run.get("duration")), link, _text(run.get("attempts")),
            f'<span class="error">{error}</span>' if error else "", action]


def _explain(view: View) -> str:
    form = ('<form method="post" id="explain"><label for="f-blob">Blob path in the watched container</label>'
            f'<input id="f-blob" name="blob" value="{escape(view.explain_blob)}" size="50" required>'
            + _hidden(view.filters)
            + '<button type="submit" name="action" value="explain">Explain (sends nothing)</button></form>')
    answer = ""
    if view.explained is not None:
        shown = view.explained
        rows = [(_text(item.get("rule")), "yes" if item.get("matches") else "no",
                 _text(item.get("outcome") or item.get("reason"))) for item in shown.get("rules", [])]
        requests = "".join(f"<h3>{_text(item['rule'])} would send</h3><pre>{_text(_pretty(item['request']))}</pre>"
                           for item in shown.get("rules", []) if item.get("request"))
        answer = (f'<div id="explained"><p>{_text(shown.get("blob"))}: {_text(shown.get("outcome"))}</p>'
                  + _table("Rules for this blob", ("rule", "matches", "outcome or reason"), rows, "No rules.")
                  + requests + "</div>")
    return (f'<section aria-labelledby="explain-h"><h2 id="explain-h">Explain a blob</h2>{form}{answer}'
            "</section>")


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _sweeps(sweeps: Sequence[Mapping[str, Any]]) -> str:
    rows = [(_text(report.get("started_at")), _text(report.get("missing")), _text(report.get("processed")),
             _text(report.get("left_for_next_sweep")), _counts(report.get("outcomes") or {}),
             "<br>".join(_text(error) for error in report.get("errors") or ())) for report in sweeps]
    table = _table("Last sweeps, newest first", ("started", "missing", "processed", "left for next", "outcomes",
                                                 "errors"), rows, "No sweep has run yet.")
    return f'<section aria-labelledby="sweeps"><h2 id="sweeps">Catch-up sweeps</h2>{table}</section>'
