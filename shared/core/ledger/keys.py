"""Idempotency keys and the ledger namespaces they live in, in one place: both name records written long ago, so
they never change (tests/golden/run_requests.json pins them)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import NamedTuple


def normalize_etag(etag: str) -> str:
    """ETags arrive quoted from the storage SDK and bare from Event Grid; keys use the bare form."""
    return etag.strip().strip('"')


def iso(moment: datetime) -> str:
    """A moment as keys, subjects and reports write it: to the second, UTC as ``Z``."""
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def iso_ms(moment: datetime) -> str:
    """A moment as records and their tags write it: to the millisecond, UTC as ``Z``; such texts sort in time
    order, so a tag query compares them."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """The moment ``iso`` wrote."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _hashed(*material: str) -> str:
    return hashlib.sha256("\n".join(material).encode("utf-8")).hexdigest()


def blob_version_key(container: str, blob_name: str, etag: str) -> str:
    """The key of one blob version: container + blob name + ETag, hashed so any blob name fits."""
    return _hashed("blob", container, blob_name, normalize_etag(etag))


def quiet_folder_key(rule: str, folder: str) -> str:
    """The key of one rule's folder under a quiet window (its state document): hashed so any folder name fits."""
    return _hashed("quiet-folder", rule, folder)


def freshness_folder_key(rule: str, folder: str) -> str:
    """A rule's folder as a freshness expectation names it (a blob index tag): hashed, since a tag value takes only
    a few characters and any folder name must fit."""
    return _hashed("freshness-folder", rule, folder)


def freshness_key(rule: str, folder: str, deadline: str) -> str:
    """The key of one freshness expectation (its state document): its rule, folder and deadline expression."""
    return _hashed("freshness", rule, folder, deadline)


def schedule_occurrence_key(schedule: str, occurrence: datetime) -> str:
    """The key of one scheduled occurrence (not the tick's wall clock): a double-fired tick finds it taken."""
    return _hashed("schedule", schedule, iso(occurrence))


def manual_key(rule: str, request_id: str) -> str:
    """The key of one deliberate manual run: one per request id, so a repeated request is a duplicate."""
    return _hashed("manual", rule, request_id)


def rule_namespace(rule: str) -> str:
    return f"rules/{rule}"


def schedule_namespace(schedule: str) -> str:
    return f"schedules/{schedule}"


def manual_namespace(rule: str) -> str:
    return f"manual/{rule}"


def schedule_data_namespace(schedule: str) -> str:
    """Where only_if_new_data schedules claim the data versions their runs used."""
    return f"schedule-data/{schedule}"


def record_name(namespace: str, key: str) -> str:
    """Records live under their rule's or schedule's namespace, so one trigger's records list with one prefix."""
    return f"{namespace}/{key}.json"


class RecordName(NamedTuple):
    """A record name (``<kind>/<owner>/<key>.json``) read once into its parts, so no caller splits it by hand."""

    kind: str
    """``rules``, ``schedules``, ``manual`` or ``schedule-data``."""
    owner: str
    """The rule's or schedule's name (a manual run's rule)."""
    key: str

    @classmethod
    def parse(cls, name: str) -> RecordName:
        """The parts of a name this app wrote; ValueError for another shape."""
        parts = name.removesuffix(".json").split("/")
        if not name.endswith(".json") or len(parts) != 3 or not all(parts):
            raise ValueError(f"not a record name (<kind>/<owner>/<key>.json): {name!r}")
        return cls(*parts)

    @property
    def namespace(self) -> str:
        return f"{self.kind}/{self.owner}"


OPEN_TAG = "aml_open"
"""Blob index tag on a record whose run is submitted and not yet seen to end (value ``1``): written in the same Put
Blob as the record itself, so the question "which runs are open?" is one Find Blobs by Tags, never a listing of all
records, and the write that ends a run drops it without a request of its own."""
OPEN = "1"
"""``OPEN_TAG``'s value on a record whose run is in flight: it holds a slot, and the fallback asks its status."""
TIMES_PENDING = "times"
"""``OPEN_TAG``'s value on a record whose run ended (its slot free, its end logged) while run history could not
tell its start, end and error for a reason that may pass: the fallback asks run history again, nothing else. It
sorts after ``OPEN``, so one Find Blobs by Tags (``"aml_open">='1'``) finds both, and a gate's (``='1'``) only the
first. Its ``SINCE_TAG`` is when the end was observed, which bounds how long run history is asked again."""
OWNER_TAG = "aml_owner"
"""Blob index tag on every record: whose runs it counts among (``active_owner``), so a gate asks for one rule's."""
SINCE_TAG = "aml_since"
"""Blob index tag on an open record: when its run's claim began (to the millisecond), to poll oldest first."""
RUN_TAG = "aml_run"
"""Blob index tag on an open record: its run's id, for the fallback's GET without reading the record."""
STATE_TAG = "aml_state"
"""Blob index tag on a run's record: what became of its run (``shared.core.ledger.ledger_record.Outcome``), so one
Find Blobs by Tags counts a day's runs by outcome, and the lifecycle rule deletes only settled ones."""
DAY_TAG = "aml_day"
"""Blob index tag on a run's record: the UTC day (``YYYY-MM-DD``) its run was first claimed, the run index's day; no
later write of the record moves it, so a day's count never holds a record another day counts too."""
UPDATED_TAG = "aml_updated"
"""Blob index tag on a run's record: the time of its last write (to the millisecond), so the run index finds the
records written since it last looked with one Find Blobs by Tags, however many records the ledger holds."""
ARRIVED_TAG = "aml_arrived"
"""Blob index tag on a record of one file version a rule took in (and on a quiet window's entry): when it arrived, to
the millisecond: the earlier of its version's Last-Modified and its first claim (the claim only on a clock behind
storage's), so "how many files came between two deadlines" is one Find Blobs by Tags whatever the ledger holds.
Written in the request that writes the record anyway: nothing is added to the per-blob path."""
FOLDER_TAG = "aml_folder"
"""Beside ``ARRIVED_TAG``: the file's folder (``freshness_folder_key``), for an expectation on one folder."""
MAX_BLOB_TAGS = 10
"""Azure's limit: "A blob can have up to 10 blob index tags"
(https://learn.microsoft.com/azure/storage/blobs/storage-manage-find-blobs; Set Blob Tags refuses more). A run's
record carries at most 9 of the tags above (owner, open, since, run, state, day, updated, arrived, folder): one is
left for a new index tag, and a second one needs two of these merged first."""
TAG_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 +\-./:=_]{0,255}")
"""A tag value the service accepts (letters, digits, space and ``+ - . / : = _``, at most 256) that starts with a
letter or digit, so ``>= '0'`` in a Find expression matches every one."""


def file_folder(name: str) -> str:
    """The folder a blob is in, as a path ending with '/' ('' at the container's root)."""
    folder, _, _ = name.rpartition("/")
    return folder + "/" if folder else ""


def arrival_tags(owner: str, blob: str, arrived: str) -> dict[str, str]:
    """The tags that count a file version toward its rule's freshness expectations (``ARRIVED_TAG``)."""
    rule = owner.partition("/")[2]
    return {OWNER_TAG: owner, ARRIVED_TAG: arrived, FOLDER_TAG: freshness_folder_key(rule, file_folder(blob))}


def arrivals_query(owner: str, since: str, until: str, folder_key: str | None = None) -> str:
    """The Find Blobs by Tags expression for ``owner``'s files that arrived in [``since``, ``until``)."""
    expression = f"\"{OWNER_TAG}\"='{owner}' AND \"{ARRIVED_TAG}\">='{since}' AND \"{ARRIVED_TAG}\"<'{until}'"
    return expression if folder_key is None else f"{expression} AND \"{FOLDER_TAG}\"='{folder_key}'"


def active_owner(namespace: str) -> str:
    """Whose active runs a record's run counts among: a rule's manual runs count as the rule's own."""
    kind, _, name = namespace.partition("/")
    return rule_namespace(name) if kind == "manual" else namespace


def open_runs_query(owner: str = "", *, times_pending: bool = False) -> str:
    """The Find Blobs by Tags expression for open runs (``owner``: one rule's or schedule's; ``times_pending``:
    ended runs whose times are asked again too). It names every tag the caller reads, since the service answers
    each blob with the tags its expression names only."""
    expression = (f"\"{OPEN_TAG}\"{'>=' if times_pending else '='}'{OPEN}' AND \"{SINCE_TAG}\">='0' AND "
                  f"\"{RUN_TAG}\">='0'")
    return f"\"{OWNER_TAG}\"='{owner}' AND {expression}" if owner else expression


KEY = re.compile(r"(?:quiet-)?[0-9a-f]{64}")
"""A record's key as this app writes it: a blob version's, an occurrence's or a manual run's hash, a quiet batch's
with its ``quiet-`` prefix. What a record name (a retry's), or a run's ``trigger_key`` tag, must be."""


RECORD_PREFIXES = tuple(namespace("") for namespace in (rule_namespace, schedule_namespace, manual_namespace))
"""The records runs lists and retry reopens: every run's own record (a data claim is not a run)."""
RECORD_NAME = re.compile("(?:" + "|".join(re.escape(prefix) for prefix in RECORD_PREFIXES) + ")"
                         + r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}/" + KEY.pattern + r"\.json")
