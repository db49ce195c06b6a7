"""The status page: health, rules, schedules, recent runs (filtered, paged), Retry, explain and the last sweeps,
over the same operations the JSON API and the command line call. triggers/http.py only moves bytes.

Reads: the run index (``shared.flows.run_index.viewed_index``: one read while its timer keeps it fresh; caught up
by the view after a Retry, so the page shows what it did) gives the first pages of runs, the counts, the charts
and the rules' last runs, as of its last catch-up (the page says when); a schedule's last outcome is its row there
or one read; a filtered page, or one past the index, lists the ledger and reads only the records it shows; plus the
last few sweep reports.

Retry changes state, so only a POST takes it (a GET asking for it is answered 405, Allow: POST). It is guarded
against cross-site requests: the page sets a random session cookie (``SameSite=Strict``, ``HttpOnly``) and each
Retry form carries an HMAC of it under ``STATUS_PAGE_SECRET``; a Retry whose token does not match its cookie is
refused (403) before anything is read. Without the secret the page is read-only.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from azure.core.exceptions import AzureError

from shared.clients.process.services import Services
from shared.core.common.errors import InvalidInput, TriggerError
from shared.core.config import settings
from shared.core.ledger.keys import (
    RecordName,
    manual_namespace,
    parse_iso,
    record_name,
    rule_namespace,
    schedule_namespace,
    schedule_occurrence_key,
)
from shared.core.ledger.ledger_record import LedgerRecord, Outcome
from shared.core.ledger.subjects import UnreadableRecord
from shared.core.run_index import run_index
from shared.core.run_index.run_index import RECENT_ROWS, Summary
from shared.core.status.status_html import PAGE_HEADERS, View, page
from shared.flows.manual.manual_runs import http_deadline
from shared.flows.run_index.run_index import viewed_index
from shared.operations.http.explain import explain
from shared.operations.http.health import health
from shared.operations.http.http_api import MAX_REQUEST_BYTES, error_body
from shared.operations.http.records import listed_runs, read_runs, retry

PAGE_SIZE = 25
"""Runs per page: the first pages come from the run index; a filtered or older page reads each one shown."""
CHART_DAYS = 14
"""Days the runs-per-day chart shows."""
SWEEPS_SHOWN = 3
MIN_SECRET_CHARS = 32
SESSION_COOKIE = "aml_status_session"
_SESSION = re.compile(r"[0-9a-f]{32}")
_OUTCOMES = tuple(outcome.value for outcome in Outcome)
"""The runs table's state filter: what became of a run, the words its column, the chart and the rules and
schedules tables use (the form field keeps its name, ``state``)."""
FORM_FIELDS = ("action", "owner", "state", "since", "until", "page", "record", "csrf", "blob")
"""What the page's forms send (and a GET's query string may carry); the host's own ``code`` is ignored."""
STATE_CHANGING_ACTIONS = ("retry",)
"""Actions that change state: only a POST takes them (a GET may be a prefetch, a link or a crawler)."""


@dataclass(frozen=True)
class PageRequest:
    method: str
    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    cookie: str | None = None


@dataclass(frozen=True)
class PageResponse:
    status: int
    body: str
    headers: dict[str, str]


def respond(request: PageRequest, *, env: Mapping[str, str], services: Callable[[], Services],
            now: datetime, new_session: Callable[[], str]) -> PageResponse:
    """The page for one GET or POST. ``services`` is called only once health says the configuration loads."""
    session = _session(request.cookie)
    headers = dict(PAGE_HEADERS)
    if session is None:
        session = new_session()
        secure = "; Secure" if request.url.startswith("https://") else ""
        headers["Set-Cookie"] = f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict{secure}"
    secret, retry_off = _secret(env)
    try:
        fields = _fields(request)
    except InvalidInput as error:
        return PageResponse(400, page(View(notice=str(error), notice_ok=False)), headers)
    if fields.get("action") in STATE_CHANGING_ACTIONS and request.method != "POST":
        notice = f"{fields['action'].capitalize()} changes state: it is sent by the page's form (POST), never by a GET."
        return PageResponse(405, page(View(notice=notice, notice_ok=False)), {**headers, "Allow": "POST"})
    if fields.get("action") == "retry" and not _token_matches(secret, request.cookie, fields.get("csrf", "")):
        notice = ("Retry refused: this form's token does not match your session (reload the page and try again)."
                  if secret else f"Retry refused: {retry_off}")
        return PageResponse(403, page(View(notice=notice, notice_ok=False)), headers)
    healthy, report = health(env)
    if not report.get("configuration", {}).get("ok"):
        return PageResponse(503, page(View(health=(healthy, report))), headers)
    view = _view(services(), fields, now, csrf=_token(secret, session) if secret else None)
    return PageResponse(200, page(View(**{**view, "health": (healthy, report), "retry_off_reason": retry_off})),
                        headers)


def _view(services: Services, fields: dict[str, str], now: datetime, csrf: str | None) -> dict[str, Any]:
    notice, notice_ok, explained, retried = None, True, None, False
    action = fields.get("action")
    try:
        if action == "retry":
            decision = retry(services, record=fields.get("record", ""),
                                     deadline=http_deadline(services))
            notice, retried = f"Retried {fields['record']}: {decision.outcome.value}", True
        elif action == "explain":
            explained = explain(services, blob=fields.get("blob", ""))
    except (TriggerError, AzureError) as error:
        said = error_body(error)
        notice, notice_ok = f"{action} failed: {said.get('error') or said.get('reason')}", False
    viewed = viewed_index(services, catch_up=retried)
    index = viewed.summary
    filters = {name: fields.get(name, "") for name in ("owner", "state", "since", "until")}
    number = _page_number(fields.get("page", "1"))
    listed = any(filters.values()) or number * PAGE_SIZE > RECENT_ROWS
    try:
        runs, matched = _listed_page(services, filters, number) if listed else _indexed_page(index, number)
    except TriggerError as error:
        notice, notice_ok, listed = f"filters not applied: {error}", False, False
        runs, matched = _indexed_page(index, 1)
    pages = max(1, math.ceil(matched / PAGE_SIZE))
    return {"filters": filters, "owners": _owners(services), "states": _OUTCOMES, "rules": _rules(services, index, now),
            "schedules": _schedules(services, index, now), "runs": [_row(run) for run in runs],
            "page": min(pages, number), "pages": pages, "matched": matched, "csrf": csrf, "explained": explained,
            "explain_blob": fields.get("blob", ""), "sweeps": _sweeps(services), "notice": notice,
            "notice_ok": notice_ok, "per_day": run_index.per_day(index, run_index.days_back(now, CHART_DAYS)),
            "durations": _durations(index),
            "as_of": viewed.note(services.config, listed=listed)}


def _indexed_page(index: Summary, number: int) -> tuple[list[dict[str, Any]], int]:
    """A page of the newest runs from the run index: no record read, the total from its day counts."""
    rows = index["rows"]
    matched = max(run_index.total(index), len(rows))
    number = min(number, max(1, math.ceil(len(rows) / PAGE_SIZE)))
    return rows[(number - 1) * PAGE_SIZE:number * PAGE_SIZE], matched


def _listed_page(services: Services, filters: Mapping[str, str], number: int) -> tuple[list[dict[str, Any]], int]:
    """A filtered page, or one older than the index keeps: from the ledger's listing (a request per 5,000
    records), only the records shown read."""
    matched = listed_runs(services, **_filter_arguments(filters))
    pages = max(1, math.ceil(len(matched) / PAGE_SIZE))
    number = min(pages, number)
    return read_runs(services, matched[(number - 1) * PAGE_SIZE:number * PAGE_SIZE]), len(matched)


def _durations(index: Summary) -> list[tuple[str, float]]:
    """(record, seconds) of the index's recent runs that ended with a duration, oldest first."""
    return [(row["record"], float(seconds)) for row in reversed(index["rows"])
            if isinstance(seconds := (row.get("run") or {}).get("duration_seconds"), int | float)
            and not isinstance(seconds, bool)]


def _fields(request: PageRequest) -> dict[str, str]:
    """The form's fields (a POST's urlencoded body over the query string); anything else is ignored."""
    fields = {name: value for name, value in request.params.items() if name in FORM_FIELDS}
    if request.method == "POST":
        if len(request.body) > MAX_REQUEST_BYTES:
            raise InvalidInput(f"form is {len(request.body):,} bytes; at most {MAX_REQUEST_BYTES:,}")
        try:
            posted = parse_qs(request.body.decode("utf-8"), keep_blank_values=True, max_num_fields=len(FORM_FIELDS))
        except (UnicodeDecodeError, ValueError) as error:
            raise InvalidInput(f"form is not UTF-8 urlencoded fields: {error}") from None
        fields.update({name: values[-1] for name, values in posted.items() if name in FORM_FIELDS})
    return {name: value.strip() for name, value in fields.items()}


def _filter_arguments(filters: Mapping[str, str]) -> dict[str, Any]:
    kind, _, owner = filters["owner"].partition(":")
    return {"rule": owner if kind == "rule" else None, "schedule": owner if kind == "schedule" else None,
            "outcome": _outcome_filter(filters["state"]), "since": filters["since"] or None,
            "until": filters["until"] or None}


def _outcome_filter(text: str) -> Outcome | None:
    if not text:
        return None
    if text not in _OUTCOMES:
        raise InvalidInput(f"state must be one of {', '.join(_OUTCOMES)}")
    return Outcome(text)


def _page_number(text: str) -> int:
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 7 and int(text) > 0 else 1


def _owners(services: Services) -> list[str]:
    return ([f"rule:{rule.name}" for rule in services.config.rules]
            + [f"schedule:{schedule.name}" for schedule in services.config.schedules])


def _owner(name: str) -> str:
    """``rule:<name>``, ``schedule:<name>`` or ``manual:<rule>`` of a record name; a name of another shape (one this
    app did not write) is shown as it is, so its row is still there to see."""
    try:
        parsed = RecordName.parse(name)
    except ValueError:
        return name
    return f"{parsed.kind.removesuffix('s')}:{parsed.owner}"


def _rules(services: Services, index: Summary, now: datetime) -> list[dict[str, Any]]:
    """Each rule with its target and its records' states (its manual runs included) today and over 7 days (UTC
    days, from the run index's counts)."""
    answer = []
    for rule in services.config.rules:
        owners = (rule_namespace(rule.name), manual_namespace(rule.name))
        last = max((index["last"].get(owner, "") for owner in owners), default="")
        answer.append({"name": rule.name, "prefix": rule.watch.prefix, "suffix": rule.watch.suffix,
                       "kind": rule.run.target.kind.value, "host": _host(rule.run.target.url),
                       "day": run_index.states_since(index, owners, run_index.day_of(now)),
                       "week": run_index.states_since(index, owners, run_index.day_of(now - timedelta(days=6))),
                       "last_run": _iso(parse_iso(last)) if last else "never"})
    return answer


def _schedules(services: Services, index: Summary, now: datetime) -> list[dict[str, Any]]:
    """Each schedule: its next three occurrences, and the last one with what became of its run (the index's row of
    it, else one read)."""
    answer = []
    for schedule in services.config.schedules:
        upcoming: list[str] = []
        moment: datetime | None = now
        while moment is not None and len(upcoming) < 3:
            moment = schedule.cron.earliest_after(moment)
            if moment is not None:
                upcoming.append(_iso(moment))
        last = schedule.cron.latest_at_or_before(now)
        outcome = _outcome(services, index, record_name(schedule_namespace(schedule.name),
                                                      schedule_occurrence_key(schedule.name, last))) if last else ""
        answer.append({"name": schedule.name, "expression": schedule.cron.expression, "next": upcoming,
                       "last_occurrence": _iso(last) if last else "never", "last_outcome": outcome,
                       "enabled": schedule.enabled})
    return answer


def _outcome(services: Services, index: Summary, name: str) -> str:
    """What became of a record's run, in the words the chart and the rules table use (``completed``, ``running``,
    ``failed for now``, ...): from the index's rows when it is there, else read; ``no record`` when there is none."""
    shown = next((row for row in index["rows"] if row["record"] == name), None)
    found = shown if shown is not None else (read[0] if (read := services.ledger.read(name)) else None)
    return "no record" if found is None else _outcome_word(found, name)


def _outcome_word(found: Mapping[str, Any], name: str) -> str:
    """A record's (or its row's) ``outcome_word``; ``unknown`` for one that does not read as a record."""
    try:
        word = LedgerRecord.from_json(found, name).outcome_word
    except UnreadableRecord:
        word = None
    return "unknown" if word is None else word.value


def _row(run: Mapping[str, Any]) -> dict[str, Any]:
    """A listed run as the table shows it: its run's status and duration in Azure ML once the record knows them,
    and Azure ML's error for a run that failed there."""
    subject = run.get("subject") or {}
    found = run.get("run")
    outcome: Mapping[str, Any] = found if isinstance(found, dict) else {}
    error = outcome.get("error")
    failed_in_azure_ml = error.get("message") if isinstance(error, dict) else None
    return {"record": run["record"], "time": run.get("updated_at"), "owner": _owner(run["record"]),
            "blob": subject.get("blob") if isinstance(subject, dict) else None, "state": run.get("state"),
            "outcome": _outcome_word(run, run["record"]),
            "run_status": outcome.get("status"), "duration": _duration(outcome.get("duration_seconds")),
            "run_url": run.get("run_url"), "attempts": run.get("attempts"),
            "error": (run.get("reason") or run.get("error")) if run.get("state") != "submitted" else failed_in_azure_ml}


def _duration(seconds: Any) -> str | None:
    """A run's duration as people read it: 42 s, 3 min 5 s, 2 h 1 min."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return None
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def _sweeps(services: Services) -> list[dict[str, Any]]:
    """The last sweep reports, newest first: their names sort by start time, so only those few are read."""
    names = sorted(blob.name for page_ in services.ledger.listing("state/sweeps/") for blob in page_)
    return [found[0] for name in reversed(names[-SWEEPS_SHOWN:]) if (found := services.ledger.read(name))]


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _secret(env: Mapping[str, str]) -> tuple[bytes | None, str | None]:
    """The CSRF key, or why Retry is off. The reason names the setting, never its value."""
    value = settings.STATUS_PAGE_SECRET.read(env)
    if not value:
        return None, f"Retry is off: set {settings.STATUS_PAGE_SECRET.name} to enable it."
    if len(value) < MIN_SECRET_CHARS:
        return None, f"Retry is off: {settings.STATUS_PAGE_SECRET.name} is shorter than {MIN_SECRET_CHARS} characters."
    return value.encode(), None


def _session(cookie: str | None) -> str | None:
    if not cookie:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie)
    except Exception:  # http.cookies raises CookieError on a malformed header: a new session then
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel is not None and _SESSION.fullmatch(morsel.value) else None


def _token(secret: bytes, session: str) -> str:
    return hmac.new(secret, f"status-retry\n{session}".encode(), hashlib.sha256).hexdigest()


def _token_matches(secret: bytes | None, cookie: str | None, token: str) -> bool:
    session = _session(cookie)
    return secret is not None and session is not None and hmac.compare_digest(_token(secret, session), token)
