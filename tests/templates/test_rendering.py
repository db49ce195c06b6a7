"""shared/core/runs/rendering.py and the run request's template context: what each trigger kind's placeholders
take, rendered values checked (length, a path inside the container), problems masked, the key untouched."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.core.aml.targets import parse_target
from shared.core.blobs.batches import Batch
from shared.core.config.config_model import BlobFilter, DataPathBinding, Marker, Rule, RunSpec, Schedule
from shared.core.runs.rendering import MAX_RENDERED_CHARS, render_problem, rendered_path, rendered_run
from shared.core.runs.run_requests import BlobVersion, blob_request, marker_request, schedule_request
from shared.core.schedules.ncrontab import parse_ncrontab
from shared.core.templates.templates import Template, TemplateContext, TemplateError, parse_template

pytestmark = pytest.mark.unit

PIPELINE_URL = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/s/resourceGroups/r/providers/"
                "Microsoft.MachineLearningServices/workspaces/w/PipelineRuns/PipelineSubmit/p")
MODIFIED = datetime(2026, 12, 7, 9, 15, tzinfo=UTC)
VERSION = BlobVersion(container="data", name="in/day/m.csv", url="https://acct.blob.core.windows.net/data/in/day/m.csv",
                      etag="0x8DC1", size=12, head=b"a,b\n1,2\n", last_modified=MODIFIED, metadata={"Team": "ml"})
SAS = "sig=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789%2Babc%3D"


def run(parameters: dict[str, str], path: str | None = None) -> RunSpec:
    templates = {name: parse_template(value) for name, value in parameters.items()}
    return RunSpec(target=parse_target(PIPELINE_URL), experiment="e", parameters={**parameters, "n": 1},
                   parameter_templates=templates,
                   data_path=DataPathBinding("input", "store", path=parse_template(path) if path else None))


def test_a_blob_rules_run_renders_its_parameters_and_path_and_keeps_its_key():
    spec = run({"file": "{blob.name}", "team": "{blob.metadata.team}", "day": "{blob.last_modified:%d}",
                "who": "{rule}"}, "{blob.folder}")
    plain = blob_request(Rule(name="daily", watch=BlobFilter(), run=spec._replace(
        parameter_templates={}, data_path=DataPathBinding("input", "store"))), VERSION)
    request = blob_request(Rule(name="daily", watch=BlobFilter(), run=spec), VERSION)

    assert (request.key, request.subject, request.tags) == (plain.key, plain.subject, plain.tags)
    assert request.problem() is None
    body = request.submission().body
    assert body["ParameterAssignments"] == {"file": "m.csv", "team": "ml", "day": "07", "who": "daily", "n": "1"}
    assert body["DataPathAssignments"] == {"input": {"DataStoreName": "store", "RelativePath": "in/day/"}}
    assert request.rendered().run.parameters["file"] == "m.csv" and request.rendered().run.parameter_templates == {}


def test_a_schedules_run_has_its_occurrence_and_name_and_no_blob():
    occurrence = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    schedule = Schedule(name="nightly", cron=parse_ncrontab("0 0 2 * * *"),
                        run=run({"day": "{trigger.time:%Y-%m-%d}", "by": "{rule}"}, "d/{trigger.time:%m}/"))
    request = schedule_request(schedule, occurrence, fired_at=occurrence, past_due=False)

    assert request.template_context() == TemplateContext({"rule": "nightly", "trigger.time": occurrence})
    body = request.submission().body
    assert body["ParameterAssignments"] == {"day": "2026-11-02", "by": "nightly", "n": "1"}
    assert body["DataPathAssignments"] == {"input": {"DataStoreName": "store", "RelativePath": "d/11/"}}
    with_blob = schedule_request(schedule._replace(run=run({"f": "{blob.stem}"})), occurrence,
                                 fired_at=occurrence, past_due=False).with_data(VERSION)
    assert with_blob.submission().body["ParameterAssignments"]["f"] == "m"


def test_a_manifest_batch_counts_its_listed_files_and_a_folder_batch_has_no_count():
    manifest = BlobVersion(container="data", name="drop/manifest.json", url="https://a/data/drop/manifest.json",
                           etag="e", size=29, head=b'{"files": ["a.csv", "b.csv"]}')
    rule = Rule(name="drops", watch=BlobFilter(), run=run({"n": "{batch.count} in {batch.folder}"}),
                marker=Marker("manifest.json", manifest=True))
    assert marker_request(rule, manifest).template_context().values["batch.count"] == 2
    assert marker_request(rule, manifest).template_context().values["batch.folder"] == "drop/"
    folder = marker_request(rule._replace(marker=Marker("_SUCCESS")), manifest)
    assert "batch.count" not in folder.template_context().values
    assert Batch("x/", counted=4).file_count == 4 and Batch("x/", listed=("x/a",), counted=9).file_count == 1


def test_a_value_the_run_lacks_is_its_problem_naming_the_field_and_the_run_is_not_built():
    request = blob_request(Rule(name="daily", watch=BlobFilter(), run=run({"owner": "{blob.metadata.owner}"})),
                           VERSION)
    assert request.problem() == "template parameters.owner: {blob.metadata.owner}: the blob has no metadata 'owner'"
    with pytest.raises(TemplateError):
        request.submission()


def test_a_rendered_value_is_bounded_and_the_bound_is_inclusive():
    context = TemplateContext({"rule": "r"}, {"long": "x" * (MAX_RENDERED_CHARS - 1)})
    assert rendered_run(run({"v": "{rule}{blob.metadata.long}"}), context).parameters["v"] == "r" + "x" * 4095
    assert render_problem(run({"v": "{rule}{blob.metadata.long}."}), context) == (
        "template parameters.v: '{rule}{blob.metadata.long}.' rendered to 4,097 characters; at most 4,096")


@pytest.mark.parametrize(("path", "metadata", "problem"), [
    ("{blob.metadata.p}", "../x", "which has a '.' or '..' segment"),
    ("{blob.metadata.p}", "/x", "which starts with '/'"),
    ("{blob.metadata.p}", "", "which must be a path inside the watched container"),
    ("{blob.metadata.p}/", "", "which must be a path inside the watched container"),
])
def test_a_rendered_path_must_stay_in_the_container(path, metadata, problem):
    found = render_problem(run({}, path), TemplateContext({}, {"p": metadata}))
    assert found is not None and found.startswith(f"template data_path.relative_path: {path!r} rendered to ")
    assert problem in found


def test_a_path_the_run_cannot_fill_names_the_path_field():
    assert render_problem(run({}, "{blob.metadata.where}/"), TemplateContext()) == (
        "template data_path.relative_path: {blob.metadata.where}: the blob has no metadata 'where'")


def test_a_problem_quoting_a_secret_is_masked():
    found = render_problem(run({}, "..{blob.metadata.p}"), TemplateContext({}, {"p": SAS}))
    assert found is not None and SAS not in found and "***" in found


def test_a_rendered_path_is_a_template_of_itself_and_none_without_one():
    rendered = rendered_run(run({}, "{rule}/"), TemplateContext({"rule": "r"}))
    assert rendered.data_path is not None and rendered.data_path.path == Template(("r/",), "r/")
    assert rendered_path(rendered) == "r/"
    assert rendered_path(run({})) is None
    assert rendered_path(run({})._replace(data_path=None)) is None
    assert rendered_run(rendered, TemplateContext()) == rendered  # rendering twice changes nothing
