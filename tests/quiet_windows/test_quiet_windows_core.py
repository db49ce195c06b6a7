"""Quiet windows' pure part (shared/core/quiet_windows/quiet_windows.py): entry and state names, which entries a
folder's cut-off covers, how it advances, the open batch and when it fires, and the one run a batch asks for. The
storage side (entries, listings, ticks, crashes) is in tests/quiet_windows/test_quiet_windows.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.core.aml.targets import parse_target
from shared.core.blobs.batches import Batch
from shared.core.config.config_model import BlobFilter, QuietWindow, Rule, RunSpec
from shared.core.ledger.keys import blob_version_key, quiet_folder_key
from shared.core.ledger.ledger_record import LedgerRecord, RunState
from shared.core.ledger.run_limits import RunLimit
from shared.core.ledger.subjects import BatchFile, QuietBatchSubject
from shared.core.quiet_windows.quiet_windows import (
    COLLECT_HORIZON,
    Entry,
    FolderState,
    batch_key,
    batched_files,
    by_folder,
    entry_metadata,
    entry_name,
    folder_state_name,
    listed_rule,
    open_batch,
    quiet_request,
    recorded_oldest,
    recorded_request,
)

pytestmark = pytest.mark.unit

NOON = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
RUN = RunSpec(target=parse_target("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/s/resourceGroups/r/"
                                  "providers/Microsoft.MachineLearningServices/workspaces/w/PipelineRuns/"
                                  "PipelineSubmit/p"), experiment="retrain")
RULE = Rule(name="landing", watch=BlobFilter(prefix="in/"), run=RUN, quiet_window=QuietWindow(seconds=60))
URL = "https://acct.blob.core.windows.net/data/in/day/a.csv"


def _entry(blob: str, second: int = 0, etag: str = "0x1") -> Entry:
    return Entry(name=entry_name("landing", "data", blob, etag), blob=blob, etag=etag,
                 arrived=NOON + timedelta(seconds=second))


def test_entries_and_folder_states_are_named_by_rule_and_key_and_say_their_rule() -> None:
    name = entry_name("landing", "data", "in/day/a.csv", "0x1")
    assert name == f"quiet/landing/{blob_version_key('data', 'in/day/a.csv', '0x1')}"
    state = folder_state_name("landing", "in/day/")
    assert state == f"quiet-folders/landing/{quiet_folder_key('landing', 'in/day/')}.json"
    assert listed_rule(name) == listed_rule(state) == "landing"
    assert timedelta(days=6) == COLLECT_HORIZON


def test_an_entrys_metadata_percent_encodes_its_blob_and_a_listing_reads_it_back() -> None:
    metadata = entry_metadata("in/dé jà/a.csv", "0x1")
    assert metadata == {"blob": "in/d%C3%A9%20j%C3%A0/a.csv", "etag": "0x1"}
    entry = Entry.listed("quiet/landing/k", metadata, NOON)
    assert entry == Entry("quiet/landing/k", "in/dé jà/a.csv", "0x1", NOON)
    assert entry.folder == "in/dé jà/"


def test_a_cut_off_covers_what_is_older_and_the_names_of_its_second_it_lists() -> None:
    older, listed, unlisted, newer = _entry("in/a", -1), _entry("in/b"), _entry("in/c"), _entry("in/d", 1)
    state = FolderState("in/", NOON, frozenset({listed.name}), 1)
    assert [state.covers(entry) for entry in (older, listed, unlisted, newer)] == [True, True, False, False]
    unread = FolderState("in/", NOON, None, 1)
    assert [unread.covers(entry) for entry in (older, listed, unlisted, newer)] == [True, True, True, False]


def test_names_are_read_only_when_the_cut_offs_second_holds_more_entries_than_it_covers() -> None:
    state = FolderState("in/", NOON, None, 1)
    assert not state.names_needed([_entry("in/a"), _entry("in/b", 1), _entry("in/c", -1)])
    assert state.names_needed([_entry("in/a"), _entry("in/b")])


def test_a_state_advances_to_the_newest_covered_second_keeping_its_names() -> None:
    start = FolderState("in/", NOON, frozenset({"x"}), 1, "quiet-old")
    later = start.advanced([_entry("in/a", 1), _entry("in/b", 2), _entry("in/c", 2)], "quiet-k")
    assert later == FolderState("in/", NOON + timedelta(seconds=2),
                                frozenset({_entry("in/b").name, _entry("in/c").name}), 2, "quiet-k")


def test_a_state_advanced_within_its_own_second_adds_the_names_and_an_older_batch_changes_nothing() -> None:
    start = FolderState("in/", NOON, frozenset({"x"}), 1, "quiet-old")
    same = start.advanced([_entry("in/a")], "quiet-k")
    assert same == FolderState("in/", NOON, frozenset({"x", _entry("in/a").name}), 2, "quiet-k")
    unread = FolderState("in/", NOON, None, 3).advanced([_entry("in/a")], "quiet-k")
    assert unread == FolderState("in/", NOON, frozenset({_entry("in/a").name}), 1, "quiet-k")
    assert start.advanced([_entry("in/a", -5)], "quiet-k") is start
    assert start.advanced([], "quiet-k") == FolderState("in/", NOON, frozenset({"x"}), 1, "quiet-k")


def test_a_state_round_trips_through_its_document_and_its_listing_metadata() -> None:
    state = FolderState("in/dé/", NOON, frozenset({"b", "a"}), 2, "quiet-k")
    document = state.to_json()
    assert document == {"folder": "in/dé/", "cutoff": "2026-11-02T12:00:00Z", "at_cutoff": ["a", "b"],
                        "batch": "quiet-k"}
    assert FolderState.from_json(document) == state
    assert FolderState.from_json({"folder": "in/", "cutoff": "2026-11-02T12:00:00Z"}) == FolderState(
        "in/", NOON, frozenset(), 0, "")
    assert state.metadata == {"folder": "in/d%C3%A9/", "cutoff": "2026-11-02T12:00:00Z", "at_cutoff": "2"}
    assert FolderState.listed(state.metadata) == FolderState("in/dé/", NOON, None, 2, "")
    assert FolderState("in/", NOON, None).to_json()["at_cutoff"] == []


def test_entries_group_by_folder_and_a_folders_open_batch_fires_its_window_after_the_newest() -> None:
    a, b, c, d = _entry("in/x/a", 5), _entry("in/y/b", 1), _entry("in/x/c", 2), _entry("in/x/d", 3)
    assert by_folder([a, b, c, d]) == {"in/x/": [a, c, d], "in/y/": [b]}
    batch = open_batch("in/x/", [a, c, d], None, 60)
    assert batch is not None
    assert (batch.entries, batch.oldest, batch.fires_at) == ((c, d, a), c, NOON + timedelta(seconds=65))


def test_an_open_batch_leaves_out_what_the_state_covers_and_orders_one_seconds_entries_by_name() -> None:
    first, second = sorted([_entry("in/a", 3), _entry("in/b", 3)], key=lambda entry: entry.name)
    covered = _entry("in/c", 0)
    batch = open_batch("in/", [second, covered, first], FolderState("in/", NOON + timedelta(seconds=1)), 10)
    assert batch is not None and batch.entries == (first, second)
    assert open_batch("in/", [covered], FolderState("in/", NOON + timedelta(seconds=2)), 10) is None
    assert open_batch("in/", [], None, 10) is None


def test_a_batch_key_is_its_oldest_entrys_version_key() -> None:
    assert batch_key("quiet/landing/abc123") == "quiet-abc123"


def test_a_quiet_batchs_run_is_on_its_folder_listing_its_files_oldest_first() -> None:
    old, new = _entry("in/day/a.csv", 0, "0x1"), _entry("in/day/b.csv", 4, "0x2")
    batch = open_batch("in/day/", [new, old], None, 60)
    assert batch is not None
    limited = Rule(name="landing", watch=BlobFilter(prefix="in/"), run=RUN, quiet_window=QuietWindow(seconds=60),
                   enabled=False, limit=RunLimit(most=1))
    request = quiet_request(limited, batch, "data", URL)
    key = batch_key(old.name)
    files = (BatchFile("in/day/a.csv", "0x1"), BatchFile("in/day/b.csv", "0x2"))
    assert request.subject == QuietBatchSubject(rule="landing", container="data", folder="in/day/", oldest=old.name,
                                                fires_at="2026-11-02T12:01:04Z", files=files)
    assert (request.namespace, request.key, request.run) == ("rules/landing", key, RUN)
    assert request.data is not None
    assert (request.data.container, request.data.name, request.data.url, request.data.etag, request.data.size,
            request.data.head) == ("data", "in/day/a.csv", URL, "0x1", 0, b"")
    assert request.batch == Batch(folder="in/day/", counted=2)
    assert request.tags == {"triggered_by": "aml-pipeline-trigger", "trigger_rule": "landing",
                            "trigger_folder": "data/in/day/", "trigger_key": key}
    assert request.about == {"rule": "landing", "folder": "in/day/", "files": 2, "key": key}
    assert request.record == {"batch": {"folder": "in/day/"}}
    assert (request.disabled, request.limit) == (True, RunLimit(most=1))
    assert quiet_request(RULE, batch, "data", URL).disabled is False


def test_a_recorded_batch_runs_again_on_the_files_it_lists_and_not_at_all_when_it_lists_none() -> None:
    files = (BatchFile("in/day/a.csv", "0x1"),)
    subject = QuietBatchSubject(rule="landing", container="data", folder="in/day/", oldest="quiet/landing/k1",
                                files=files)
    request = recorded_request(RULE, subject, URL)
    assert request is not None
    assert (request.key, request.subject, request.batch) == ("quiet-k1", subject, Batch(folder="in/day/", counted=1))
    assert request.data is not None and (request.data.name, request.data.url) == ("in/day/a.csv", URL)
    assert recorded_oldest(subject) == "in/day/a.csv"
    for listed in (None, ()):
        empty = QuietBatchSubject(rule="landing", container="data", folder="in/day/", oldest="quiet/landing/k1",
                                  files=listed)
        assert recorded_request(RULE, empty, URL) is None
        assert recorded_oldest(empty) is None


@pytest.mark.parametrize(("state", "retryable", "covered"), [
    (RunState.SUBMITTED, None, True), (RunState.SKIPPED, None, True), (RunState.REJECTED, None, True),
    (RunState.FAILED, False, True), (RunState.FAILED, True, False), (RunState.FAILED, None, True),
    (RunState.WAITING, None, False), (RunState.CLAIMED, None, False),
])
def test_a_batchs_record_covers_its_files_once_final(state: RunState, retryable: bool | None, covered: bool) -> None:
    files = (BatchFile("in/a.csv", "0x1"), BatchFile("in/b.csv", "0x2"))
    subject = QuietBatchSubject(rule="landing", container="data", folder="in/", oldest="quiet/landing/k", files=files)
    record = LedgerRecord(subject=subject, state=state, retryable=retryable)
    assert batched_files(record) == ({("in/a.csv", "0x1"), ("in/b.csv", "0x2")} if covered else set())


def test_no_record_a_records_other_subject_or_no_files_cover_nothing() -> None:
    assert batched_files(None) == set()
    assert batched_files(LedgerRecord(state=RunState.SUBMITTED)) == set()
    empty = QuietBatchSubject(rule="landing", container="data", folder="in/", oldest="quiet/landing/k")
    assert batched_files(LedgerRecord(subject=empty, state=RunState.SUBMITTED)) == set()
