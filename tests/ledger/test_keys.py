"""Idempotency keys and the namespaces their records live in: each key's exact formula (records written long ago
are found by it), the names read back into their parts, and the Find Blobs by Tags expressions for open runs."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.core.ledger.keys import (
    TIMES_PENDING,
    RecordName,
    active_owner,
    blob_version_key,
    freshness_folder_key,
    freshness_key,
    iso,
    iso_ms,
    manual_key,
    manual_namespace,
    normalize_etag,
    open_runs_query,
    parse_iso,
    quiet_folder_key,
    record_name,
    rule_namespace,
    schedule_data_namespace,
    schedule_namespace,
    schedule_occurrence_key,
)
from tests.support.zones import local_zone  # noqa: F401  (a fixture: pytest finds it by name)

pytestmark = pytest.mark.unit


def sha256_of_lines(*lines: str) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def test_each_key_is_the_sha256_of_its_kind_and_parts_one_a_line():
    assert blob_version_key("data", "in/é.csv", ' "0x8DC" ') == sha256_of_lines("blob", "data", "in/é.csv", "0x8DC")
    assert quiet_folder_key("r", "in/") == sha256_of_lines("quiet-folder", "r", "in/")
    assert schedule_occurrence_key("nightly", datetime(2026, 11, 2, 2, 0, 5, 999, tzinfo=UTC)) == sha256_of_lines(
        "schedule", "nightly", "2026-11-02T02:00:05Z")
    assert manual_key("r", "request-1") == sha256_of_lines("manual", "r", "request-1")
    assert freshness_folder_key("r", "in/") == sha256_of_lines("freshness-folder", "r", "in/")
    assert freshness_key("r", "in/", "0 0 6 * * *") == sha256_of_lines("freshness", "r", "in/", "0 0 6 * * *")


def test_an_etag_is_keyed_bare_however_it_arrives():
    assert normalize_etag(' "0x8DC" ') == normalize_etag("0x8DC") == "0x8DC"


def test_moments_are_written_to_the_second_in_utc_as_z_and_read_back():
    assert iso(datetime(2026, 11, 2, 2, 0, 5, 999_999, tzinfo=UTC)) == "2026-11-02T02:00:05Z"
    assert iso(datetime(2026, 11, 2, 2, 0, tzinfo=timezone(timedelta(hours=1)))) == "2026-11-02T02:00:00+01:00"
    assert parse_iso("2026-11-02T02:00:05Z") == datetime(2026, 11, 2, 2, 0, 5, tzinfo=UTC)


@pytest.mark.usefixtures("local_zone")  # UTC whatever the machine's zone
def test_record_times_are_written_to_the_millisecond_in_utc_as_z_from_any_zone():
    assert iso_ms(datetime(2026, 12, 1, 10, 2, 0, 250_999, tzinfo=timezone(timedelta(hours=2)))) == (
        "2026-12-01T08:02:00.250Z")


def test_records_live_under_their_owners_namespace():
    assert [rule_namespace("r"), schedule_namespace("s"), manual_namespace("r"), schedule_data_namespace("s")] == [
        "rules/r", "schedules/s", "manual/r", "schedule-data/s"]
    assert record_name("rules/r", "k") == "rules/r/k.json"
    assert RecordName.parse(record_name("schedule-data/s", "k")) == ("schedule-data", "s", "k")


def test_a_manual_run_counts_among_its_rules_active_runs():
    assert [active_owner(owner) for owner in ("manual/r", "rules/r", "schedules/manual", "schedule-data/s")] == [
        "rules/r", "rules/r", "schedules/manual", "schedule-data/s"]


def test_the_open_runs_query_names_every_tag_read_and_one_owners_when_asked():
    every = "\"aml_open\"='1' AND \"aml_since\">='0' AND \"aml_run\">='0'"

    assert open_runs_query() == every
    assert open_runs_query("rules/r") == f"\"aml_owner\"='rules/r' AND {every}"
    assert open_runs_query(times_pending=True) == every.replace("\"aml_open\"='1'", "\"aml_open\">='1'")
    assert TIMES_PENDING > "1"  # so the fallback's one query finds ended runs whose times are pending too
