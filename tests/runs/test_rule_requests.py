"""Which request a rule's blob version asks for (shared/core/runs/run_requests.py): the blob itself, a marker's
folder, a manifest's files once checked; a disabled rule's reason; the occurrence a data claim names."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.core.aml.targets import parse_target
from shared.core.blobs.batches import Batch, Listed
from shared.core.config.config_model import BlobFilter, DataPathBinding, Marker, Rule, RunSpec, Schedule
from shared.core.ledger.keys import schedule_occurrence_key
from shared.core.ledger.run_limits import RunLimit
from shared.core.ledger.subjects import BlobSubject, ScheduleDataSubject, subject_json
from shared.core.runs.payloads import DataRef, submission
from shared.core.runs.run_requests import (
    BlobVersion,
    disabled_reason,
    manual_request,
    marker_batch,
    occurrence_of,
    rule_request,
    schedule_request,
)
from shared.core.schedules.ncrontab import parse_ncrontab
from shared.core.templates.templates import parse_template

pytestmark = pytest.mark.unit

RUN = RunSpec(target=parse_target("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/s/resourceGroups/r/"
                                  "providers/Microsoft.MachineLearningServices/workspaces/w/PipelineRuns/"
                                  "PipelineSubmit/p"), experiment="retrain")
MANIFEST = json.dumps({"files": ["part-1.csv", "part-2.csv"]}).encode()


def _version(name: str, head: bytes = b"a\n1\n") -> BlobVersion:
    return BlobVersion(container="data", name=name, url=f"https://acct.blob.core.windows.net/data/{name}",
                       etag="0x1", size=len(head), head=head)


def test_a_plain_rules_request_is_on_the_blob_itself() -> None:
    request = rule_request(Rule(name="daily", watch=BlobFilter(), run=RUN), _version("in/m.csv"))
    assert (request.batch, request.data, request.namespace) == (None, _version("in/m.csv"), "rules/daily")


def test_a_marker_rules_request_is_on_the_markers_folder() -> None:
    rule = Rule(name="daily", watch=BlobFilter(), run=RUN, marker=Marker(file="_SUCCESS"))
    request = rule_request(rule, _version("in/day/_SUCCESS"))
    assert request.batch == Batch(folder="in/day/")
    assert request.record == {"batch": {"folder": "in/day/"}}
    assert request.data is not None and request.data.name == "in/day/_SUCCESS"


def test_a_manifest_rules_request_lists_its_files_and_keeps_them_once_checked() -> None:
    rule = Rule(name="daily", watch=BlobFilter(), run=RUN, marker=Marker(file="manifest.json", manifest=True))
    request = rule_request(rule, _version("in/day/manifest.json", MANIFEST))
    assert request.batch == Batch(folder="in/day/", listed=("in/day/part-1.csv", "in/day/part-2.csv"))
    checked = (Listed("in/day/part-1.csv", "0xa"), Listed("in/day/part-2.csv", "0xb"))
    done = request.with_checked(checked)
    assert done.batch == Batch(folder="in/day/", listed=("in/day/part-1.csv", "in/day/part-2.csv"), checked=checked)
    assert done.record == {"batch": {"folder": "in/day/", "files": [{"blob": "in/day/part-1.csv", "etag": "0xa"},
                                                                    {"blob": "in/day/part-2.csv", "etag": "0xb"}]}}
    with pytest.raises(AssertionError, match=r"^a marker rule$"):
        marker_batch(Rule(name="daily", watch=BlobFilter(), run=RUN), _version("in/m.csv"))
    with pytest.raises(AssertionError, match=r"^a marker request$"):
        rule_request(Rule(name="daily", watch=BlobFilter(), run=RUN), _version("in/m.csv")).with_checked(checked)


def test_a_disabled_rules_reason_says_how_to_replay_what_it_skipped() -> None:
    assert disabled_reason("daily") == ("rule 'daily' is disabled (enabled: false); not replayed when it is enabled "
                                        "again unless a sweep is asked to (sweep --since)")


def test_only_a_data_claim_names_the_occurrence_that_used_its_data() -> None:
    claim = ScheduleDataSubject(schedule="nightly", blob="in/m.csv", etag="0x1", occurrence="2026-11-02T02:00:00Z")
    assert occurrence_of(claim) == "2026-11-02T02:00:00Z"
    assert occurrence_of(BlobSubject(container="data", blob="in/m.csv", etag="0x1", size=1)) is None
    assert occurrence_of(None) is None


def test_a_scheduled_run_is_tagged_with_its_schedule_occurrence_and_key_and_keeps_its_limit() -> None:
    occurrence = datetime(2026, 11, 2, 2, tzinfo=UTC)
    schedule = Schedule(name="nightly", cron=parse_ncrontab("0 0 2 * * *"), run=RUN, limit=RunLimit(most=2))
    request = schedule_request(schedule, occurrence, fired_at=occurrence, past_due=False)
    key = schedule_occurrence_key("nightly", occurrence)
    assert request.tags == {"triggered_by": "aml-pipeline-trigger", "trigger_schedule": "nightly",
                            "trigger_occurrence": "2026-11-02T02:00:00Z", "trigger_key": key}
    assert request.limit == RunLimit(most=2)


def test_a_manual_runs_subject_keeps_the_experiment_and_parameters_it_was_asked_with() -> None:
    request = manual_request("daily", RUN, None, request_id="req-1", blob=None, experiment="other",
                             parameters={"n": 2})
    assert subject_json(request.subject) == {"kind": "manual", "rule": "daily", "request_id": "req-1", "blob": None,
                                         "experiment": "other", "parameters": {"n": 2}}


JOB_TARGET = parse_target("https://management.azure.com", kind="pipeline_job", component="azureml:retrain:3",
                          workspace="/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/"
                                    "workspaces/w", compute="cpu")
RUN_ON_DATA = RunSpec(target=JOB_TARGET, experiment="retrain", required_columns=("MYCT",), run_source=None,
                      data_path=DataPathBinding("input", None))
"""A v2 pipeline job given the blob's URL: its body carries every part of the data it gets (URL, file or folder)
and a job name made from the request's namespace."""


def _sends(rule: Rule, version: BlobVersion, data: DataRef) -> bool:
    """Whether ``rule``'s request for ``version`` sends Azure ML ``data`` as the run's input."""
    request = rule_request(rule, version)
    return request.submission() == submission(rule.run, data=data, tags=request.tags, key=request.key,
                                              namespace="rules/daily")


def test_a_markers_run_gets_its_folder_and_a_manifests_run_the_manifest() -> None:
    marker = Rule(name="daily", watch=BlobFilter(), run=RUN_ON_DATA, marker=Marker(file="_SUCCESS"))
    assert _sends(marker, _version("in/day/_SUCCESS"),
                  DataRef(path="in/day/", url="https://acct.blob.core.windows.net/data/in/day/", folder=True))
    endpoint = RunSpec(target=parse_target("https://ep.eastus.inference.ml.azure.com/jobs"), experiment="retrain",
                       data_path=DataPathBinding("input", None))
    by_url = Rule(name="daily", watch=BlobFilter(), run=endpoint, marker=Marker(file="_SUCCESS"))
    request = rule_request(by_url, _version("in/day/_SUCCESS"))
    assert request.submission().body["properties"]["inputData"]["input"] == {
        "jobInputType": "UriFolder", "uri": "https://acct.blob.core.windows.net/data/in/day/"}
    manifest = Rule(name="daily", watch=BlobFilter(), run=RUN_ON_DATA, marker=Marker(file="m.json", manifest=True))
    assert _sends(manifest, _version("in/day/m.json", MANIFEST), _version("in/day/m.json").ref)
    plain = Rule(name="daily", watch=BlobFilter(), run=RUN_ON_DATA)
    assert _sends(plain, _version("in/day/a.csv", b"MYCT\n1\n"), _version("in/day/a.csv").ref)


def test_a_templated_path_is_the_runs_data_a_folder_when_it_ends_with_a_slash() -> None:
    for path, folder in (("scored/{blob.stem}/", True), ("scored/{blob.stem}.csv", False)):
        run = RUN_ON_DATA._replace(data_path=DataPathBinding("input", "store",
                                                                         path=parse_template(path)))
        request = rule_request(Rule(name="daily", watch=BlobFilter(), run=run), _version("in/a.csv", b"MYCT\n1\n"))
        rendered = path.replace("{blob.stem}", "a")
        assert request.submission() == submission(request.rendered().run, tags=request.tags, key=request.key,
                                                  namespace="rules/daily",
                                                  data=DataRef(path=rendered, url="", folder=folder))


def test_a_manifests_problem_names_the_manifest_and_the_columns_its_files_lack() -> None:
    rule = Rule(name="daily", watch=BlobFilter(), run=RUN_ON_DATA, marker=Marker(file="m.json", manifest=True))
    unreadable = rule_request(rule, _version("in/day/m.json", b"not json"))
    assert (unreadable.problem() or "").startswith("manifest in/day/m.json: ")
    request = rule_request(rule, _version("in/day/m.json", MANIFEST))
    checked = request.with_checked((Listed("in/day/part-1.csv", "0x1", head=b"a,b\n1,2\n", size=8),
                                    Listed("in/day/part-2.csv", "0x2", head=b"MYCT\n1\n", size=7)))
    assert checked.problem() == ("manifest in/day/m.json: 1 of 2 listed files are not usable: in/day/part-1.csv: "
                                 "missing required columns: MYCT (header has: a, b)")
    marker = Rule(name="daily", watch=BlobFilter(), run=RUN_ON_DATA, marker=Marker(file="_SUCCESS"))
    assert rule_request(marker, _version("in/day/_SUCCESS", b"")).problem() is None


def test_a_blob_request_carries_its_rules_switch_and_limit_and_fills_in_the_blobs_etag() -> None:
    rule = Rule(name="daily", watch=BlobFilter(), run=RUN, enabled=False, limit=RunLimit(most=3))
    request = rule_request(rule, _version("in/a.csv"))
    assert (request.disabled, request.limit) == (True, RunLimit(most=3))
    assert rule_request(Rule(name="daily", watch=BlobFilter(), run=RUN), _version("in/a.csv")).disabled is False
    assert request.template_context().values["blob.etag"] == "0x1"
