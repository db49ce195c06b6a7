"""import v1-schedules from a file: SDK v1 schedule entities (serialized by the SDK's own models, see the fixture
folder's README) -> schedules through the recurrence conversion, change-based ones -> blob rules; parity."""

from __future__ import annotations

import hashlib
import json

import pytest

from cli.__main__ import main
from cli.migrate import imports
from cli.migrate.import_v1_schedules import V1ScheduleError, import_v1_schedules
from shared.core.common.errors import InvalidInput
from tests.support import planted
from tests.support.harness import PROJECT_ROOT
from tests.support.settings import LOADED_AT
from tests.support.v1_schedules import WORKSPACE

SCHEDULES = PROJECT_ROOT / "tests" / "fixtures" / "importers" / "v1_schedules.json"
PIPELINE_URL = f"{WORKSPACE}/PipelineRuns/PipelineSubmit/5d9e2f4c-0000-4000-8000-00000000a11a"
ENV = {"WATCH_CONTAINER": "training-data"}


def entities() -> list[dict]:
    return json.loads(SCHEDULES.read_text(encoding="utf-8"))


def by_name() -> dict:
    return {item.name: item for item in import_v1_schedules(entities(), WORKSPACE, now=LOADED_AT)}


@pytest.mark.parametrize("name, recurrence, cron", [
    ("MyRecurringSchedule", {"frequency": "Minute", "interval": 15}, "0 */15 * * * *"),
    ("Every6Hours", {"frequency": "Hour", "interval": 6, "start_time": "2021-10-21T01:20:00"}, "0 20 1-23/6 * * *"),
    ("Nightly retrain", {"frequency": "Day", "interval": 1, "hours": [2], "minutes": [30]}, "0 30 2 * * *"),
    ("MondayFriday", {"frequency": "Week", "interval": 1, "hours": [6], "minutes": [0],
                      "week_days": ["Monday", "Friday"], "time_zone": "UTC"}, "0 0 6 * * 1,5"),
    ("Monthly", {"frequency": "Month", "interval": 1, "start_time": "2021-01-05T03:00:00"}, "0 0 3 5 * *"),
    ("WeekDigits", {"frequency": "Week", "interval": 1, "hours": [0], "minutes": [15], "week_days": ["Sunday"]},
     "0 15 0 * * 0"),
])
def test_each_v1_recurrence_form_becomes_a_schedule_firing_at_the_same_times(name, recurrence, cron):
    report = imports.v1_schedules(entities(), WORKSPACE, ENV)
    item = by_name()[name]

    assert report.ok, report.lines
    assert item.entry["recurrence"] == recurrence
    assert item.entry["target"] == {"url": PIPELINE_URL}
    assert f"v1 schedule {name!r} ({cron}):" in report.lines  # the cron the app's own loader made of it
    assert item.entry in report.document["schedules"]


def test_a_schedule_keeps_its_submission_and_a_disabled_one_is_imported_disabled():
    items = by_name()
    assert items["Nightly retrain"].entry == {
        "name": "Nightly_retrain", "target": {"url": PIPELINE_URL}, "experiment": "MyExperiment",
        "parameters": {"input_string": "s1"}, "run_source": None,  # the schedule sent none: neither does the entry
        "description": "nightly", "continue_on_step_failure": True,
        "recurrence": {"frequency": "Day", "interval": 1, "hours": [2], "minutes": [30]}}
    assert items["Monthly"].entry["enabled"] is False  # EntityStatus "2", as older answers write Disabled
    assert items["MondayFriday"].entry["data"] == {"blob": "Datasets/machineData.csv"}
    assert items["MondayFriday"].entry["data_path"] == {"parameter": "input_datapath",
                                                        "datastore": "workspaceblobstore"}


def test_a_change_based_schedule_becomes_a_rule_on_its_folder_without_subfolders_with_parity():
    report = imports.v1_schedules(entities(), WORKSPACE, ENV, blobs=["Datasets/new.csv"])

    assert report.document["rules"] == [{
        "name": "MyReactiveSchedule", "prefix": "Datasets/", "suffix": "", "include_subfolders": False,
        "target": {"url": f"{WORKSPACE}/PipelineRuns/PipelineEndpointSubmit/Id/9a1b2c3d-0000-4000-8000-0000000e1d01"},
        "experiment": "MyExperiment", "parameters": {"input_string": "s1"}, "run_source": None,
        "description": "Based on input file change.", "continue_on_step_failure": False,
        "data_path": {"parameter": "input_data", "datastore": "workspaceblobstore"}}]
    start = report.lines.index("v1 schedule 'MyReactiveSchedule':")
    table = report.lines[start + 1:start + 11]
    assert [line.split()[-1] for line in table[2:9]] == ["same"] * 6 + ["expected"]  # tags alone
    assert table[9] == "    parity holds (expected to differ: tags)"
    assert table[2].split()[:3] == ["ContinueRunOnStepFailure", "false", "false"]
    assert "DataPathAssignments.input_data.RelativePath   Datasets/new.csv" in table[4]
    assert report.ok


def test_every_imported_schedule_differs_from_its_v1_submission_in_tags_alone():
    report = imports.v1_schedules(entities(), WORKSPACE, ENV, blobs=["Datasets/new.csv"])

    verdicts = [line for line in report.lines if "expected to differ" in line]
    assert len(verdicts) == 7  # six time schedules and the change-based one
    assert set(verdicts) == {"    parity holds (expected to differ: tags)"}
    assert not [line for line in report.lines if "RunSource" in line]  # sent by neither the schedule nor its entry
    assert report.ok


def test_a_schedule_that_sent_a_run_source_keeps_it():
    entity = entities()[0]
    sent = {**entity, "PipelineSubmissionInfo": {**entity["PipelineSubmissionInfo"], "RunSource": "Schedule"}}
    report = imports.v1_schedules([sent], WORKSPACE, ENV)

    assert report.document["schedules"][0]["run_source"] == "Schedule"
    assert any(line.split() == ["RunSource", "Schedule", "Schedule", "same"] for line in report.lines)
    assert report.ok


def test_forms_without_an_exact_equivalent_are_listed_with_the_reason_and_the_nearest():
    items = by_name()
    assert items["EveryOtherDay"].entry is None and [str(item) for item in items["EveryOtherDay"].unsupported] == [
        "[5].Recurrence: not imported: every 2 days has no exact NCRONTAB form (a day-of-month step restarts each "
        "month); nearest: '0 0 0 */2 * *' (restarts on the 1st) or daily '0 0 0 * * *'"]
    assert items["TokyoMorning"].entry is None and "time_zone must be UTC" in str(items["TokyoMorning"].unsupported)
    report = imports.v1_schedules(entities(), WORKSPACE, ENV)
    assert "v1 schedule 'EveryOtherDay' (00000000-5c4e-4d00-8000-000000000006, time, Active) -> NOT IMPORTED" \
        in report.lines


def test_a_disabled_change_based_schedule_becomes_a_rule_with_enabled_false_saying_so():
    disabled = [{**entities()[-1], "EntityStatus": "Disabled"}]
    (item,) = import_v1_schedules(disabled, WORKSPACE, now=LOADED_AT)
    assert item.entry["enabled"] is False and item.unsupported == []
    assert "[0].EntityStatus: Disabled: imported with enabled: false (its blobs are recorded as skipped until it " \
           "is enabled)" in [str(finding) for finding in item.notes]


def test_names_that_are_no_rule_or_schedule_names_become_ones_the_loader_takes_and_the_report_says_so():
    """v1 names may hold spaces and be longer; a rule's name names its Event Grid subscription (at most 52)."""
    long_name = "Retrain the machines model when new sensor data lands (plant 7, line 3)"  # 72 characters
    nightly, reactive = entities()[2], entities()[-1]
    renamed = [{**nightly, "Name": long_name}, {**reactive, "Name": long_name},
               {**reactive, "Name": long_name + "!", "DataStoreTriggerInfo": {
                   **reactive["DataStoreTriggerInfo"], "PathOnDataStore": "Other"}}]

    report = imports.v1_schedules(renamed, WORKSPACE, ENV)

    digest = hashlib.sha256(long_name.encode("utf-8")).hexdigest()[:6]
    imported = import_v1_schedules(renamed, WORKSPACE, now=LOADED_AT)
    schedule, rule, other_rule = (item.entry["name"] for item in imported)
    assert schedule == f"Retrain_the_machines_model_when_new_sensor_data_lands_pl_{digest}"  # 63: a function name
    assert rule == f"Retrain-the-machines-model-when-new-sensor-da-{digest}"  # 52: aml-trigger-<rule> fits in 64
    assert other_rule != rule and len(other_rule) == 52  # the same first 45 characters, another original
    assert report.ok, report.lines  # the app's own loader took every name
    assert (f"  note: [1].Name: {long_name!r} is not a rule name (1-52 letters, digits, '-' or '_', starting with a "
            "letter or digit (the deploy hook names the rule's Event Grid subscription aml-trigger-<name>, '_' as "
            f"'-', and Event Grid allows 3-64 letters, digits and '-')): imported as {rule!r}") in report.lines
    assert "[2].Name: 'Nightly retrain' is not a schedule name (1-63 letters, digits or '_', starting with a letter " \
           "(it names a function)): imported as 'Nightly_retrain'" in [str(note) for note in by_name()[
               "Nightly retrain"].notes]
    assert not any(".Name:" in str(note) for note in by_name()["MyReactiveSchedule"].notes)  # valid: kept, unsaid


def test_the_service_bookkeeping_keys_are_reported_and_not_compared():
    item = by_name()["MyRecurringSchedule"]
    assert "ScheduleId" in item.submission and "ScheduleId" not in item.legacy_body(None)
    assert "[0].PipelineSubmissionInfo.ScheduleId: set by the v1 service for its own runs; a submission does not " \
           "send it" in [str(note) for note in item.notes]


@pytest.mark.parametrize("document", [{"Name": "x"}, [1, 2], "schedules"])
def test_anything_but_a_list_of_schedules_is_refused_clearly(document):
    with pytest.raises(V1ScheduleError, match="expected a JSON list of v1 schedules"):
        import_v1_schedules(document, WORKSPACE, now=LOADED_AT)


@pytest.mark.parametrize("url, message", [
    ("https://evil.example.com/pipelines/v1.0/subscriptions/s/resourceGroups/r/providers/"
     "Microsoft.MachineLearningServices/workspaces/w", "host 'evil.example.com' is not an Azure ML host"),
    ("http://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/s/resourceGroups/r/providers/"
     "Microsoft.MachineLearningServices/workspaces/w", "must be https"),
    ("https://eastus.api.azureml.ms/subscriptions/s", "path does not fit"),
])
def test_the_workspace_url_is_held_to_the_v1_host_allowlist(url, message):
    with pytest.raises(InvalidInput, match=message):
        imports.checked_workspace_url(url, ENV)


def test_the_command_reads_a_file_and_fails_clearly_on_bad_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WATCH_CONTAINER", "training-data")
    assert main(["import", "v1-schedules", "--workspace-url", WORKSPACE, "--file", str(SCHEDULES)]) == 0
    out = capsys.readouterr().out
    assert '"schedules": [' in out and "-> NOT IMPORTED" in out

    broken = tmp_path / "schedules.json"
    broken.write_text("[{", encoding="utf-8")
    assert main(["import", "v1-schedules", "--workspace-url", WORKSPACE, "--file", str(broken)]) == 1
    assert json.loads(capsys.readouterr().err)["error"] == (
        f"{broken}: the v1 schedules file is not valid JSON (Expecting property name enclosed in double quotes at "
        "line 1 column 3)")


def test_a_secret_looking_parameter_is_written_as_a_setting_reference_the_report_names(tmp_path, capsys,
                                                                                         monkeypatch):
    monkeypatch.setenv("WATCH_CONTAINER", "training-data")
    schedules = [entity for entity in entities() if entity["Name"] in ("MyRecurringSchedule", "MyReactiveSchedule")]
    for entity in schedules:
        entity["PipelineSubmissionInfo"]["ParameterAssignments"].update(planted.PARAMETERS)
    (source := tmp_path / "schedules.json").write_text(json.dumps(schedules), encoding="utf-8")
    output = tmp_path / "rules.json"

    exit_code = main(["import", "v1-schedules", "--workspace-url", WORKSPACE, "--file", str(source),
                      "--output", str(output)])

    printed = capsys.readouterr()
    written = output.read_text(encoding="utf-8")
    assert planted.leaked(printed.out, printed.err, written) == []
    assert exit_code == 0, printed.out
    document = json.loads(written)
    assert [entry["parameters"] for entry in (*document["schedules"], *document["rules"])] == [
        {"input_string": "s1", "sas": f"%AML_PARAM_{stem}_SAS%", "auth": f"%AML_PARAM_{stem}_AUTH%"}
        for stem in ("MYRECURRINGSCHEDULE", "MYREACTIVESCHEDULE")]
    lines = printed.out.splitlines()
    expected = [*planted.withheld_lines("schedule", "MyRecurringSchedule", "MYRECURRINGSCHEDULE"),
                *planted.withheld_lines("rule", "MyReactiveSchedule", "MYREACTIVESCHEDULE")]
    assert [line for line in expected if line not in lines] == []
    assert planted.loaded_parameters(output, "MYRECURRINGSCHEDULE", "MYREACTIVESCHEDULE") == {
        name: {"input_string": "s1", **planted.PARAMETERS} for name in ("MyReactiveSchedule", "MyRecurringSchedule")}


@pytest.mark.parametrize("submission", ["0", True, [1]])
def test_a_submission_that_is_no_object_is_refused_naming_the_field(submission):
    document = entities()
    document[0]["PipelineSubmissionInfo"] = submission
    with pytest.raises(V1ScheduleError) as refused:
        import_v1_schedules(document, WORKSPACE, now=LOADED_AT)
    assert str(refused.value) == ("[0].PipelineSubmissionInfo must be a JSON object (the run's ExperimentName, "
                                  "ParameterAssignments...)")
