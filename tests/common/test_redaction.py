"""Secrets are masked by value: each secret shape, fed through each path (ConfigError text, /api/health, explain,
decision log lines at DEBUG), appears nowhere."""

from __future__ import annotations

import json
import logging

import pytest

from localdev.aml_standin import Respond
from shared.clients.process.services import process_services
from shared.core.common.redaction import looks_secret, mask_text, masked, redact_url, secret_values
from shared.core.config.config_loader import load_config
from shared.core.config.problems import ConfigError
from tests.support.harness import deliver_blob, upload
from tests.support.http import call
from tests.support.samples import FAKE_JWT, SAMPLE_CSV
from tests.support.settings import LOADED_AT, NO_APP_ROOT, minimal_env

ACCOUNT_KEY = "Zm9vYmFyS2V5VmFsdWUxMjM0NTY3ODkwQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9w/+Q=="
CONNECTION = f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={ACCOUNT_KEY};EndpointSuffix=core.windows.net"
SAS_SIG = "AbCdEf0123456789SecretSig"
SAS = f"sv=2022-11-02&ss=b&srt=sco&sp=r&se=2030-01-01T00%3A00%3A00Z&sig={SAS_SIG}"
JWT = FAKE_JWT
BASE64_KEY = "Q2xpZW50U2VjcmV0VmFsdWVGb3JUZXN0aW5nT25seTEyMzQ1Njc4OTA="
PASSWORD = "Pa55w0rdInUserInfo"
PLAIN_SECRET = "plain-looking-value-42"
"""A secret with no recognisable shape: known only because it is the value of a secret-named setting."""
SHAPES = {"connection string": CONNECTION, "SAS": SAS, "JWT": JWT, "base64 key": BASE64_KEY}
TELLS = [ACCOUNT_KEY, SAS_SIG, JWT, BASE64_KEY, PASSWORD, PLAIN_SECRET]
"""What must never appear: each secret's own text."""


def assert_no_secret(text: str) -> None:
    for tell in TELLS:
        assert tell not in text, f"{tell[:12]}... leaked in: {text[:2000]}"


@pytest.mark.parametrize("secret", SHAPES.values(), ids=SHAPES.keys())
def test_each_secret_shape_looks_secret_and_is_masked_inside_text(secret):
    assert looks_secret(secret)
    assert_no_secret(mask_text(f"Azure ML said: bad value {secret} for input"))


@pytest.mark.parametrize("text", ["rules/default/" + "ab12" * 16 + ".json", "0x8DCB1F2A3E4D5C6", "machines.csv",
                                  "https://ml.azure.com/runs/r1?wsid=/subscriptions/s/resourcegroups/g/workspaces/w",
                                  "/api/v1.0/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearning"])
def test_record_keys_etags_and_paths_are_not_mistaken_for_secrets(text):
    assert mask_text(text, urls=False) == text


@pytest.mark.parametrize("url", [f"https://user:{PASSWORD}@[not-an-ipv6/path?sig={SAS_SIG}",
                                 f"https://user:{PASSWORD}@host:99999x/p#{SAS_SIG}"])
def test_a_url_that_does_not_parse_still_loses_user_info_and_query(url):
    assert_no_secret(redact_url(url))


def problems_text(env: dict[str, str], app_root=NO_APP_ROOT) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(env, app_root, now=LOADED_AT)
    return str(caught.value) + json.dumps([str(problem) for problem in caught.value.problems])


@pytest.mark.parametrize("secret", SHAPES.values(), ids=SHAPES.keys())
def test_nested_parameter_values_are_masked_in_config_errors(secret):
    text = problems_text(minimal_env(AML_PARAMETERS=json.dumps({"settings": {"deep": [secret]}, "n": {"x": 1}})))
    assert "AML_PARAMETERS.settings = " in text and "AML_PARAMETERS.n = {'x': 1}" in text
    assert_no_secret(text)


def test_a_url_with_user_info_that_does_not_parse_is_masked_in_config_errors():
    text = problems_text(minimal_env(AML_PIPELINE_URL=f"https://user:{PASSWORD}@[eastus.api.azureml.ms/p"))
    assert "AML_PIPELINE_URL = 'https://[eastus.api.azureml.ms/p': not a URL" in text
    assert_no_secret(text)


@pytest.mark.parametrize("setting, value", [("DATA_CONNECTION", CONNECTION), ("MY_API_KEY", PLAIN_SECRET),
                                            ("SOME_JWT_HOLDER", JWT)])
def test_a_setting_substituted_into_an_innocent_field_is_masked_there(tmp_path, setting, value):
    rule = {"name": "r1", "prefix": "incoming/", "experiment": f"exp %{setting}%",
            "target": {"url": f"https://eastus.api.azureml.ms/x/%{setting}%"}, "description": f"%{setting}%"}
    (tmp_path / "rules.json").write_text(json.dumps({"rules": [rule]}), encoding="utf-8")
    env = minimal_env(AML_PIPELINE_URL=None, AML_EXPERIMENT=None, TRIGGER_RULES_FILE="rules.json", **{setting: value})
    text = problems_text(env, tmp_path)
    assert "rules.json: rules[0].experiment = " in text and "rules.json: rules[0].target.url = " in text
    assert_no_secret(text)


@pytest.mark.parametrize("secret", [*SHAPES.values(), PLAIN_SECRET], ids=[*SHAPES.keys(), "secret-named setting"])
def test_health_shows_no_secret_from_a_broken_configuration(app_env, monkeypatch, secret):
    monkeypatch.setenv("MY_API_KEY", PLAIN_SECRET)
    monkeypatch.setenv("AML_PARAMETERS", json.dumps({"nested": {"value": [secret]}}))
    monkeypatch.setenv("AML_EXPERIMENT", f"bad name {secret}")
    monkeypatch.setenv("RUN_STATUS_POLL_SCHEDULE", f"0 */10 * * * {secret}")
    code, report = call("http_health", "GET")
    assert code == 503 and report["configuration"]["ok"] is False
    assert len(report["configuration"]["problems"]) == 3
    assert_no_secret(json.dumps(report))


def test_explain_masks_secret_parameters_that_the_real_post_still_sends(app_env, aml, monkeypatch):
    parameters = {"api_key": "k-123456", "token_holder": JWT, "blob_sas": SAS, "model_name": "automlmodel"}
    monkeypatch.setenv("AML_PARAMETERS", json.dumps(parameters))
    upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)

    code, answer = call("http_explain", body={"blob": "machines.csv"})
    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")

    assert code == 200
    assert answer["rules"][0]["request"]["body"]["ParameterAssignments"] == {
        "api_key": "***", "token_holder": "***", "blob_sas": "***", "model_name": "automlmodel"}
    assert "k-123456" not in json.dumps(answer)
    assert_no_secret(json.dumps(answer))
    assert aml.accepted[0].body["ParameterAssignments"] == parameters


def test_decision_log_lines_at_debug_show_no_secret_an_error_echoed(app_env, aml, monkeypatch, caplog):
    monkeypatch.setenv("MY_API_KEY", PLAIN_SECRET)
    monkeypatch.setenv("AML_PARAMETERS", json.dumps({"token": JWT, "sas": SAS}))
    echoed = f"bad inputs token={JWT} sas={SAS} key={BASE64_KEY} conn={CONNECTION}"
    aml.inject(Respond(400, code="UserError", message=echoed))
    upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)

    with caplog.at_level(logging.DEBUG):
        deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")
        code, listed = call("http_list_runs", "GET")

    assert code == 200 and listed["runs"][0]["state"] == "failed"
    assert_no_secret(json.dumps(listed))
    decision_lines = [record.getMessage() for record in caplog.records if record.name == "aml_trigger"]
    assert any('"outcome": "failed"' in line and "UserError" in line for line in decision_lines), decision_lines
    assert_no_secret("\n".join(record.getMessage() for record in caplog.records))


def test_a_record_keeps_no_secret_an_error_echoed(app_env, aml):
    echoed = f"bad inputs token={JWT} sas={SAS} key={BASE64_KEY} conn={CONNECTION}"
    aml.inject(Respond(400, code="UserError", message=echoed))
    upload(app_env["WATCH_CONTAINER"], "machines.csv", SAMPLE_CSV)

    deliver_blob(app_env["WATCH_CONTAINER"], "machines.csv")

    [record_name] = [blob.name for page in process_services().ledger.listing("rules/") for blob in page]
    record, _ = process_services().ledger.read(record_name)
    assert record["state"] == "failed" and record["error"]["code"] == "UserError"
    assert "bad inputs token=***" in record["error"]["message"] and "bad inputs" in record["reason"]
    assert_no_secret(json.dumps(record))


def test_a_manual_runs_secret_parameter_is_masked_in_the_listing_and_sent_as_given(app_env, aml):
    code, _ = call("http_start_run", body={"rule": "default", "parameters": {"api_key": PLAIN_SECRET, "sas": SAS}})
    code_listed, listed = call("http_list_runs", "GET")

    assert code == 201 and code_listed == 200
    assert listed["runs"][0]["subject"]["parameters"] == {"api_key": "***", "sas": "***"}
    assert_no_secret(json.dumps(listed))
    assert aml.accepted[0].body["ParameterAssignments"]["api_key"] == PLAIN_SECRET


@pytest.mark.parametrize("url, expected", [
    ("https://host.example/path?sig=secret", "https://host.example/path"),
    ("https://host.example/path#fragment", "https://host.example/path"),
    ("https://user:secret@host.example:8443/path?x=1", "https://host.example:8443/path"),
    ("http://localhost:7071/a/b", "http://localhost:7071/a/b"),
    ("no-scheme/path?sig=secret", "no-scheme/path"),
])
def test_redact_url_drops_query_fragment_and_user_info(url, expected):
    assert redact_url(url) == expected


@pytest.mark.parametrize("url, expected", [
    ("https://host.example:notaport/path?sig=secret", "https://host.example:notaport/path"),
    ("https://host.example:99999/path?sig=secret", "https://host.example:99999/path"),
    ("https://u:p@ss@host.example/path?sig=secret", "https://host.example/path"),  # user info up to the last @
    ("HTTPS://Host.example/path?sig=secret", "https://Host.example/path"),
])
def test_redact_url_of_a_url_with_an_odd_port_or_user_info_still_drops_both_and_the_query(url, expected):
    assert redact_url(url) == expected


@pytest.mark.parametrize("url, expected", [  # urlsplit refuses these: cut by hand
    ("https://[::1/x?sig=secret", "https://[::1/x"),
    ("https://u:p@[::1/x?sig=secret#frag", "https://[::1/x"),
    ("HTTPS://u:p@[::1/x?sig=secret", "HTTPS://[::1/x"),
    ("https://[::1/x#a#b", "https://[::1/x"),
    ("https://[::1/x?sv=1?sig=secret", "https://[::1/x"),
    ("no-scheme/p?sv=1?sig=secret", "no-scheme/p"),
    ("no-scheme/p#a#b", "no-scheme/p"),
])
def test_redact_url_of_an_unparseable_url_cuts_user_info_query_and_fragment_by_hand(url, expected):
    assert redact_url(url) == expected


@pytest.mark.parametrize("text", ["ref " + "ab12" * 16, "ref " + "AB12" * 16])
def test_a_long_run_of_one_case_and_digits_is_kept(text):
    assert mask_text(text) == text  # a SHA-256 in hex (record keys) is no key: a key mixes both cases and digits


@pytest.mark.parametrize("text", ["eyJabcdef.ghijklm", "Bearer abcdefghijk"])
def test_a_token_is_masked_by_its_prefix_even_without_digits(text):
    assert mask_text(f"sent {text} here") == "sent *** here"


def test_the_longest_secret_value_is_masked_first():
    assert mask_text("azzzzzzz", {"zzzzzz", "azzzzzzz"}) == "***"


def test_a_connection_string_secret_alone_looks_secret():
    assert looks_secret("AccountKey=abc;")


def test_secret_named_settings_of_six_characters_or_more_are_secret_values():
    assert secret_values({"MY_KEY": "abcdef", "OTHER_KEY": "abcde", "PLAIN": "abcdefgh"}) == {"abcdef"}


def test_masked_masks_inside_objects_and_lists_and_wholly_under_a_secret_name():
    value = {"tokens": ["abcdef", ""], "plain": "x azzzzzzz y", "list": ("azzzzzzz", 3)}
    assert masked(value, {"azzzzzzz"}) == {"tokens": ["***", ""], "plain": "x *** y", "list": ["***", 3]}
    assert masked("abc", name="API_KEY") == "***"
