"""Reading one run's status from Azure ML, pure: where the GET goes for each kind of target, and what run history's
RunDto or ARM's job resource says of the run (status, times, error), or why an answer is not one."""

from __future__ import annotations

import pytest

from shared.core.aml.run_reads import StatusRead, run_error, status_read
from shared.core.aml.targets import ARM_SCOPE, parse_target
from shared.core.ledger.run_status import RunOutcome, RunStatus, merged
from tests.support.batch import WORKSPACE

pytestmark = pytest.mark.unit

V1 = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/sub-1/resourceGroups/rg-1/providers/"
      "Microsoft.MachineLearningServices/workspaces/ws-1/PipelineRuns/PipelineSubmit/pipe-1")
V1_WORKSPACE = "/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.MachineLearningServices/workspaces/ws-1"
AT = "2026-12-01T10:00:00.000Z"
RUN_DTO = {"status": "Failed", "startTimeUtc": "2026-12-01T09:00:00.1234567Z", "endTimeUtc": "2026-12-01T09:30:00Z",
           "error": {"error": {"code": "UserError", "message": "no data", "details": [], "target": "x"}}}


def test_a_v1_runs_status_is_read_from_run_history_on_the_targets_host():
    read = status_read(parse_target(V1), "run 1/a")

    assert read == StatusRead(f"https://eastus.api.azureml.ms/history/v1.0{V1_WORKSPACE}/runs/run%201%2Fa",
                              ARM_SCOPE, v1=True)


def test_a_batch_endpoint_without_a_workspace_has_no_status_read():
    assert status_read(parse_target("https://retrain.eastus.inference.ml.azure.com/jobs"), "job-1") is None


@pytest.mark.parametrize("host", ["retrain.inference.ml.azure.com", "retrain.east-us.inference.ml.azure.com"])
def test_a_batch_endpoint_whose_host_names_no_region_leaves_run_historys_host_to_discovery(host):
    read = status_read(parse_target(f"https://{host}/jobs", workspace=WORKSPACE), "job-1")
    assert read == StatusRead(f"https://management.azure.com{WORKSPACE}/jobs/job-1?api-version=2024-10-01",
                              ARM_SCOPE, v1=False, times_path=f"/history/v1.0{WORKSPACE}/runs/job-1")


@pytest.mark.parametrize("arm", ["https://management.azure.com", "http://127.0.0.1:8123"])
def test_a_pipeline_job_reads_its_status_on_arm_and_leaves_run_historys_host_to_discovery_even_on_loopback(arm):
    target = parse_target(arm, kind="pipeline_job", workspace=WORKSPACE, component="azureml:retrain_pipeline:3",
                          allow_local=True)

    read = status_read(target, "job 1")

    assert read == StatusRead(f"{arm}{WORKSPACE}/jobs/job%201?api-version=2024-10-01", ARM_SCOPE, v1=False,
                              times_path=f"/history/v1.0{WORKSPACE}/runs/job%201")
    assert read.history_root is None
    assert read.times_url("https://eastus.api.azureml.ms") == (
        f"https://eastus.api.azureml.ms/history/v1.0{WORKSPACE}/runs/job%201")


def test_a_runs_unknown_times_are_kept_in_its_record_until_its_start_and_end_are_known():
    ended = RunOutcome(RunStatus.FAILED, "Failed", AT, times_unknown="not asked")
    started = RunOutcome(RunStatus.RUNNING, "Running", AT, started_at=AT)
    event = RunOutcome(RunStatus.FAILED, "Failed", AT, ended_at=AT)  # an event's time: an end, no start

    assert RunOutcome.from_json(ended.to_json()) == ended and ended.to_json()["times_unknown"] == "not asked"
    assert merged(ended, RunOutcome(RunStatus.RUNNING, "Running", AT)).times_unknown == "not asked"
    assert merged(ended, event).times_unknown == merged(event, ended).times_unknown == "not asked"
    assert merged(ended, started).times_unknown == "not asked"
    assert merged(merged(ended, event), started).times_unknown is None
    assert merged(started, merged(event, ended)).times_unknown is None


def test_a_loopback_batch_endpoint_reads_status_and_times_from_the_stand_in(monkeypatch):
    monkeypatch.setenv("AML_ALLOW_LOCAL_TARGETS", "true")
    read = status_read(parse_target("http://127.0.0.1:8123/jobs", workspace=WORKSPACE, allow_local=True), "job-1")

    assert read == StatusRead(f"http://127.0.0.1:8123{WORKSPACE}/jobs/job-1?api-version=2024-10-01", ARM_SCOPE,
                              v1=False, times_path=f"/history/v1.0{WORKSPACE}/runs/job-1",
                              history_root="http://127.0.0.1:8123")


def test_a_run_dto_gives_status_times_and_the_errors_code_and_message():
    outcome = StatusRead("u", "s", v1=True).outcome(RUN_DTO, AT)

    assert outcome == RunOutcome(RunStatus.FAILED, "Failed", AT, started_at="2026-12-01T09:00:00.123Z",
                                 ended_at="2026-12-01T09:30:00.000Z",
                                 error={"code": "UserError", "message": "no data"})
    assert StatusRead("u", "s", v1=True).outcome({"status": "Running", "startTimeUtc": ""}, AT) == RunOutcome(
        RunStatus.RUNNING, "Running", AT)


def test_a_job_resource_gives_the_status_and_run_history_adds_its_times_and_error():
    job = StatusRead("u", "s", v1=False).outcome({"properties": {"status": "Failed"}}, AT)

    assert job == RunOutcome(RunStatus.FAILED, "Failed", AT)
    assert StatusRead.with_times(job, RUN_DTO, AT) == RunOutcome(
        RunStatus.FAILED, "Failed", AT, started_at="2026-12-01T09:00:00.123Z", ended_at="2026-12-01T09:30:00.000Z",
        error={"code": "UserError", "message": "no data"})
    own_error = RunOutcome(RunStatus.FAILED, "Failed", AT, error={"message": "the job's own"})
    assert StatusRead.with_times(own_error, RUN_DTO, AT).error == {"message": "the job's own"}


@pytest.mark.parametrize(("v1", "document", "message"), [
    (True, {"status": 3}, 'expected a run history RunDto with a "status"'),
    (True, ["status"], 'expected a run history RunDto with a "status"'),
    (False, {"properties": {"status": None}}, 'expected an ARM job resource with "properties": {"status"}'),
    (False, {"properties": "Running"}, 'expected an ARM job resource with "properties": {"status"}'),
    (False, ["properties"], 'expected an ARM job resource with "properties": {"status"}'),
])
def test_an_answer_of_another_shape_is_refused_saying_what_was_expected(v1, document, message):
    with pytest.raises(ValueError) as caught:
        StatusRead("u", "s", v1=v1).outcome(document, AT)
    assert str(caught.value) == message


def test_only_the_errors_code_and_message_are_kept_cut_to_a_thousand_characters():
    assert run_error({"error": {"code": "E", "message": "m" * 1500, "details": ["x"]}}) == {
        "code": "E", "message": "m" * 1000}
    assert run_error({"error": {"code": "", "message": "only this"}}) == {"message": "only this"}
    assert [run_error(value) for value in ({"error": {}}, {"error": "text"}, "text", None)] == [None] * 4
