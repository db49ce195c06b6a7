"""A pipeline_job rule naming ``azureml:<name>@latest`` at the stand-in: the newest version read with the one GET
azure-ai-ml makes, written into the PUT and kept on the record; a component without versions failing for good with
nothing created; a retry after a newer version was registered adopting the job the first resolution created."""

from __future__ import annotations

import os

import pytest

from localdev.aml_standin import AcceptThenDrop
from shared.clients.aml.aml_client import SubmitError
from shared.clients.process.services import build_services
from shared.core.ledger.keys import blob_version_key
from shared.operations.http.explain import explain
from tests.support.batch import STANDIN_WORKSPACE, expected_job_name, pipeline_job_rule, rules_file
from tests.support.harness import deliver_blob, ledger_record, upload
from tests.support.samples import SAMPLE_CSV

BLOB = "incoming/machines.csv"
VERSIONS = f"{STANDIN_WORKSPACE}/components/retrain_pipeline/versions"
LIST_QUERY = {"api-version": "2024-01-01-preview", "$orderBy": "createdtime desc", "$top": "1"}


def latest_rule(aml) -> dict:
    rule = pipeline_job_rule(aml)
    return {**rule, "target": {**rule["target"], "component": "azureml:retrain_pipeline@latest"}}


def _delivered(app_env, aml, tmp_path, monkeypatch) -> tuple[str, str]:
    rules_file(tmp_path, monkeypatch, [latest_rule(aml)])
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, BLOB, SAMPLE_CSV)
    deliver_blob(container, BLOB)
    return blob_version_key(container, BLOB, etag), etag


def test_latest_is_read_with_one_get_and_the_newest_version_is_put_and_recorded(app_env, aml, tmp_path,
                                                                                monkeypatch):
    aml.component_versions.append("4")

    key, etag = _delivered(app_env, aml, tmp_path, monkeypatch)

    name = expected_job_name("rules/pjob", key)
    listing, put = aml.received
    assert (listing.path, listing.query, listing.audience) == (VERSIONS, LIST_QUERY, "https://management.azure.com")
    assert (put.path, put.status) == (f"{STANDIN_WORKSPACE}/jobs/{name}", 201)
    [job] = aml.accepted
    assert job.body["properties"]["componentId"] == f"{VERSIONS}/4"
    record = ledger_record("pjob", app_env["WATCH_CONTAINER"], BLOB, etag)
    assert (record["state"], record["run_id"], record["component"]) == (
        "submitted", name, "azureml:retrain_pipeline:4")


def test_a_pinned_version_is_recorded_and_read_with_no_get(app_env, aml, tmp_path, monkeypatch):
    rules_file(tmp_path, monkeypatch, [pipeline_job_rule(aml)])
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, BLOB, SAMPLE_CSV)
    aml.component_versions.append("4")

    deliver_blob(container, BLOB)

    assert [request.path.rsplit("/", 2)[1] for request in aml.received] == ["jobs"]  # the PUT alone
    assert ledger_record("pjob", container, BLOB, etag)["component"] == "azureml:retrain_pipeline:3"


def test_latest_of_a_component_without_versions_fails_for_good_naming_it_and_creates_nothing(
        app_env, aml, tmp_path, monkeypatch):
    aml.component_versions.clear()

    _, etag = _delivered(app_env, aml, tmp_path, monkeypatch)

    record = ledger_record("pjob", app_env["WATCH_CONTAINER"], BLOB, etag)
    assert (record["state"], record["retryable"]) == ("failed", False)
    assert record["reason"] == (
        "component azureml:retrain_pipeline@latest resolves to nothing: the workspace lists no version of component "
        "'retrain_pipeline' (register one, or pin a version: azureml:retrain_pipeline:<version>)")
    assert [request.path for request in aml.received] == [VERSIONS] and aml.accepted == []


def test_a_retry_after_a_newer_version_was_registered_adopts_the_job_of_the_first_resolution(
        app_env, aml, tmp_path, monkeypatch):
    """The first PUT creates the job on version 3 and its answer is lost; version 4 is registered meanwhile. The
    retry resolves @latest to 4, but the job's name is the trigger's: Azure ML refuses the PUT as existing and the
    job on version 3 is adopted, and recorded as on version 3."""
    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "1")  # the lost answer ends the first invocation
    aml.on_accept = lambda: aml.component_versions.append("4")
    aml.inject(AcceptThenDrop())

    with pytest.raises(SubmitError):
        _delivered(app_env, aml, tmp_path, monkeypatch)
    deliver_blob(app_env["WATCH_CONTAINER"], BLOB)  # the host's retry

    [job] = aml.accepted
    assert job.body["properties"]["componentId"] == f"{VERSIONS}/3"
    statuses = [(request.path.rsplit("/", 1)[1], request.status) for request in aml.received]
    assert statuses == [("versions", 200), (job.run_id, None), ("versions", 200), (job.run_id, 400),
                        (job.run_id, 200)]  # list, PUT lost; list (now 4), PUT refused as existing, GET
    [_, _, _, second_put, _] = aml.received
    assert second_put.body["properties"]["componentId"] == f"{VERSIONS}/4"
    etag = job.body["properties"]["properties"]["trigger_etag"]
    record = ledger_record("pjob", app_env["WATCH_CONTAINER"], BLOB, etag)
    assert (record["state"], record["run_id"], record["reconciled"], record["component"]) == (
        "submitted", job.run_id, True, "azureml:retrain_pipeline:3")


def test_explain_of_a_latest_rule_shows_the_get_it_would_make_first_and_sends_nothing(app_env, aml, tmp_path,
                                                                                     monkeypatch):
    rules_file(tmp_path, monkeypatch, [latest_rule(aml)])
    upload(app_env["WATCH_CONTAINER"], BLOB, SAMPLE_CSV)

    [shown] = explain(build_services(os.environ), blob=BLOB)["rules"]

    assert aml.received == []
    assert shown["request"]["resolves_first"] == {
        "method": "GET", "url": f"{aml.url}{VERSIONS}?api-version=2024-01-01-preview&$orderBy=createdtime%20desc"
                                "&$top=1",
        "then": "properties.componentId is the newest version of azureml:retrain_pipeline@latest"}
    assert shown["request"]["body"]["properties"]["componentId"] is None
