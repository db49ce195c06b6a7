"""The Logic App importer writes the expressions a template says exactly as placeholders (the trigger's file name
and path, utcNow dates, toLower/toUpper); anything else, a time of day among them, stays NOT CARRIED OVER, saying
why. Shown on the seed's Logic App, imported at a fixed moment."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from cli.migrate import imports
from cli.migrate.logic_app_expressions import left_out_reason, template_of
from shared.clients.common.clock import SYSTEM_CLOCK
from tests.support.harness import PROJECT_ROOT

pytestmark = pytest.mark.unit

SEED = PROJECT_ROOT / "tests" / "fixtures" / "importers" / "logic_app_code_view.json"
ENV = {"WATCH_CONTAINER": "training-data"}
WORKSPACE = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/sub-1/resourceGroups/rg-1/providers/"
             "Microsoft.MachineLearningServices/workspaces/ws-1")
IMPORTED_AT = datetime(2026, 12, 7, 23, 59, 30, tzinfo=UTC)
"""The moment of the import: a fixed clock, so the dates a test expects are the ones the import wrote."""
AT_IMPORT = SYSTEM_CLOCK._replace(now=lambda: IMPORTED_AT)
TIME_OF_DAY = ("a time of day from utcNow(): the Logic App's time of running (its poll came after the write) is not "
               "the blob's last-modified time, so no placeholder gives it exactly; only a date is carried over")


@pytest.mark.parametrize(("value", "template"), [
    ("@{triggerBody()?['Name']}", "{blob.name}"),
    ("@triggerBody()['Name']", "{blob.name}"),
    ("@{triggerBody()?['Path']}", "/training-data/{blob.path}"),
    ("@{toLower(triggerBody()?['Name'])}", "{blob.name|lower}"),
    ("@toUpper( triggerBody()?['Path'] )", "/TRAINING-DATA/{blob.path|upper}"),
    ("@{toLower(toUpper(triggerBody()?['Name']))}", "{blob.name|upper|lower}"),
    ("in/@{utcNow('yyyy-MM-dd')}/x", "in/{blob.last_modified:%Y-%m-%d}/x"),
    ("{a}/@{triggerBody()?['Name']}/@{utcNow('yyyy')}.", "{{a}}/{blob.name}/{blob.last_modified:%Y}."),
    ("@{formatDateTime(utcNow(), 'yyyyMMdd')}", "{blob.last_modified:%Y%m%d}"),
    ("@{utcNow('yy/MM/dd')}_@{utcNow('yyyy_MM.dd')}", "{blob.last_modified:%y/%m/%d}_{blob.last_modified:%Y_%m.%d}"),
    ("{\"a\": 1} @ home", "{{\"a\": 1}} @ home"),
    ("@@{not an expression}", "@{{not an expression}}"),
    ("plain", "plain"),
])
def test_expressions_with_an_exact_placeholder_become_templates(value, template):
    assert template_of(value, "training-data") == template


@pytest.mark.parametrize("value", [
    "@{utcNow()}", "@{utcNow('dddd')}", "@{utcNow('MMM d')}", "@{utcNow('')}", "@{concat('a', triggerBody()?['Name'])}",
    "@{triggerBody()?['Size']}", "@{toLower(variables('x'))}", "a/@{triggerBody()?['Name']}/@{guid()}",
    "@parameters('p')",
])
def test_anything_else_has_no_template(value):
    assert template_of(value, "training-data") is None
    assert left_out_reason(value) == "no placeholder gives its value exactly"


@pytest.mark.parametrize("value", [
    "@{utcNow('HH')}", "@{utcNow('yyyy-MM-dd HH:mm')}", "@{formatDateTime(utcNow(), 'yyyyMMddTHHmmss')}",
    "@{utcNow('mm')}", "in/@{utcNow('yyyy')}/@{utcNow('ss')}", "@{utcNow('hh tt')}", "@{utcNow('yyyy-MM-ddTzzz')}",
    "@{utcNow('fff')}",
])
def test_a_time_of_day_has_no_template_for_the_logic_app_ran_after_the_blob_was_written(value):
    assert template_of(value, "training-data") is None
    assert left_out_reason(value) == TIME_OF_DAY


def test_the_seeds_logic_app_with_a_lowercased_name_and_dated_parameters_imports_as_templates():
    document = json.loads(SEED.read_text(encoding="utf-8"))
    body = document["definition"]["actions"]["HTTP"]["inputs"]["body"]
    body["DataPathAssignments"]["input_datapath"]["RelativePath"] = "@{toLower(triggerBody()?['Name'])}"
    body["ParameterAssignments"] |= {"run_date": "@{utcNow('yyyy-MM-dd')}", "source": "@{triggerBody()?['Path']}",
                                     "options": '{"a": 1}'}

    report = imports.logic_app(document, ENV, blobs=["Machines.CSV"], clock=AT_IMPORT)

    assert report.ok, report.lines
    [rule] = report.document["rules"]
    assert rule["data_path"] == {"parameter": "input_datapath", "datastore": "workspaceblobstore",
                                 "relative_path": "{blob.name|lower}"}
    assert rule["parameters"] == {"input_string": "sample_string3", "run_date": "{blob.last_modified:%Y-%m-%d}",
                                  "source": "/training-data/{blob.path}", "options": '{{"a": 1}}'}
    where = "actions.HTTP.inputs.body"
    assert f"  note: {where}.DataPathAssignments.input_datapath.RelativePath: expression " \
           "\"@{toLower(triggerBody()?['Name'])}\" written as '{blob.name|lower}'" in report.lines
    assert f"  note: {where}.ParameterAssignments.run_date: expression \"@{{utcNow('yyyy-MM-dd')}}\" written as " \
           "'{blob.last_modified:%Y-%m-%d}' (utcNow() was when the Logic App ran; the rule writes the blob's " \
           "last-modified time (UTC), which is the same date unless the blob was written just before midnight and " \
           "polled after it)" in report.lines
    assert "  RelativePath 'machines.csv', exactly as the Logic App sent it" in report.lines
    table = "\n".join(report.lines)
    # Both sides rendered at the moment of the import: equal by construction, so no "same" is claimed for it.
    assert [line.split(maxsplit=3) for line in report.lines if line.startswith("    ParameterAssignments.run_date")] \
        == [["ParameterAssignments.run_date", "2026-12-07", "2026-12-07", "may differ around midnight"]]
    assert "    parity holds (expected to differ: tags)" in table


def test_a_time_of_day_stays_not_carried_over_saying_why_and_parity_names_it():
    document = json.loads(SEED.read_text(encoding="utf-8"))
    body = document["definition"]["actions"]["HTTP"]["inputs"]["body"]
    body["ParameterAssignments"]["run_hour"] = "@{utcNow('yyyy-MM-ddTHH')}"
    body["DataPathAssignments"]["input_datapath"]["RelativePath"] = "in/@{utcNow('HH-mm')}.csv"

    report = imports.logic_app(document, ENV, blobs=["machines.csv"], clock=AT_IMPORT)

    where = "actions.HTTP.inputs.body"
    assert f"  NOT CARRIED OVER: {where}.ParameterAssignments.run_hour: expression \"@{{utcNow('yyyy-MM-ddTHH')}}\": " \
           f"{TIME_OF_DAY}; left out" in report.lines
    assert f"  NOT CARRIED OVER: {where}.DataPathAssignments.input_datapath.RelativePath: expression " \
           f"\"in/@{{utcNow('HH-mm')}}.csv\": {TIME_OF_DAY}; the rule sends the blob's path in the container" \
           in report.lines
    assert "run_hour" not in report.document["rules"][0]["parameters"]
    assert [line.split(maxsplit=1)[0] for line in report.lines if line.endswith("DIFFERENT")] == [
        "DataPathAssignments.input_datapath.RelativePath", "ParameterAssignments.run_hour"]
    assert not report.ok


def test_an_expression_without_a_placeholder_stays_not_carried_over_and_parity_names_it():
    document = json.loads(SEED.read_text(encoding="utf-8"))
    document["definition"]["actions"]["HTTP"]["inputs"]["body"]["ParameterAssignments"]["id"] = "@{guid()}"

    report = imports.logic_app(document, ENV, blobs=["machines.csv"], clock=AT_IMPORT)

    assert "  NOT CARRIED OVER: actions.HTTP.inputs.body.ParameterAssignments.id: expression '@{guid()}': no " \
           "placeholder gives its value exactly; left out" in report.lines
    assert [line.split()[-1] for line in report.lines if "DIFFERENT" in line] == ["DIFFERENT"]
    assert "ParameterAssignments.id" in next(line for line in report.lines if "DIFFERENT" in line)
    assert not report.ok


def test_both_importers_double_a_literal_brace_so_the_value_is_sent_as_it_was():
    """A parameter such as '{"a": 1}' was a literal before templates; written as is, it would be a load error."""
    schedules = json.loads((SEED.parent / "v1_schedules.json").read_text(encoding="utf-8"))
    entity = schedules[0]
    info = entity["PipelineSubmissionInfo"]
    sent = {**entity, "PipelineSubmissionInfo": {**info, "ParameterAssignments": {
        **(info.get("ParameterAssignments") or {}), "options": '{"a": 1}'}}}

    report = imports.v1_schedules([sent], WORKSPACE, ENV)

    assert report.document["schedules"][0]["parameters"]["options"] == '{{"a": 1}}'
    assert any(line.split() == ["ParameterAssignments.options", '{"a":', '1}', '{"a":', '1}', "same"]
               for line in report.lines), report.lines
    assert report.ok
