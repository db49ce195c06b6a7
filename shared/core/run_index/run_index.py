"""The run index: one small document (``index/summary.json`` in the ledger container) that answers the first pages
of the status page and of ``runs`` at a cost that does not grow with the ledger's history.

It holds the newest ``RECENT_ROWS`` records as a listing shows them, each day's runs (by the day each was first
claimed) counted by owner and outcome, and each owner's last change. The records stay the truth: nothing that
decides a run reads the index, and a lost or stale index is rebuilt from one listing of the records (``rebuilt``).
Pure: the caller reads storage and the clock.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from shared.core.common.errors import UnreadableJson
from shared.core.common.json_input import Limits, read_json
from shared.core.common.redaction import masked
from shared.core.ledger.keys import DAY_TAG, STATE_TAG, UPDATED_TAG, RecordName, iso_ms

SUMMARY_NAME = "index/summary.json"
"""Where the run index lives in the ledger container (outside every record prefix)."""
SCHEMA = 2
"""2: a day counts the runs first claimed on it, by outcome (1 counted a record on its last write's day, by
state): an index of another schema is rebuilt once."""
RECENT_ROWS = 200
"""Records the index keeps as rows: eight pages of the status page, the default ``runs`` listing four times."""
OVERLAP = timedelta(minutes=10)
"""How far before its watermark a catch-up looks again: the tag index is eventually consistent and each writer
stamps ``updated_at`` by its own clock, so a change may show up late or dated a little early."""
_SHOWN_FIELDS = ("state", "reason", "run_id", "run_url", "attempts", "retryable", "subject", "updated_at", "error",
                 "run")


SUMMARY_LIMITS = Limits(max_bytes=8 * 1024 * 1024, max_depth=64)
"""What a stored index may hold: 200 rows of records (a record's error and parameters included) and a year of
day counts fit in a few MiB; rows nest as deep as the records they show."""


Summary = dict[str, Any]
"""``{"schema", "watermark", "rows": [record summaries, newest first], "seen": {row's record: its last write as
its tag says}, "days": {day: {owner: {outcome: n}}}, "last": {owner: updated_at}, "caught_up_at",
"caught_up_by"}``: JSON as
stored."""
CAUGHT_UP_BY = "caught_up_by"
"""``timer`` or ``view``: who made the last catch-up, so a later view served the index as stored does not credit
the timer with a catch-up a view made (locally, where no timer runs)."""
CAUGHT_UP_AT = "caught_up_at"
"""When the catch-up that wrote the index began (its writer's clock): it changes on every catch-up, so each one
writes the index and its Last-Modified tells a view how old it is."""


def summary_from(data: bytes) -> Summary:
    """The stored index, read bounded and checked; ``{}`` (rebuilt, never an error) when it is not JSON, is too
    large or too deep, or is not the shape this schema writes: the index is a cache of the records."""
    try:
        document = read_json(data, source=SUMMARY_NAME, limits=SUMMARY_LIMITS)
    except UnreadableJson:
        return {}
    return document if well_formed(document) else {}


def well_formed(document: Any) -> bool:
    """Whether ``document`` is a summary of this ``SCHEMA`` with every key a reader uses, of its type."""
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        return False
    rows, seen, days, last = (document.get(key) for key in ("rows", "seen", "days", "last"))
    return (isinstance(document.get("watermark"), str) and isinstance(rows, list)
            and all(isinstance(row, dict) and isinstance(row.get("record"), str) for row in rows)
            and _texts(seen) and _texts(last) and isinstance(days, dict)
            and all(isinstance(owners, dict) and all(_counts(states) for states in owners.values())
                    for owners in days.values()))


def _texts(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(text, str) for text in value.values())


def _counts(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(count, int) and not isinstance(count, bool)
                                           for count in value.values())


def written_at(tags: Mapping[str, str] | None, last_modified: datetime) -> str:
    """A listed record's last write, the key both the index and a listing order runs by: the ``aml_updated`` tag
    that write carried (to the millisecond: an outcome's write moves it, ``updated_at`` stays), else, for a record
    written before the index's tags, its Last-Modified (whole seconds)."""
    return (tags or {}).get(UPDATED_TAG) or iso_ms(last_modified)


def newest_first(written: str, record: str) -> tuple[str, str]:
    """The sort key (reversed) of runs as every path lists them: by last write, ties by record name."""
    return written, record


def record_summary(name: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as a listing shows it: secrets masked (an error Azure ML echoed, a manual run's secret parameter),
    the record itself unchanged; the run link keeps its workspace query."""
    shown = {field: record[field] for field in _SHOWN_FIELDS if record.get(field) is not None}
    return {"record": name, **{field: value if field == "run_url" else masked(value, name=field)
                               for field, value in shown.items()}}


class Change(NamedTuple):
    """A record a changed-since query found: its name, its last write's time and its day (``DAY_TAG``)."""

    record: str
    written: str
    day: str


def changed_query(since: str) -> str:
    """Find Blobs by Tags: the run records changed after ``since``, each with the time of its change and its day.
    The service answers each blob with the tags its expression names only ("only the tags appearing in the
    expression will be returned", learn.microsoft.com/dotnet/api/azure.storage.blobs.blobserviceclient
    .findblobsbytags), so it names the day too; Azurite answers them as well (tests/run_index/test_run_index.py)."""
    return f"\"{UPDATED_TAG}\">'{since}' AND \"{DAY_TAG}\">='0'"


def day_query(day: str) -> str:
    """Find Blobs by Tags: the runs of ``day`` (first claimed on it), each with its outcome."""
    return f"\"{DAY_TAG}\"='{day}' AND \"{STATE_TAG}\">='0'"


def since(summary: Summary) -> str:
    """Where the next catch-up looks from: ``OVERLAP`` before the newest change the index has seen."""
    watermark = datetime.fromisoformat(str(summary["watermark"]).replace("Z", "+00:00"))
    return (watermark - OVERLAP).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stale(summary: Summary, found: Iterable[Change]) -> list[Change]:
    """Of the changes a changed-since query found, those the index has not seen."""
    seen = summary["seen"]
    return [change for change in found if seen.get(change.record) != change.written]


def newest(changes: Iterable[Change]) -> list[Change]:
    """The changes that can be among the index's rows: the ``RECENT_ROWS`` newest (the order runs list in); any
    older one would rank below them all, so it is never read."""
    return sorted(changes, key=lambda change: newest_first(change.written, change.record),
                  reverse=True)[:RECENT_ROWS]


def day_counts(found: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """One day's (record, outcome) pairs counted by owner (``rules/<rule>``, ...) and outcome."""
    counts: dict[str, Counter[str]] = {}
    for name, state in found:
        counts.setdefault(RecordName.parse(name).namespace, Counter())[state] += 1
    return {owner: dict(sorted(states.items())) for owner, states in sorted(counts.items())}


def caught_up(summary: Summary, rows: Iterable[dict[str, Any]], seen: Mapping[str, str],
              days: Mapping[str, dict[str, dict[str, int]]], watermark: str, oldest_day: str) -> Summary:
    """``summary`` with newer ``rows`` (replacing a record's older row) and when each was ``seen`` written,
    recounted ``days``, each owner's last change; days before ``oldest_day`` (deleted by retention) dropped."""
    rows = list(rows)
    merged = {row["record"]: row for row in summary["rows"]}
    merged.update({row["record"]: row for row in rows})
    written = {**summary["seen"], **seen}
    newest = sorted(merged.values(), reverse=True, key=lambda row: newest_first(
        written.get(row["record"]) or str(row.get("updated_at") or ""), row["record"]))[:RECENT_ROWS]
    last = dict(summary["last"])
    for row in rows:
        owner = RecordName.parse(row["record"]).namespace
        last[owner] = max(last.get(owner, ""), str(row.get("updated_at") or ""))
    kept = {day: counts for day, counts in {**summary["days"], **days}.items() if day >= oldest_day}
    return {"schema": SCHEMA, "watermark": max(str(summary["watermark"]), watermark), "rows": newest,
            "seen": {row["record"]: written[row["record"]] for row in newest if row["record"] in written},
            "days": dict(sorted(kept.items())), "last": dict(sorted(last.items()))}


def empty(watermark: str) -> Summary:
    return {"schema": SCHEMA, "watermark": watermark, "rows": [], "seen": {}, "days": {}, "last": {}}


def total(summary: Summary, owners: tuple[str, ...] = ()) -> int:
    """Records the index counts (those of ``owners`` only, when given)."""
    return sum(count for counts in summary["days"].values() for owner, states in counts.items()
               if not owners or owner in owners for count in states.values())


def states_since(summary: Summary, owners: tuple[str, ...], first_day: str) -> dict[str, int]:
    """The outcomes of ``owners``' runs of ``first_day`` or later."""
    counted: Counter[str] = Counter()
    for day, counts in summary["days"].items():
        if day >= first_day:
            for owner in owners:
                counted.update(counts.get(owner, {}))
    return dict(counted)


def per_day(summary: Summary, days: list[str]) -> list[tuple[str, dict[str, int]]]:
    """Each of ``days`` with its runs counted by outcome (every owner)."""
    answer = []
    for day in days:
        counted: Counter[str] = Counter()
        for states in summary["days"].get(day, {}).values():
            counted.update(states)
        answer.append((day, dict(counted)))
    return answer


def day_of(moment: datetime) -> str:
    return moment.date().isoformat()


def days_back(now: datetime, count: int) -> list[str]:
    """The ``count`` UTC days up to and including ``now``'s, oldest first."""
    return [day_of(now - timedelta(days=back)) for back in range(count - 1, -1, -1)]


class CaughtUp(enum.Enum):
    """Who caught up the index a view shows: a view says so, so a page served without the timer does not claim it."""

    TIMER = "timer"
    """Served as stored: its last catch-up (by the timer) is younger than ``RUN_INDEX_MAX_AGE_SECONDS``."""
    STALE = "stale"
    """Caught up by the view: the index was older than the max age, or there was none (no timer ran)."""
    RETRY = "retry"
    """Caught up by the view to show the record its own Retry changed."""
    EARLIER_VIEW = "earlier view"
    """Served as stored, but a view caught it up last (``CAUGHT_UP_BY``), not the timer."""


def as_of_note(as_of: datetime, schedule: str, *, max_age: float, listed: bool = False,
               caught_up: CaughtUp = CaughtUp.TIMER) -> str:
    """What a view says of the index it shows: ``runs as of 10:31:02 UTC, caught up every minute`` (served as the
    timer left it) or ``..., caught up by this view (the timer had not in 120 s)``; ``listed``: the runs shown were
    read from the records now (a filtered page, or one past the index), the counts were not."""
    when = f"as of {as_of.astimezone(UTC):%H:%M:%S} UTC, caught up {_by_whom(caught_up, schedule, max_age)}"
    return f"runs read from the records now; counts {when}" if listed else f"runs {when}"


def _by_whom(caught_up: CaughtUp, schedule: str, max_age: float) -> str:
    if caught_up is CaughtUp.TIMER:
        return _cadence(schedule)
    if caught_up is CaughtUp.EARLIER_VIEW:
        return "by an earlier view"
    if caught_up is CaughtUp.RETRY:
        return "by this view (to show the retry)"
    if not max_age:
        return "by this view (as every view is: RUN_INDEX_MAX_AGE_SECONDS is 0)"
    return f"by this view (the timer had not in {max_age:g} s)"


def _cadence(schedule: str) -> str:
    """An NCRONTAB as a view says it: ``every minute`` for one fixed second and every other field ``*``."""
    fields = schedule.split()
    if len(fields) == 6 and fields[0].isdigit() and all(field == "*" for field in fields[1:]):
        return "every minute"
    return f"on the schedule {schedule}"
