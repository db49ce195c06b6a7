"""shared/core/runs/run_requests.py and the namespaces in shared/core/ledger/keys.py: what each trigger kind asks for,
built without any I/O. The exact values stored and sent are pinned end to end in
tests/runs/test_run_requests_golden.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.core.aml.targets import parse_target
from shared.core.config.config_model import BlobFilter, DataPathBinding, DataSource, Rule, RunSpec, Schedule
from shared.core.ledger.keys import (
    RECORD_NAME,
    RECORD_PREFIXES,
    blob_version_key,
    iso,
    manual_key,
    parse_iso,
    schedule_occurrence_key,
)
from shared.core.ledger.subjects import subject_json
from shared.core.runs.payloads import submission
from shared.core.runs.run_requests import BlobVersion, blob_request, manual_request, schedule_request, used_by
from shared.core.schedules.ncrontab import parse_ncrontab

pytestmark = pytest.mark.unit

PIPELINE_URL = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/s/resourceGroups/r/providers/"
                "Microsoft.MachineLearningServices/workspaces/w/PipelineRuns/PipelineSubmit/p")
RUN = RunSpec(target=parse_target(PIPELINE_URL), experiment="retrain", parameters={"n": 1},
              data_path=DataPathBinding(parameter="input", datastore="store"), required_columns=("MYCT",))
VERSION = BlobVersion(container="data", name="in/m.csv", url="https://acct.blob.core.windows.net/data/in/m.csv",
                      etag="0x8DC1", size=12, head=b"MYCT,PRP\n1,2\n")
OCCURRENCE = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
FIRED_AT = datetime(2026, 11, 2, 2, 0, 0, 300_000, tzinfo=UTC)


def _schedule(**fields) -> Schedule:
    return Schedule(**{"name": "nightly", "cron": parse_ncrontab("0 0 2 * * *"), "run": RUN, **fields})


def test_a_blob_request_is_the_versions_run_in_its_rules_namespace_tagged_with_its_key():
    request = blob_request(Rule(name="daily", watch=BlobFilter(prefix="in/"), run=RUN), VERSION)

    key = blob_version_key("data", "in/m.csv", "0x8DC1")
    assert (request.namespace, request.key, request.record_name) == ("rules/daily", key, f"rules/daily/{key}.json")
    assert subject_json(request.subject) == {"kind": "blob", "container": "data", "blob": "in/m.csv", "etag": "0x8DC1",
                                         "size": 12}
    assert request.tags == {"triggered_by": "aml-pipeline-trigger", "trigger_rule": "daily",
                            "trigger_blob": "data/in/m.csv", "trigger_etag": "0x8DC1", "trigger_key": key}
    assert request.about == {"rule": "daily", "container": "data", "blob": "in/m.csv", "etag": "0x8DC1", "key": key}
    assert (request.data, request.data_source, request.record, request.data_claim) == (VERSION, None, {}, None)
    assert request.submission() == submission(RUN, data=VERSION.ref, tags=request.tags, key=key,
                                              namespace=request.namespace)


def test_a_blob_request_stores_the_versions_last_modified_to_the_millisecond_in_utc():
    version = VERSION._replace(last_modified=datetime(2026, 12, 1, 10, 2, 5, 250_999, tzinfo=UTC))
    request = blob_request(Rule(name="daily", watch=BlobFilter(prefix="in/"), run=RUN), version)

    assert subject_json(request.subject) == {"kind": "blob", "container": "data", "blob": "in/m.csv", "etag": "0x8DC1",
                                         "size": 12, "last_modified": "2026-12-01T10:02:05.250Z"}


def test_a_blob_request_on_a_csv_without_the_required_columns_names_the_missing_ones():
    bad = VERSION._replace(head=b"a,b\n1,2\n")

    problem = blob_request(Rule(name="daily", watch=BlobFilter(), run=RUN), bad).problem()

    assert problem is not None and "MYCT" in problem


def test_a_schedule_request_keys_the_occurrence_and_gets_its_data_only_with_with_data():
    request = schedule_request(_schedule(data=DataSource(blob="in/m.csv")), OCCURRENCE, fired_at=FIRED_AT,
                               past_due=False)

    key = schedule_occurrence_key("nightly", OCCURRENCE)
    assert (request.namespace, request.key) == ("schedules/nightly", key)
    assert subject_json(request.subject) == {"kind": "schedule", "schedule": "nightly",
                                         "occurrence": "2026-11-02T02:00:00Z", "fired_at": "2026-11-02T02:00:00Z",
                                         "past_due": False}
    assert request.about == {"schedule": "nightly", "occurrence": "2026-11-02T02:00:00Z", "key": key,
                             "past_due": None}
    assert (request.data, request.data_source, request.problem()) == (None, DataSource(blob="in/m.csv"), None)

    chosen = request.with_data(VERSION)

    assert chosen.tags == {**request.tags, "trigger_blob": "data/in/m.csv", "trigger_etag": "0x8DC1"}
    assert list(chosen.about) == ["schedule", "occurrence", "key", "past_due", "container", "blob", "etag"]
    assert chosen.record == {"data": {"blob": "in/m.csv", "etag": "0x8DC1"}}
    assert chosen.data_claim is None  # not only_if_new_data
    assert (chosen.subject, request.data) == (request.subject, None)  # the subject never names chosen data


def test_an_only_if_new_data_schedule_claims_its_data_version_too_once_chosen():
    request = schedule_request(_schedule(data=DataSource(newest=BlobFilter(prefix="in/")), only_if_new_data=True),
                               OCCURRENCE, fired_at=FIRED_AT, past_due=True)
    assert request.data_claim is None and request.about["past_due"] is True

    claim = request.with_data(VERSION).data_claim

    assert claim is not None
    assert (claim.namespace, claim.key) == ("schedule-data/nightly", blob_version_key("data", "in/m.csv", "0x8DC1"))
    assert subject_json(claim.subject) == {"kind": "schedule-data", "schedule": "nightly", "blob": "in/m.csv",
                                       "etag": "0x8DC1", "occurrence": "2026-11-02T02:00:00Z"}
    assert claim.occurrence == "2026-11-02T02:00:00Z"
    assert claim.occurrence_key("2026-11-01T02:00:00Z") == schedule_occurrence_key(
        "nightly", datetime(2026, 11, 1, 2, 0, tzinfo=UTC))
    earlier = claim.subject._replace(occurrence="2026-11-01T02:00:00Z")
    assert used_by(VERSION, earlier, "run-1") == (
        "no new data: in/m.csv (0x8DC1) was used by the run of 2026-11-01T02:00:00Z (run run-1)")


def test_a_manual_request_is_keyed_by_its_request_id_and_keeps_the_request_as_given():
    request = manual_request("daily", RUN, VERSION, request_id="req-1", blob="in/m.csv", experiment=None,
                             parameters={"n": 2})

    key = manual_key("daily", "req-1")
    assert (request.namespace, request.key) == ("manual/daily", key)
    assert subject_json(request.subject) == {"kind": "manual", "rule": "daily", "request_id": "req-1",
                                             "blob": "in/m.csv", "experiment": None, "parameters": {"n": 2}}
    assert request.tags == {"triggered_by": "aml-pipeline-trigger", "trigger_rule": "daily",
                            "trigger_manual": "req-1", "trigger_key": key, "trigger_blob": "data/in/m.csv",
                            "trigger_etag": "0x8DC1"}
    assert list(request.about) == ["rule", "key", "container", "blob", "etag"]
    assert (request.data, request.record, request.data_claim) == (VERSION, {}, None)


def test_a_manual_request_without_a_blob_has_no_data_and_no_blob_tags():
    request = manual_request("daily", RUN, None, request_id="req-2", blob=None, experiment="other", parameters=None)

    assert request.data is None and request.problem() is None
    assert "trigger_blob" not in request.tags and request.about == {"rule": "daily", "key": request.key}
    assert "DataPathAssignments" not in request.submission().body


def test_record_names_and_list_prefixes_come_from_the_namespaces_and_a_data_claim_is_not_a_record_to_list():
    key = "0" * 64

    assert RECORD_PREFIXES == ("rules/", "schedules/", "manual/")
    assert all(RECORD_NAME.fullmatch(f"{prefix}daily/{key}.json") for prefix in RECORD_PREFIXES)
    assert not RECORD_NAME.fullmatch(f"schedule-data/daily/{key}.json")
    assert not RECORD_NAME.fullmatch(f"rules/daily/{key}.json.bak")
    assert not RECORD_NAME.fullmatch(f"rules/../{key}.json")


def test_iso_writes_moments_to_the_second_as_keys_use_them_and_parse_iso_reads_them_back():
    assert iso(FIRED_AT) == "2026-11-02T02:00:00Z"
    assert parse_iso("2026-11-02T02:00:00Z") == OCCURRENCE
