"""The v1 schedule importer's parts, in process, on entities built here: the entry each becomes, every finding it
reports (whole and in order), the enum digits it reads and the submission it compares against."""

from __future__ import annotations

from typing import Any

import pytest

from cli.migrate.import_v1_schedules import ImportedSchedule, V1ScheduleError, import_v1_schedules
from tests.support.settings import LOADED_AT

WORKSPACE = "https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/s/workspaces/w"
NIGHTLY = {"Frequency": "Day", "Schedule": {"Hours": [2], "Minutes": [30]}}


def entity(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"Id": "id-1", "Name": "nightly", "PipelineId": "p1", "Recurrence": NIGHTLY,
                            "PipelineSubmissionInfo": {"ExperimentName": "e"}}
    return {key: value for key, value in {**base, **fields}.items() if value is not None}


def change(**trigger: Any) -> dict[str, Any]:
    return entity(Recurrence=None, ScheduleType="DataStore", DataStoreTriggerInfo=trigger or None)


def one(raw: dict[str, Any], workspace_url: str = WORKSPACE) -> ImportedSchedule:
    (item,) = import_v1_schedules([raw], workspace_url, now=LOADED_AT)
    return item


def texts(findings: list[Any]) -> list[str]:
    return [str(finding) for finding in findings]


TARGET_NOTE = (f"[0].PipelineId: target {WORKSPACE}/PipelineRuns/PipelineSubmit/p1: check it is the pipeline you mean "
               "(PublishedPipeline.get(ws, id).endpoint prints it)")
CRON_NOTE = "[0].Recurrence: fires at the same times as NCRONTAB '0 30 2 * * *' (UTC)"


def test_a_time_schedule_becomes_a_schedule_entry_with_every_note_in_order():
    item = one(entity(), WORKSPACE + "/")

    assert (item.schedule_id, item.name, item.status, item.kind, item.section) == (
        "id-1", "nightly", "Active", "time", "schedules")
    assert item.entry == {"name": "nightly", "target": {"url": f"{WORKSPACE}/PipelineRuns/PipelineSubmit/p1"},
                          "experiment": "e", "parameters": {}, "run_source": None,
                          "recurrence": {"frequency": "Day", "interval": 1, "hours": [2], "minutes": [30]}}
    assert (texts(item.notes), item.unsupported) == ([TARGET_NOTE, CRON_NOTE], [])


def test_a_pipeline_endpoint_is_the_target_and_the_note_names_it():
    item = one(entity(PipelineId=None, PipelineEndpointId="e1"))

    assert item.entry is not None and item.entry["target"] == {
        "url": f"{WORKSPACE}/PipelineRuns/PipelineEndpointSubmit/Id/e1"}
    assert texts(item.notes)[0] == (f"[0].PipelineEndpointId: target {WORKSPACE}/PipelineRuns/PipelineEndpointSubmit/"
                                    "Id/e1: check it is the pipeline you mean (PublishedPipeline.get(ws, id).endpoint "
                                    "prints it)")


@pytest.mark.parametrize("raw", [
    entity(PipelineId=None),
    entity(PipelineSubmissionInfo={"ExperimentName": ""}),
    entity(PipelineSubmissionInfo=None),
])
def test_a_schedule_with_nothing_to_run_is_listed_and_gives_no_entry(raw):
    item = one(raw)
    assert (item.entry, item.notes) == (None, [])
    assert texts(item.unsupported) == [
        "[0]: no PipelineId / PipelineEndpointId or no ExperimentName: nothing to run"]


def test_the_submissions_keys_are_carried_over_text_parameters_escaped_and_tags_listed():
    submission = {"ExperimentName": "e", "RunSource": "SDK", "Description": "d", "ContinueRunOnStepFailure": False,
                  "ParameterAssignments": {"text": "a{b}", "count": 3}, "tags": {"t": "1"}}
    item = one(entity(PipelineSubmissionInfo=submission))

    assert item.entry is not None
    assert {key: item.entry[key] for key in ("parameters", "run_source", "description",
                                             "continue_on_step_failure")} == {
        "parameters": {"text": "a{{b}}", "count": 3}, "run_source": "SDK", "description": "d",
        "continue_on_step_failure": False}
    assert texts(item.unsupported) == ["[0].PipelineSubmissionInfo.tags: the app writes its own trigger tags"]


@pytest.mark.parametrize("status", ["Disabled", "2", "Deprecated", "1"])
def test_a_schedule_not_active_is_imported_disabled_saying_so(status):
    item = one(entity(EntityStatus=status))

    assert item.entry is not None and item.entry["enabled"] is False
    named = {"2": "Disabled", "1": "Deprecated"}.get(status, status)
    assert texts(item.notes)[-1] == f"[0].EntityStatus: {named}: imported with enabled: false"


@pytest.mark.parametrize("status", ["Active", "0", None])
def test_an_active_schedule_or_one_without_a_status_is_enabled(status):
    item = one(entity(EntityStatus=status))
    assert (item.status, item.entry is not None and "enabled" in item.entry) == ("Active", False)


@pytest.mark.parametrize("fields, name", [({"Name": ""}, "id-9"), ({"Name": None}, "id-9"),
                                          ({"Name": None, "Id": None}, "schedule0")])
def test_a_schedule_without_a_name_takes_its_id_or_its_place(fields, name):
    item = one(entity(Id="id-9", **fields) if "Id" not in fields else entity(**fields))
    assert item.name == name
    assert item.schedule_id == ("" if "Id" in fields else "id-9")


def test_a_schedule_name_must_start_with_a_letter_and_a_rule_name_need_not():
    time_item, change_item = import_v1_schedules([entity(Name="7am"), change(DataPathParameterName="p")
                                                  | {"Name": "7am"}], WORKSPACE, now=LOADED_AT)

    assert time_item.entry is not None and time_item.entry["name"] == "s_7am"
    assert texts(time_item.notes)[1] == (
        "[0].Name: '7am' is not a schedule name (1-63 letters, digits or '_', starting with a letter (it names a "
        "function)): imported as 's_7am'")
    assert change_item.entry is not None and change_item.entry["name"] == "7am"


def test_the_recurrence_interval_defaults_to_one_and_week_days_may_be_digits():
    recurrence = {"Frequency": "1", "Schedule": {"Hours": [6], "Minutes": [0], "WeekDays": ["0", "Friday"]},
                  "TimeZone": "UTC", "StartTime": "2021-01-04T06:00:00"}
    item = one(entity(Recurrence=recurrence))

    assert item.entry is not None and item.entry["recurrence"] == {
        "frequency": "Week", "interval": 1, "hours": [6], "minutes": [0], "week_days": ["Monday", "Friday"],
        "start_time": "2021-01-04T06:00:00", "time_zone": "UTC"}


@pytest.mark.parametrize("recurrence, finding", [
    (None, "[0].Recurrence: a time schedule without a Recurrence"),
    ("daily", "[0].Recurrence: a time schedule without a Recurrence"),
])
def test_a_time_schedule_without_a_recurrence_gives_no_entry(recurrence, finding):
    item = one(entity(Recurrence=recurrence, EntityStatus="Disabled",
                      PipelineSubmissionInfo={"ExperimentName": "e", "ScheduleId": "s"}))
    assert item.entry is None
    assert texts(item.unsupported) == [finding]
    assert texts(item.notes) == [TARGET_NOTE]  # nothing said of its status or bookkeeping: nothing was imported


def test_a_recurrence_the_conversion_refuses_is_listed_with_its_reason():
    item = one(entity(Recurrence={"Frequency": "Fortnight"}))
    assert item.entry is None
    assert texts(item.unsupported)[0].startswith("[0].Recurrence: not imported: ")


def test_a_fixed_data_path_becomes_the_schedules_blob_and_a_second_is_listed():
    submission = {"ExperimentName": "e", "DataPathAssignments": {
        "input": {"DataStoreName": "store", "RelativePath": "in/a.csv"}, "other": {}, "third": {}}}
    item = one(entity(PipelineSubmissionInfo=submission))

    assert item.entry is not None
    assert (item.entry["data"], item.entry["data_path"]) == ({"blob": "in/a.csv"},
                                                             {"parameter": "input", "datastore": "store"})
    assert texts(item.notes)[-1] == ("[0].PipelineSubmissionInfo.DataPathAssignments: the blob is read from the "
                                     "watched container: its datastore must be the one over WATCH_CONTAINER")
    assert texts(item.unsupported) == [
        "[0].PipelineSubmissionInfo.DataPathAssignments.other: a schedule passes one DataPath",
        "[0].PipelineSubmissionInfo.DataPathAssignments.third: a schedule passes one DataPath"]


@pytest.mark.parametrize("raw", [
    change(PathOnDataStore="/in/BoX/", DataStoreName="store"),
    entity(Recurrence=None, ScheduleType="1", DataStoreTriggerInfo={"PathOnDataStore": "in/BoX",
                                                                    "DataStoreName": "store"}),
    entity(Recurrence=None, DataStoreTriggerInfo={"PathOnDataStore": "in/BoX", "DataStoreName": "store"}),
])
def test_a_change_based_schedule_becomes_a_rule_on_its_folder_with_every_note(raw):
    item = one(raw)

    assert (item.kind, item.section, item.data_path) == ("change", "rules", None)
    assert item.entry == {"name": "nightly", "prefix": "in/BoX/", "suffix": "", "include_subfolders": False,
                          "target": {"url": f"{WORKSPACE}/PipelineRuns/PipelineSubmit/p1"}, "experiment": "e",
                          "parameters": {}, "run_source": None}
    assert texts(item.notes) == [
        TARGET_NOTE,
        "[0].DataStoreTriggerInfo: datastore 'store' must be the one over WATCH_CONTAINER: the rule watches that "
        "container's in/BoX/ (no subfolders, as v1 watched), every file ending",
        "[0].DataStoreTriggerInfo: no DataPathParameterName: runs get no blob, as in v1"]


def test_a_change_based_schedule_on_the_root_with_polling_and_a_parameter():
    item = one(change(DataStoreName="store", PollingInterval=5, DataPathParameterName="input"))

    assert item.entry is not None and item.entry["prefix"] == ""
    assert item.entry["data_path"] == {"parameter": "input", "datastore": "store"}
    assert item.data_path == ("input", "store")
    assert texts(item.notes)[1:] == [
        "[0].DataStoreTriggerInfo: datastore 'store' must be the one over WATCH_CONTAINER: the rule watches that "
        "container's root (no subfolders, as v1 watched), every file ending",
        "[0].DataStoreTriggerInfo.PollingInterval: polled every 5 minutes: Event Grid events replace polling"]


@pytest.mark.parametrize("schedule_type", ["DataStore", "1"])
def test_a_change_based_schedule_is_told_by_its_type_alone(schedule_type):
    item = one(entity(Recurrence=None, ScheduleType=schedule_type))
    assert (item.kind, item.entry is not None and item.entry["prefix"]) == ("change", "")


def test_a_change_based_schedule_is_told_by_its_type_or_its_trigger_info_alone():
    assert one(entity(ScheduleType="0")).kind == "time"
    assert one(entity(ScheduleType="Recurrence", DataStoreTriggerInfo={})).kind == "time"


def test_a_change_based_schedules_legacy_body_sets_the_blob_and_keeps_other_data_paths():
    submission = {"ExperimentName": "e", "RunType": "Schedule", "Description": None,
                  "DataPathAssignments": {"other": {"DataStoreName": "s", "RelativePath": "x"}}}
    item = one(change(DataStoreName="store", DataPathParameterName="input") | {"PipelineSubmissionInfo": submission})

    assert item.legacy_body("in/a.csv") == {"ExperimentName": "e", "DataPathAssignments": {
        "other": {"DataStoreName": "s", "RelativePath": "x"},
        "input": {"DataStoreName": "store", "RelativePath": "in/a.csv"}}}
    assert item.legacy_body(None) == {"ExperimentName": "e", "DataPathAssignments": {
        "other": {"DataStoreName": "s", "RelativePath": "x"}}}
    assert texts(item.notes)[-1] == ("[0].PipelineSubmissionInfo.RunType: set by the v1 service for its own runs; a "
                                     "submission does not send it")


def test_a_time_schedules_legacy_body_has_no_blob_set():
    item = one(entity())
    assert item.legacy_body("in/a.csv") == {"ExperimentName": "e"}


def test_a_service_answer_holding_its_list_under_value_is_read():
    (item,) = import_v1_schedules({"value": [entity()]}, WORKSPACE, now=LOADED_AT)
    assert item.name == "nightly"


@pytest.mark.parametrize("document", [{"value": {"Name": "x"}}, [entity(), 3]])
def test_anything_else_is_refused_saying_what_was_expected(document):
    with pytest.raises(V1ScheduleError) as refused:
        import_v1_schedules(document, WORKSPACE, now=LOADED_AT)
    assert str(refused.value) == ("expected a JSON list of v1 schedules (PipelineScheduleEntity objects), as GET "
                                  ".../Schedules returns them")


@pytest.mark.parametrize("recurrence, reason", [
    ({"Interval": 1}, "frequency '' must be one of Minute, Hour, Day, Week, Month"),
    ({"Frequency": "Week", "Schedule": {"Hours": [1], "Minutes": [0], "WeekDays": [None]}},
     "week_days [''] must be a list of Sunday, Monday, Tuesday, Wednesday, Thursday, Friday, Saturday"),
])
def test_a_missing_enum_is_read_as_empty_and_refused_by_the_conversion(recurrence, reason):
    assert texts(one(entity(Recurrence=recurrence)).unsupported) == [f"[0].Recurrence: not imported: {reason}"]


def test_the_workspace_urls_trailing_slashes_alone_are_cut():
    item = one(entity(), "https://h/workspaces/BOX//")
    assert item.entry is not None and item.entry["target"] == {"url": "https://h/workspaces/BOX/PipelineRuns/"
                                                                      "PipelineSubmit/p1"}
