"""Blob names that would leave the watched container are refused wherever they enter, before any I/O.

The issue's exploit: with an account-SAS connection (no path in the signature), ``../other/x.csv`` read a blob in
another container, because HTTP clients remove dot segments from the URL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

from cli.__main__ import main
from localdev.azurite import ACCOUNT, ACCOUNT_KEY
from localdev.http_counter import counting_requests
from shared.clients.process.services import process_services
from shared.core.blobs.blob_names import BlobNameError, blob_name_problem, checked_blob_name
from shared.core.config.config_loader import load_config
from shared.core.config.problems import ConfigError
from shared.core.ledger.decisions import Outcome
from shared.flows.blobs.blob_runs import process_blob
from tests.support.harness import deliver_blob, service_client, upload
from tests.support.http import call, event
from tests.support.samples import SAMPLE_CSV
from tests.support.settings import LOADED_AT

ESCAPES = ["../other/x.csv", "incoming/../../other/x.csv", "./x.csv", "a/./x.csv", "a/.../x.csv",
           "..\\other\\x.csv", "/other/x.csv", "a//x.csv", "incoming/", "%2e%2e/other/x.csv", "a%2Fb.csv",
           "\uff0e\uff0e/other/x.csv", "a\uff0fb.csv", "x.csv\x00", "new\nline.csv", "a\x85b.csv", "x.",
           "a" * 1025, "a/" * 254 + "x.csv", "\ud800.csv"]


@pytest.mark.parametrize("name, problem", [
    ("../other/x.csv", "has a '.' or '..' segment: it would leave the path it names"),
    ("..\\other\\x.csv", "contains a backslash (some clients read it as '/')"),
    ("/other/x.csv", "starts with '/': give the path inside the container, such as incoming/data.csv"),
    ("a//x.csv", "has an empty path segment ('//', or a trailing '/')"),
    ("%2e%2e/other/x.csv", "contains a percent-escape (%XX): a layer that decodes it would read another path"),
    ("\uff0e\uff0e/other/x.csv", "normalises (Unicode NFKC) to '../other/x.csv', which has a '.' or '..' segment: it "
                                 "would leave the path it names"),
    ("a\uff0fb.csv", "normalises (Unicode NFKC) to 'a/b.csv': characters that read as '/', '.' or '%' would name "
                     "another path"),
    ("x.csv\x00", "contains the character U+0000 (control, surrogate or not a character)"),
    ("x.", "ends with '.' (Azure advises against it: some layers drop trailing dots)"),
    ("a" * 1025, "is 1,025 characters long; Azure allows at most 1,024"),
    ("a/" * 254 + "x.csv", "has 255 path segments; Azure allows at most 254"),
])
def test_a_blob_name_that_leaves_its_path_is_refused_with_the_reason(name, problem):
    assert blob_name_problem(name) == problem
    with pytest.raises(BlobNameError) as refused:
        checked_blob_name(name)
    assert str(refused.value).endswith(f" {problem}")


@pytest.mark.parametrize("name", ["", "  ", None])
def test_no_name_is_refused_saying_what_a_name_is(name):
    expected = "must be a path inside the watched container, such as incoming/data.csv"
    assert blob_name_problem(name) == expected
    with pytest.raises(BlobNameError) as refused:
        checked_blob_name(name, "--blob")
    assert str(refused.value) == f"--blob {expected}"


def test_a_refused_name_is_called_a_blob_unless_the_caller_names_it():
    with pytest.raises(BlobNameError) as refused:
        checked_blob_name("../x.csv")
    assert str(refused.value).startswith("blob '../x.csv' ")


@pytest.mark.parametrize(("code", "refused"), [(0xFDCF, False), (0xFDD0, True), (0xFDEF, True), (0xFDF0, False),
                                               (0xFFFD, False), (0xFFFE, True), (0xFFFF, True), (0x1FFFE, True),
                                               (0x1FFFF, True), (0x1FFFD, False)])
def test_unicode_noncharacters_are_refused_and_their_neighbours_are_not(code, refused):
    problem = f"contains the character U+{code:04X} (control, surrogate or not a character)"
    assert blob_name_problem(f"a{chr(code)}b") == (problem if refused else None)


@pytest.mark.parametrize("name", ["machines.csv", "incoming/2026/11/machines.csv", "100% done.csv", "a.b/c..csv",
                                  "cafe\u0301/donn\u00e9es.csv", "\u30c7\u30fc\u30bf.csv", "a" * 1024,
                                  "a/" * 253 + "x.csv", ".hidden/x.csv", "..x.csv"])
def test_ordinary_blob_names_pass_unchanged(name):
    assert checked_blob_name(name) == name


@pytest.fixture
def sas_env(app_env, azurite, monkeypatch) -> dict[str, str]:
    """The watched account through an account SAS, as in the issue, and another container with a blob in it."""
    sas = generate_account_sas(ACCOUNT, ACCOUNT_KEY, ResourceTypes(service=True, container=True, object=True),
                               AccountSasPermissions(read=True, list=True, write=True, create=True),
                               expiry=datetime.now(UTC) + timedelta(hours=1))
    monkeypatch.setenv("WATCH_STORAGE",
                       f"BlobEndpoint={azurite.endpoints['blob']}/{ACCOUNT};SharedAccessSignature={sas}")
    other = app_env["WATCH_CONTAINER"].replace("data-", "other-")
    service_client().create_container(other)
    upload(other, "x.csv", SAMPLE_CSV)
    process_services.cache_clear()
    return {**app_env, "OTHER": other}


def ledger_names(env: dict[str, str]) -> list[str]:
    ledger = service_client().get_container_client(env["LEDGER_CONTAINER"])
    return [blob.name for blob in ledger.list_blobs()] if ledger.exists() else []


def assert_nothing_read_posted_or_recorded(requests, aml, env) -> None:
    assert sum(count for netloc, count in requests.items() if " " not in netloc) == 0, requests
    assert aml.received == []
    assert ledger_names(env) == []


def test_a_manual_run_for_a_blob_in_another_container_is_refused_and_nothing_is_read(sas_env, aml):
    with counting_requests() as requests:
        code, answer = call("http_start_run", body={"rule": "default", "blob": f"../{sas_env['OTHER']}/x.csv"})

    assert code == 400
    assert answer["error"] == (f"blob '../{sas_env['OTHER']}/x.csv' has a '.' or '..' segment: "
                               "it would leave the path it names")
    assert_nothing_read_posted_or_recorded(requests, aml, sas_env)


@pytest.mark.parametrize("name", ESCAPES)
def test_every_escaping_name_is_a_400_for_a_manual_run(sas_env, aml, name):
    with counting_requests() as requests:
        code, answer = call("http_start_run", body={"rule": "default", "blob": name})
    assert code == 400 and answer["error"].startswith("blob "), answer
    assert_nothing_read_posted_or_recorded(requests, aml, sas_env)


def test_explain_of_a_blob_in_another_container_is_refused_and_shows_nothing_of_it(sas_env, aml):
    with counting_requests() as requests:
        code, answer = call("http_explain", body={"blob": f"../{sas_env['OTHER']}/x.csv"})
    assert code == 400 and "has a '.' or '..' segment" in answer["error"]
    assert "MYCT" not in json.dumps(answer)
    assert_nothing_read_posted_or_recorded(requests, aml, sas_env)


def test_explain_of_an_event_whose_subject_or_url_leaves_the_container_is_refused(sas_env, aml):
    container = sas_env["WATCH_CONTAINER"]
    by_subject = event(container, f"../{sas_env['OTHER']}/x.csv", None)
    by_url = event(container, "x.csv", None)
    by_url["data"]["url"] = f"https://acct.blob.core.windows.net/{container}/..%2F{sas_env['OTHER']}%2Fx.csv"

    with counting_requests() as requests:
        subject_answer = call("http_explain", body={"event": by_subject})
        url_answer = call("http_explain", body={"event": [by_url]})

    assert subject_answer[0] == 400 and "subject's blob" in subject_answer[1]["error"]
    assert "has a '.' or '..' segment" in subject_answer[1]["error"]
    assert url_answer[0] == 400 and "data.url must name the blob that subject names" in url_answer[1]["error"]
    assert_nothing_read_posted_or_recorded(requests, aml, sas_env)


def test_an_event_whose_url_names_the_same_blob_is_explained(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines 1.csv", SAMPLE_CSV)
    created = event(container, "machines 1.csv", etag)
    created["data"]["url"] = f"https://devstoreaccount1.blob.core.windows.net/{container}/machines%201.csv"
    code, answer = call("http_explain", body={"event": created})
    assert code == 200 and answer["blob"] == "machines 1.csv" and answer["etag"] == etag


def test_a_retry_of_a_record_naming_a_blob_elsewhere_is_refused_and_the_record_kept(sas_env, aml):
    from localdev.aml_standin import Respond

    container = sas_env["WATCH_CONTAINER"]
    upload(container, "machines.csv", SAMPLE_CSV)
    aml.inject(Respond(404, code="PipelineNotFound", message="not published"))
    deliver_blob(container, "machines.csv")
    [name] = ledger_names(sas_env)
    record = service_client().get_blob_client(sas_env["LEDGER_CONTAINER"], name)
    tampered = json.loads(record.download_blob().readall())
    tampered["subject"]["blob"] = f"../{sas_env['OTHER']}/x.csv"
    record.upload_blob(json.dumps(tampered), overwrite=True, metadata=record.get_blob_properties().metadata)
    aml.received.clear()

    code, answer = call("http_retry_run", body={"record": name})

    assert code == 400 and answer["error"].startswith(f"the record's blob '../{sas_env['OTHER']}/x.csv' has a '.'")
    assert aml.received == [] and json.loads(record.download_blob().readall()) == tampered


def test_the_cli_refuses_escaping_names_for_submit_and_explain(sas_env, aml, capsys):
    with counting_requests() as requests:
        assert main(["submit", "default", "--blob", f"../{sas_env['OTHER']}/x.csv"]) == 1
        submitted = capsys.readouterr().err
        assert main(["explain", "--blob", "a\\..\\x.csv"]) == 1
        explained = capsys.readouterr().err
    assert "has a '.' or '..' segment" in json.loads(submitted)["error"]
    assert "contains a backslash" in json.loads(explained)["error"]
    assert_nothing_read_posted_or_recorded(requests, aml, sas_env)


def test_a_blob_delivery_with_an_escaping_name_is_ignored_without_a_read(sas_env, aml, monkeypatch):
    monkeypatch.setenv("WATCH_SUBFOLDERS", "true")  # so the name matches the rule: only the name check stops it
    process_services.cache_clear()
    with counting_requests() as requests:
        deliver_blob(sas_env["WATCH_CONTAINER"], f"../{sas_env['OTHER']}/x.csv")
    assert_nothing_read_posted_or_recorded(requests, aml, sas_env)


def test_process_blob_refuses_an_escaping_name_with_a_logged_reason(sas_env, aml, monkeypatch):
    monkeypatch.setenv("WATCH_SUBFOLDERS", "true")
    process_services.cache_clear()
    services = process_services()
    blob = services.watched.get_blob_client(f"../{sas_env['OTHER']}/x.csv")
    with counting_requests() as requests:
        [decision] = process_blob(blob, services)
    assert decision.outcome is Outcome.IGNORED
    assert decision.reason == "blob name refused: it has a '.' or '..' segment: it would leave the path it names"
    assert_nothing_read_posted_or_recorded(requests, aml, sas_env)


@pytest.mark.parametrize("blob, problem", [("../other/x.csv", "has a '.' or '..' segment"),
                                           ("a\\b.csv", "contains a backslash"), ("", "must be a path inside")])
def test_a_schedule_data_blob_that_leaves_the_container_is_a_config_error(tmp_path, blob, problem):
    url = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/s/resourceGroups/r/providers/"
           "Microsoft.MachineLearningServices/workspaces/w/PipelineRuns/PipelineSubmit/p")
    schedule = {"name": "nightly", "cron": "0 0 2 * * *", "target": {"url": url}, "experiment": "retrain",
                "data": {"blob": blob}, "data_path": {"parameter": "input_datapath", "datastore": "store"}}
    (tmp_path / "rules.json").write_text(json.dumps({"schedules": [schedule]}), encoding="utf-8")
    env = {"WATCH_CONTAINER": "training-data", "WATCH_STORAGE": "AccountName=trainingdata;AccountKey=a2V5",
           "AzureWebJobsStorage": "AccountName=trainingdata;AccountKey=a2V5", "TRIGGER_RULES_FILE": "rules.json"}
    with pytest.raises(ConfigError) as refused:
        load_config(env, tmp_path, now=LOADED_AT)
    [found] = refused.value.problems
    assert found.where == "rules.json: schedules[0].data.blob" and problem in found.expected


@pytest.mark.parametrize("name", ["incoming/percent%20and%2F.csv", "\uff0e\uff0e/x.csv", "x."])
def test_a_blob_the_host_names_may_have_forms_only_a_decoding_layer_would_misread(name):
    """The SDK sends such a name as it is (``%`` as ``%25``), so an existing blob with it can only be itself."""
    assert blob_name_problem(name, supplied=False) is None
    assert blob_name_problem(name) is not None


@pytest.mark.parametrize("name", ["../x.csv", "a\\b.csv", "a//b.csv", "/x.csv", "a\x00.csv"])
def test_a_blob_the_host_names_is_still_refused_when_http_clients_would_rewrite_it(name):
    assert blob_name_problem(name, supplied=False) is not None


def test_an_operators_retry_of_a_record_for_a_blob_named_with_a_percent_reruns_it_as_the_host_did(app_env, aml):
    """The record's blob is one the host processed (a name the app wrote, not one a person typed): a retry reads
    it back under the host's rule, not the stricter one for names supplied by hand."""
    from localdev.aml_standin import Respond

    container = app_env["WATCH_CONTAINER"]
    upload(container, "report%20v2.csv", SAMPLE_CSV)
    aml.inject(Respond(404, code="PipelineNotFound", message="not published yet"))
    deliver_blob(container, "report%20v2.csv")
    [listed] = call("http_list_runs", "GET", params={"state": "failed"})[1]["runs"]

    code, retried = call("http_retry_run", body={"record": listed["record"]})

    assert (code, retried.get("outcome"), retried.get("error")) == (201, "submitted", None)
    [run] = aml.accepted
    assert run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] == "report%20v2.csv"


@pytest.mark.parametrize(("name", "code"), [("a\ud800b", "D800"), ("a\ue000b", "E000"), ("a\x07b", "0007")])
def test_a_surrogate_a_private_use_or_a_control_character_is_refused_by_its_code_point(name, code):
    assert blob_name_problem(name) == f"contains the character U+{code} (control, surrogate or not a character)"


def test_a_refused_name_is_shown_whole_up_to_80_characters_and_cut_after():
    at_80, at_81 = "a\\" + "b" * 78, "a\\" + "b" * 79
    backslash = "contains a backslash (some clients read it as '/')"
    for name, shown in ((at_80, at_80), (at_81, at_81[:77] + "...")):
        with pytest.raises(BlobNameError) as caught:
            checked_blob_name(name, "--blob")
        assert str(caught.value) == f"--blob {shown!r} {backslash}"


def test_a_name_the_host_hands_over_is_checked_as_a_path_only():
    assert checked_blob_name("in/a%41.csv", supplied=False) == "in/a%41.csv"
