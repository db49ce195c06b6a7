"""HTTP functions called as the worker calls them (a real HttpRequest), against Azurite and the stand-ins."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from localdev.aml_standin import Respond
from localdev.host import fire_timer
from localdev.http_counter import counting_requests
from shared.operations.http.http_api import MAX_REQUEST_BYTES
from tests.support.harness import deliver_blob, ledger_record, upload
from tests.support.http import call, event
from tests.support.samples import SAMPLE_CSV


def test_start_run_submits_once_per_request_id_with_overrides(app_env, aml):
    upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    body = {"rule": "default", "blob": "machines.csv", "experiment": "manual-retrain",
            "parameters": {"max_trials": 9}, "request_id": "ticket-42"}

    first = call("http_start_run", body=body)
    again = call("http_start_run", body=body)

    assert first[0] == 201 and first[1]["outcome"] == "submitted"
    assert again[0] == 200 and again[1]["outcome"] == "duplicate" and again[1]["run_id"] == first[1]["run_id"]
    [run] = aml.accepted
    assert run.body["ExperimentName"] == "manual-retrain"
    assert run.body["ParameterAssignments"] == {"model_name": "automlmodel", "max_trials": "9"}
    assert run.body["DataPathAssignments"]["input_datapath"]["RelativePath"] == "machines.csv"
    assert run.body["tags"]["trigger_manual"] == "ticket-42"


def test_start_run_without_a_request_id_starts_a_new_run_each_time(app_env, aml):
    assert call("http_start_run", body={"rule": "default"})[0] == 201
    assert call("http_start_run", body={"rule": "default"})[0] == 201
    assert len(aml.accepted) == 2 and "DataPathAssignments" not in aml.accepted[0].body


@pytest.mark.parametrize("request_kwargs, status, message", [
    ({"raw": b"{not json"}, 400, "POST /api/runs body is not valid JSON (Expecting property name enclosed in double "
                                 "quotes at line 1 column 2)"),
    ({"body": ["rule"]}, 400, "body must be a JSON object"),
    ({"body": {"blob": "a.csv"}}, 400, "rule is required"),
    ({"body": {"rule": "default", "priority": 1}}, 400, "unknown field 'priority'"),
    ({"body": {"rule": 7}}, 400, "rule must be a string"),
    ({"body": {"rule": "default", "parameters": "x=1"}}, 400, "parameters must be an object"),
    ({"body": {"rule": "nope"}}, 404, "no rule named 'nope' (rules: default)"),
    ({"body": {"rule": "default", "experiment": "bad name"}}, 400, "experiment = 'bad name'"),
    ({"body": {"rule": "default", "parameters": {"flag": True}}}, 400, 'write booleans as strings ("True")'),
    ({"body": {"rule": "default", "blob": "missing.csv"}}, 404, "missing.csv: blob no longer exists"),
    ({"raw": b"{" + b" " * MAX_REQUEST_BYTES + b"}"}, 413, "at most 65,536"),
    ({"body": {"rule": "default"}, "content_type": "text/plain"}, 415, "Content-Type must be application/json"),
])
def test_start_run_refuses_bad_requests_clearly_and_posts_nothing(app_env, aml, request_kwargs, status, message):
    code, answer = call("http_start_run", **request_kwargs)
    assert code == status and message in answer["error"], answer
    assert aml.received == []


BODY_ROUTES = {"http_start_run": "runs", "http_explain": "explain", "http_retry_run": "runs/retry"}


@pytest.mark.parametrize("function", BODY_ROUTES)
@pytest.mark.parametrize("raw, message", [
    (b"[" * 20_000 + b"]" * 20_000, "[0]" * 32 + " is nested more than 32 levels deep"),
    (b'{"rule": "default", "parameters": {"a": ' + b"[" * 33 + b"]" * 33 + b"}}",
     "parameters.a" + "[0]" * 30 + " is nested more than 32 levels deep"),
    (b'{"rule": "default", "parameters": {"n": ' + b"7" * 5_000 + b"}}",
     "parameters.n is a number of 5,000 characters; at most 100 are read"),
    (b'{"rule": "default", "parameters": {"x": 1.' + b"5" * 200 + b"}}",
     "parameters.x is a number of 202 characters; at most 100 are read"),
    (b'{"rule": "default", "parameters": {"x": 1e999}}', "parameters.x is a number out of range (not finite)"),
    (b'{"rule": "default", "parameters": {"x": -Infinity}}',
     "parameters.x is -Infinity, which JSON does not allow (a number must be finite)"),
    (b'{"rule": "default", "parameters": {"x": 1, "x": 2}}',
     "parameters has the key 'x' twice (only one value can be kept)"),
])
def test_unusable_json_in_any_body_is_a_clear_400_naming_the_field_and_posts_nothing(app_env, aml, function, raw,
                                                                                     message):
    code, answer = call(function, raw=raw)
    assert (code, answer["error"]) == (400, f"POST /api/{BODY_ROUTES[function]} body: {message}")
    assert aml.received == [] and call("http_list_runs", "GET")[1]["runs"] == []


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", 'Application/JSON;Charset="UTF-8"',
    "application/cloudevents+json", "application/json ; charset=UTF8"])
def test_json_media_types_with_a_utf8_charset_are_accepted(app_env, aml, content_type):
    code, answer = call("http_start_run", body={"rule": "default"}, content_type=content_type)
    assert code == 201 and len(aml.accepted) == 1, answer


@pytest.mark.parametrize("function", BODY_ROUTES)
@pytest.mark.parametrize("content_type, message", [
    ("text/not-json-at-all", "not 'text/not-json-at-all'"),
    ("text/plain; note=json", "not 'text/plain; note=json'"),
    ("application/jsonp", "not 'application/jsonp'"),
    ("json", "not 'json'"),
    ("application/json; charset=iso-8859-1", "the body is read as UTF-8, not 'iso-8859-1'"),
    (None, "the request has no Content-Type"),
    ("", "the request has no Content-Type"),
])
def test_a_body_that_does_not_say_it_is_json_is_a_415_and_posts_nothing(app_env, aml, function, content_type,
                                                                          message):
    code, answer = call(function, body={"rule": "default"}, content_type=content_type)
    assert code == 415 and answer["error"].startswith("Content-Type must be application/json") \
        and message in answer["error"], answer
    assert aml.received == []


@pytest.mark.parametrize("request_id", ["x" * 64_000, "a" * 129, "ticket 42", "line\nbreak", "", "-lead", "ü"])
def test_a_request_id_azure_ml_could_not_take_as_a_tag_is_a_clear_400_and_nothing_is_recorded(
        app_env, aml, request_id):
    code, answer = call("http_start_run", body={"rule": "default", "request_id": request_id})
    assert code == 400 and answer["error"] == (
        f"request_id ({len(request_id):,} characters) must be 1 to 128 letters, digits, '.', '_', ':' or '-', "
        "starting with a letter or digit")
    assert aml.received == [] and call("http_list_runs", "GET")[1]["runs"] == []


def test_a_request_id_of_128_plain_characters_is_sent_as_the_manual_tag(app_env, aml):
    request_id = "JIRA:OPS-1234." + "x_-" * 38
    code, _ = call("http_start_run", body={"rule": "default", "request_id": request_id})
    assert len(request_id) == 128 and code == 201
    assert aml.accepted[0].body["tags"]["trigger_manual"] == request_id


def test_start_run_reports_azure_ml_refusals_and_failures_for_now(app_env, aml, monkeypatch):
    monkeypatch.setenv("RETRY_MAX_ATTEMPTS", "1")
    aml.inject(Respond(400, code="UserError", message="bad parameter"), Respond(503))

    refused = call("http_start_run", body={"rule": "default", "request_id": "a"})
    for_now = call("http_start_run", body={"rule": "default", "request_id": "b"})

    assert refused[0] == 502 and refused[1]["error_code"] == "UserError" and refused[1]["retryable"] is False
    assert for_now[0] == 202 and for_now[1]["retryable"] is True and for_now[1]["state"] == "failed"


def test_a_rejected_blob_for_a_manual_run_is_422_and_recorded(app_env, aml):
    upload(app_env["WATCH_CONTAINER"], "bad.csv", b"only a header\n")
    code, answer = call("http_start_run", body={"rule": "default", "blob": "bad.csv"})
    assert (code, answer["outcome"], answer["reason"]) == (422, "rejected", "no data rows (header only)")
    assert aml.received == []


def test_explain_shows_the_exact_request_and_sends_nothing(app_env, aml, monkeypatch):
    monkeypatch.setenv("WATCH_PREFIX", "incoming/")
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "incoming/machines.csv", SAMPLE_CSV)

    by_path = call("http_explain", body={"blob": "incoming/machines.csv"})
    by_event = call("http_explain", body={"event": event(container, "incoming/machines.csv", etag)})
    deliver_blob(container, "incoming/machines.csv")  # what the event really sends

    assert by_path == by_event and by_path[0] == 200
    [rule] = by_path[1]["rules"]
    assert (rule["outcome"], rule["request"]["token_scope"]) == ("would submit", "https://management.azure.com/.default")
    assert rule["request"]["body"] == aml.accepted[0].body
    assert rule["request"]["headers"] == {"Content-Type": "application/json"}  # a v1 POST's shared default, as JSON
    assert ledger_record("default", container, "incoming/machines.csv", etag)["state"] == "submitted"
    assert len(aml.received) == 1  # only the delivery posted


def test_explain_says_why_nothing_would_run(app_env, aml, monkeypatch):
    monkeypatch.setenv("WATCH_PREFIX", "incoming/")
    container = app_env["WATCH_CONTAINER"]
    stale = upload(container, "incoming/a.csv", SAMPLE_CSV)
    upload(container, "incoming/a.csv", SAMPLE_CSV + b"1,2,3,4,5,6,7\n")

    not_matching = call("http_explain", body={"blob": "archive/a.csv"})[1]
    overwritten = call("http_explain", body={"event": [event(container, "incoming/a.csv", stale)]})[1]["events"][0]
    other_container = call("http_explain", body={"event": event("elsewhere", "incoming/a.csv", stale)})[1]

    assert not_matching["rules"] == [{"rule": "default", "matches": False, "reason": "not under 'incoming/'"}]
    assert overwritten["outcome"].startswith("ignored: blob was overwritten since the event")
    assert other_container["outcome"] == f"ignored: container is not {container!r}"
    assert aml.received == []


@pytest.mark.parametrize("body, message", [
    ({}, "give either blob"),
    ({"blob": "a.csv", "event": {}}, "give either blob"),
    ({"event": {"eventType": "Microsoft.Storage.BlobDeleted", "subject": "/blobServices/default/containers/c/blobs/a"}},
     "not a Microsoft.Storage.BlobCreated event"),
    ({"event": {"eventType": "Microsoft.Storage.BlobCreated", "subject": "/containers/c/a.csv"}}, "subject must be"),
    ({"event": {**event("c", "a.csv", None),
                "topic": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/elsewhere"}},
     "topic names storage account 'elsewhere', not the watched account 'devstoreaccount1': an event of another "
     "account is not replayed or explained against this one"),
])
def test_explain_refuses_what_it_cannot_explain(app_env, body, message):
    code, answer = call("http_explain", body=body)
    assert code == 400 and message in answer["error"]


def test_list_runs_filters_on_rule_state_and_time(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    upload(container, "good.csv", SAMPLE_CSV)
    upload(container, "bad.csv", b"header only\n")
    deliver_blob(container, "good.csv")
    deliver_blob(container, "bad.csv")

    everything = call("http_list_runs", "GET", params={"rule": "default"})[1]["runs"]
    rejected = call("http_list_runs", "GET", params={"state": "rejected"})[1]["runs"]
    future = call("http_list_runs", "GET", params={"since": "2999-01-01T00:00:00Z"})[1]["runs"]

    assert sorted(run["state"] for run in everything) == ["rejected", "submitted"]
    assert [run["subject"]["blob"] for run in rejected] == ["bad.csv"] and future == []
    assert everything[0]["record"].startswith("rules/default/")


def test_health_builds_its_clients_once_so_a_check_costs_its_three_storage_probes(app_env, azurite, identity):
    call("http_health", "GET")  # the first check builds the clients and creates the ledger's container if missing
    with counting_requests() as sent:
        code, report = call("http_health", "GET")

    storage = urlsplit(azurite.endpoints["blob"]).netloc
    # one page of the ledger, the watched container's properties, one page of the dead letters: no create
    assert code == 200 and report["ledger"] == report["watched_container"] == {"ok": True}
    assert {key: count for key, count in sent.items() if key.endswith(storage)} == {
        storage: 3, f"GET {storage}": 3}


def test_unfiltered_runs_say_as_of_the_run_indexs_last_catch_up_and_filtered_ones_do_not(app_env, aml):
    upload(app_env["WATCH_CONTAINER"], "a.csv", SAMPLE_CSV)
    deliver_blob(app_env["WATCH_CONTAINER"], "a.csv")

    code, indexed = call("http_list_runs", "GET")  # the first view builds the index
    _, served = call("http_list_runs", "GET")  # the next one is served it as stored
    _, filtered = call("http_list_runs", "GET", params={"rule": "default"})

    assert code == 200 and [run["subject"]["blob"] for run in indexed["runs"]] == ["a.csv"]
    assert datetime.fromisoformat(indexed["as_of"]) <= datetime.now(UTC) and indexed["as_of"].endswith("Z")
    assert (indexed["caught_up_by"], served["caught_up_by"]) == ("view", "view")  # no timer ran: views did
    fire_timer("catch_up_run_index")
    assert call("http_list_runs", "GET")[1]["caught_up_by"] == "timer"
    assert served["runs"] == indexed["runs"] and served["as_of"] >= indexed["as_of"]
    assert set(filtered) == {"runs"} and filtered["runs"] == indexed["runs"]


@pytest.mark.parametrize("params, message", [
    ({"limit": "many"}, "limit must be a whole number from 1 to 1000, not 'many'"),
    ({"limit": "0"}, "limit must be a whole number from 1 to 1000, not '0'"),
    ({"limit": "99999"}, "limit must be a whole number from 1 to 1000, not '99999'"),
    ({"limit": "-1"}, "limit must be a whole number from 1 to 1000, not '-1'"),
    ({"limit": "1001"}, "limit must be a whole number from 1 to 1000, not '1001'"),
    ({"limit": "9" * 5000}, "limit must be a whole number from 1 to 1000, not '99999999999999999999'"),
    ({"state": "done"}, "state must be one of"), ({"since": "yesterday"}, "since must be an ISO 8601 time"),
    ({"color": "red"}, "unknown query parameters: color"), ({"rule": "a", "schedule": "b"}, "not both"),
])
def test_list_runs_refuses_bad_queries(app_env, params, message):
    code, answer = call("http_list_runs", "GET", params=params)
    assert code == 400 and message in answer["error"], answer


def test_list_runs_takes_a_limit_at_the_top_of_its_range(app_env, aml):
    assert call("http_list_runs", "GET", params={"limit": "1000"}) == (200, {"runs": []})


def test_retry_reruns_a_failed_record_once_its_cause_is_fixed(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    aml.inject(Respond(404, code="PipelineNotFound", message="pipeline was not published yet"))
    deliver_blob(container, "machines.csv")
    [record] = call("http_list_runs", "GET", params={"state": "failed"})[1]["runs"]

    code, answer = call("http_retry_run", body={"record": record["record"]})  # the pipeline is published now

    assert (code, answer["outcome"], answer["took_over"]) == (201, "submitted", True)
    assert ledger_record("default", container, "machines.csv", etag)["run_id"] == aml.accepted[0].run_id
    assert call("http_retry_run", body={"record": record["record"]})[0] == 409  # submitted: nothing to retry


def test_retry_revalidates_a_rejected_record_against_the_current_rules(app_env, aml, monkeypatch):
    monkeypatch.setenv("CSV_REQUIRED_COLUMNS", "CPU")
    upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)
    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")
    [record] = call("http_list_runs", "GET", params={"state": "rejected"})[1]["runs"]
    monkeypatch.delenv("CSV_REQUIRED_COLUMNS")  # the rule was wrong, not the file
    from shared.clients.process.services import process_services

    process_services.cache_clear()
    assert call("http_retry_run", body={"record": record["record"]})[0] == 201
    assert len(aml.accepted) == 1


@pytest.mark.parametrize("body, status", [({"record": f"rules/default/{'0' * 64}.json"}, 404),
                                          ({"record": "rules/../x.json"}, 400), ({"record": "../etc/passwd"}, 400),
                                          ({}, 400)])
def test_retry_refuses_unknown_or_malformed_records(app_env, body, status):
    assert call("http_retry_run", body=body)[0] == status


def test_a_retry_that_cannot_happen_leaves_the_record_as_it_was(app_env, aml, monkeypatch):
    container = app_env["WATCH_CONTAINER"]
    first = upload(container, "machines.csv", SAMPLE_CSV)
    aml.inject(Respond(404, code="PipelineNotFound", message="not published"))
    deliver_blob(container, "machines.csv")
    [record] = call("http_list_runs", "GET", params={"state": "failed"})[1]["runs"]
    upload(container, "machines.csv", SAMPLE_CSV + b"1,2,3,4,5,6,7\n")  # a newer version arrived meanwhile

    code, answer = call("http_retry_run", body={"record": record["record"]})

    assert code == 409 and "changed since" in answer["error"]
    after = ledger_record("default", container, "machines.csv", first)
    assert (after["state"], after["retryable"]) == ("failed", False) and aml.accepted == []


@pytest.mark.parametrize("function, request_kwargs, message", [
    ("http_explain", {"body": {"event": {"eventType": "Microsoft.Storage.BlobCreated", "subject": 5}}},
     "subject must be"),
    ("http_explain", {"body": {"event": {"eventType": "Microsoft.Storage.BlobCreated", "data": {"eTag": 5},
                                         "subject": "/blobServices/default/containers/c/blobs/a.csv"}}},
     "data.eTag must be a string"),
    ("http_explain", {"body": {"blob": " "}}, "give either blob"),
    ("http_start_run", {"body": {"rule": "default", "blob": ""}}, "blob must be a path inside the watched container"),
    ("http_start_run", {"raw": b'{"rule": "default", "parameters": {"ratio": NaN}}'},
     "parameters.ratio is NaN, which JSON does not"),
    ("http_list_runs", {"method": "GET", "params": {"limit": "\u00b2"}}, "limit must be a whole number"),
])
def test_odd_input_is_a_clear_400_not_a_crash(app_env, aml, function, request_kwargs, message):
    code, answer = call(function, **request_kwargs)
    assert code == 400 and message in answer["error"], answer
    assert aml.received == []


def test_health_reports_config_storage_and_tokens_without_secrets(app_env, identity):
    code, report = call("http_health", "GET")
    assert code == 200
    assert report["tokens"] == {"https://management.azure.com/.default": {"ok": True}}
    assert report["ledger"] == {"ok": True} and report["watched_container"] == {"ok": True}
    assert identity.issued[0] not in json.dumps(report)


def test_health_is_503_with_the_reason_when_something_is_wrong(app_env, identity, monkeypatch):
    identity.fail_next(4)
    monkeypatch.setenv("WATCH_CONTAINER", "no-such-container")
    code, report = call("http_health", "GET")
    assert code == 503
    assert report["watched_container"]["ok"] is False and "not found" in report["watched_container"]["error"]
    assert report["tokens"]["https://management.azure.com/.default"]["ok"] is False

    monkeypatch.setenv("AML_EXPERIMENT", "bad name")
    code, report = call("http_health", "GET")
    assert code == 503 and report["configuration"]["problems"][0].startswith("AML_EXPERIMENT = 'bad name'")


def test_health_names_the_one_rule_settings_a_rules_file_leaves_ignored(app_env, identity, tmp_path, monkeypatch):
    rule = {"name": "r", "target": {"url": "%AML_PIPELINE_URL%"}, "experiment": "from-file"}
    (tmp_path / "rules.json").write_text(json.dumps({"rules": [rule]}), encoding="utf-8")
    monkeypatch.setenv("TRIGGER_RULES_FILE", str(tmp_path / "rules.json"))

    code, report = call("http_health", "GET")

    assert code == 200 and report["configuration"]["ignored_settings"] == [
        "AML_DATASTORE", "AML_DATA_PATH_PARAMETER", "AML_EXPERIMENT", "AML_PARAMETERS"]
    assert report["configuration"]["warnings"] == [  # which wins, said where the settings are checked
        "AML_DATASTORE, AML_DATA_PATH_PARAMETER, AML_EXPERIMENT, AML_PARAMETERS set but IGNORED: TRIGGER_RULES_FILE "
        "replaces the one-rule settings; move them into the rules file (or name them there as %SETTING%), or unset "
        "them"]


def test_health_names_the_setting_a_mistyped_name_likely_means_and_stays_healthy(app_env, identity, monkeypatch):
    monkeypatch.setenv("WATCH_SUBFOLDER", "true")
    monkeypatch.setenv("PATHX", "/usr/bin")  # not the app's kind of name: never looked at

    code, report = call("http_health", "GET")

    assert code == 200 and report["configuration"]["warnings"] == [
        "WATCH_SUBFOLDER is not a setting of this app (it does nothing); did you mean WATCH_SUBFOLDERS?"]


def test_a_refused_configuration_is_a_503_listing_every_problem_at_once_and_starts_no_run(app_env, aml, monkeypatch):
    path = aml.published_pipeline_url().split("/pipelines/")[1]
    url = f"https://eastus.api.azureml.ms:8443/pipelines/{path}"
    for name, value in {"WATCH_SUFFIX": "", "CSV_REQUIRED_COLUMNS": ", ,", "AML_PIPELINE_URL": url,
                        "AML_EXPERIMENTS": "retrain"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AML_EXPERIMENT")
    upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)

    code, report = call("http_health", "GET")
    started, answer = call("http_start_run", body={"rule": "default", "blob": "machines.csv"})

    assert code == 503 and report["configuration"]["problems"] == [
        "WATCH_SUFFIX = '': a file ending such as '.csv', or '*' for any ending; unset, it is '.csv'",
        "CSV_REQUIRED_COLUMNS = ', ,': comma-separated column names, none empty, such as 'MYCT,PRP'; unset, no "
        "column is required",
        "AML_EXPERIMENT = (not set): an experiment name: letters, digits, '-' and '_', starting with a letter or "
        "digit",
        f"AML_PIPELINE_URL = {url!r}: port 8443: Azure ML hosts answer on https's port 443 only (leave the port "
        "out; other ports only on a loopback host, with AML_ALLOW_LOCAL_TARGETS=true)",
        "AML_EXPERIMENTS = 'retrain': not a setting of this app; did you mean AML_EXPERIMENT?"]
    assert (started, answer["error"]) == (503, "the app's configuration is invalid")  # as for any ConfigError
    assert answer["problems"] == report["configuration"]["problems"]
    assert aml.received == []


@pytest.mark.parametrize("function", ["http_health", "http_list_runs"])
def test_a_rules_file_too_deep_to_read_is_503_listing_the_problem_on_health_and_runs(app_env, tmp_path, monkeypatch,
                                                                                     function):
    (tmp_path / "rules.json").write_bytes(b'{"rules": ' + b"[" * 20_000 + b"]" * 20_000 + b"}")
    monkeypatch.setenv("TRIGGER_RULES_FILE", str(tmp_path / "rules.json"))

    code, answer = call(function, "GET")

    problems = answer["configuration"]["problems"] if function == "http_health" else answer["problems"]
    assert code == 503 and problems == [
        f"TRIGGER_RULES_FILE = {str(tmp_path / 'rules.json')!r}: valid UTF-8 JSON within bounds (rules file "
        f"{tmp_path / 'rules.json'}: rules" + "[0]" * 31 + " is nested more than 32 levels deep)"]
