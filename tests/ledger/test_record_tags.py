"""The blob index tags a ledger record carries stay within Azure's limit of 10 a blob
(https://learn.microsoft.com/azure/storage/blobs/storage-manage-find-blobs: "A blob can have up to 10 blob index
tags"): every record kind, in every state it is written in, counted."""

from __future__ import annotations

import pytest

from shared.core.ledger.keys import (
    ARRIVED_TAG,
    DAY_TAG,
    FOLDER_TAG,
    MAX_BLOB_TAGS,
    OPEN_TAG,
    OWNER_TAG,
    RUN_TAG,
    SINCE_TAG,
    STATE_TAG,
    UPDATED_TAG,
    arrival_tags,
)
from shared.core.ledger.ledger_record import LedgerRecord, RunState, new_claim
from shared.core.ledger.run_status import observed
from shared.core.ledger.subjects import (
    BlobSubject,
    ManualSubject,
    QuietBatchSubject,
    ScheduleDataSubject,
    ScheduleSubject,
    Subject,
)

pytestmark = pytest.mark.unit

AT = "2026-12-07T08:00:00.000Z"
KINDS: list[tuple[str, Subject]] = [
    ("rules/r", BlobSubject(container="data", blob="in/a.csv", etag="0x1")),
    ("rules/r", QuietBatchSubject(rule="r", container="data", folder="in", oldest=AT)),
    ("schedules/s", ScheduleSubject(schedule="s", occurrence=AT)),
    ("manual/r", ManualSubject(rule="r", request_id="q1", blob="in/a.csv", experiment=None, parameters={})),
    ("schedule-data/s", ScheduleDataSubject(schedule="s", blob="in/a.csv", etag="0x1", occurrence=AT)),
]


def _written(claim: LedgerRecord) -> list[LedgerRecord]:
    """Each state a record of this claim is written in: claimed, submitted and open, ended, failed, reopened."""
    submitted = claim.settled(RunState.SUBMITTED, AT, {"run_id": "run-1"})
    return [claim, submitted, submitted.with_outcome(observed("Completed", AT, ended_at=AT)),
            claim.settled(RunState.FAILED, AT, {"reason": "refused", "retryable": True}),
            submitted.reopened(AT, "retry requested")]


def test_no_record_kind_in_any_state_carries_more_than_azures_ten_blob_index_tags():
    counted = [len(record.tags(AT)) for namespace, subject in KINDS
               for record in _written(new_claim(namespace, "k" * 64, subject, "owner", AT, 60))]

    assert MAX_BLOB_TAGS == 10  # Azure's, as cited above
    assert len(counted) == 5 * 5 and max(counted) == 9 <= MAX_BLOB_TAGS
    namespace, subject = KINDS[0]
    largest = new_claim(namespace, "k" * 64, subject, "owner", AT, 60).settled(RunState.SUBMITTED, AT,
                                                                               {"run_id": "run-1"})
    assert set(largest.tags(AT)) == {OWNER_TAG, OPEN_TAG, SINCE_TAG, RUN_TAG, STATE_TAG, DAY_TAG, UPDATED_TAG,
                                     ARRIVED_TAG, FOLDER_TAG}
    assert len(arrival_tags("rules/r", "in/a.csv", AT)) == 3  # a quiet window's entry carries only these
