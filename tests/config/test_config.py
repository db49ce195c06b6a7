"""shared/core/config/config_loader.py: app settings and rules files in, one validated AppConfig or one ConfigError
listing every problem."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from shared.clients.process.services import APP_ROOT
from shared.core.aml.targets import ARM_SCOPE, TargetKind
from shared.core.config.config_loader import (
    blob_trigger_source,
    connection_defined,
    load_config,
    poll_settings,
    run_index_schedule,
    sweep_settings,
)
from shared.core.config.config_model import DataPathBinding, RetrySettings
from shared.core.config.problems import ConfigError
from shared.core.config.timing_settings import function_timeout
from shared.core.ledger.retention import sweep_horizon
from tests.support.settings import LOADED_AT, NO_APP_ROOT, PIPELINE_URL, WORKSPACE, minimal_env

ENDPOINT_URL = f"https://eastus.api.azureml.ms/pipelines/v1.0{WORKSPACE}/PipelineEndpointSubmit/Id/ep-1"
LOCAL_PIPELINE_URL = f"http://localhost:8080/pipelines/v1.0{WORKSPACE}/PipelineSubmit/pipe-1"
SECRET_CONNECTION = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=S3cr3tKeyValue==;EndpointSuffix=x"


def rules_env(rules_file: str, **overrides: str | None) -> dict[str, str]:
    return minimal_env(AML_PIPELINE_URL=None, AML_EXPERIMENT=None, TRIGGER_RULES_FILE=rules_file, **overrides)


def write_rules(folder: Path, rules: list, name: str = "rules.json", **top_level) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"rules": rules, **top_level}), encoding="utf-8")
    return name


def rule_json(name: str = "r1", **overrides) -> dict:
    return {"name": name, "prefix": "incoming/", "target": {"url": PIPELINE_URL}, "experiment": "retrain", **overrides}


def config_error(env: dict[str, str], app_root: Path = NO_APP_ROOT) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(env, app_root, now=LOADED_AT)
    return caught.value


def single_problem(env: dict[str, str], app_root: Path = NO_APP_ROOT):
    error = config_error(env, app_root)
    assert len(error.problems) == 1, str(error)
    return error.problems[0]


def only_rule(env: dict[str, str], app_root: Path = NO_APP_ROOT):
    config = load_config(env, app_root, now=LOADED_AT)
    assert len(config.rules) == 1
    return config.rules[0]


# --- simple case: one rule from app settings -------------------------------------------------------------------


def test_minimal_settings_give_one_default_rule_and_default_app_settings():
    config = load_config(minimal_env(), NO_APP_ROOT, now=LOADED_AT)

    assert config.watch_container == "training-data"
    assert config.retry == RetrySettings(max_attempts=8, base_delay=1.0, max_delay=30.0, deadline=240.0)
    assert config.claim_expiry == 600.0
    assert config.ledger_connection == "AzureWebJobsStorage"
    assert config.ledger_container == "aml-trigger-ledger"
    assert config.managed_identity_client_id is None
    (rule,) = config.rules
    watch = rule.watch
    assert (rule.name, watch.prefix, watch.suffix, watch.include_subfolders) == ("default", "", ".csv", False)
    assert (rule.run.experiment, dict(rule.run.parameters), rule.run.data_path) == ("retrain", {}, None)
    assert (rule.run.required_columns, rule.run.description, rule.run.continue_on_step_failure) == ((), None, None)
    assert rule.run.run_source == "SDK"
    target = rule.run.target
    assert (target.url, target.kind, target.scope) == (PIPELINE_URL, TargetKind.PUBLISHED_PIPELINE, ARM_SCOPE)


def test_watch_settings_set_prefix_and_suffix():
    rule = only_rule(minimal_env(WATCH_PREFIX="incoming/daily/", WATCH_SUFFIX=".parquet"))
    assert (rule.watch.prefix, rule.watch.suffix) == ("incoming/daily/", ".parquet")


@pytest.mark.parametrize(
    "value, expected",
    [("true", True), ("TRUE", True), (" yes ", True), ("1", True), ("false", False), ("no", False), ("0", False),
     ("", False)],
)
def test_watch_subfolders_accepts_usual_boolean_spellings(value, expected):
    assert only_rule(minimal_env(WATCH_SUBFOLDERS=value)).watch.include_subfolders is expected


def test_watch_subfolders_rejects_other_text():
    problem = single_problem(minimal_env(WATCH_SUBFOLDERS="sometimes"))
    assert str(problem) == "WATCH_SUBFOLDERS = 'sometimes': true or false"


def test_parameters_keep_their_json_types_for_the_payload_to_render():
    env = minimal_env(AML_PARAMETERS='{"model_name": "m1", "max_trials": 3, "ratio": 0.5, "flag": "True"}')
    assert dict(only_rule(env).run.parameters) == {"model_name": "m1", "max_trials": 3, "ratio": 0.5, "flag": "True"}


@pytest.mark.parametrize("json_value, shown", [("true", "True"), ("false", "False")])
def test_booleans_are_refused_for_v1_targets(json_value, shown):
    problem = single_problem(minimal_env(AML_PARAMETERS=f'{{"ok": "x", "flag": {json_value}}}'))
    assert problem.where == "AML_PARAMETERS.flag"
    assert str(problem).startswith(f"AML_PARAMETERS.flag = {shown}: a string or number")
    assert 'write booleans as strings ("True")' in problem.expected


@pytest.mark.parametrize("json_value, shown", [("null", "(not set)"), ("[1]", "[1]"), ('{"a": 1}', "{'a': 1}")])
def test_parameter_values_other_than_scalars_are_rejected(json_value, shown):
    problem = single_problem(minimal_env(AML_PARAMETERS=f'{{"ok": "x", "flag": {json_value}}}'))
    assert str(problem) == f"AML_PARAMETERS.flag = {shown}: a string, number or boolean"


@pytest.mark.parametrize("value, shown_value, expected", [
    ("{not json", "(not shown: parameter values may be secrets)", "a JSON object such as"),
    ('["a", "b"]', ["a", "b"], "an object of pipeline parameters"),
])
def test_parameters_that_are_not_a_json_object_are_rejected(value, shown_value, expected):
    problem = single_problem(minimal_env(AML_PARAMETERS=value))
    assert (problem.where, problem.value) == ("AML_PARAMETERS", shown_value)
    assert expected in problem.expected


def test_data_path_comes_from_parameter_and_datastore_settings():
    rule = only_rule(minimal_env(AML_DATA_PATH_PARAMETER="input_datapath", AML_DATASTORE="workspaceblobstore"))
    assert rule.run.data_path == DataPathBinding(parameter="input_datapath", datastore="workspaceblobstore")


@pytest.mark.parametrize("present, missing", [("AML_DATASTORE", "AML_DATA_PATH_PARAMETER"),
                                              ("AML_DATA_PATH_PARAMETER", "AML_DATASTORE")])
def test_data_path_needs_both_settings(present, missing):
    problem = single_problem(minimal_env(**{present: "something"}))
    assert str(problem).startswith(f"{missing} = (not set): ")


def test_required_columns_are_split_on_commas_and_trimmed():
    rule = only_rule(minimal_env(CSV_REQUIRED_COLUMNS=" MYCT, MMIN ,PRP"))
    assert rule.run.required_columns == ("MYCT", "MMIN", "PRP")


@pytest.mark.parametrize("columns", [", ,", "a,,b", "a,b,", "  "])
def test_an_empty_name_in_the_required_columns_setting_is_refused(columns):
    assert str(single_problem(minimal_env(CSV_REQUIRED_COLUMNS=columns))) == (
        f"CSV_REQUIRED_COLUMNS = {columns!r}: comma-separated column names, none empty, such as 'MYCT,PRP'; unset, "
        "no column is required")


def test_an_empty_required_columns_setting_requires_no_column():
    assert only_rule(minimal_env(CSV_REQUIRED_COLUMNS="")).run.required_columns == ()


@pytest.mark.parametrize("suffix", ["", " ", "\t"])
def test_an_empty_watch_suffix_is_refused_saying_how_to_watch_every_ending(suffix):
    assert str(single_problem(minimal_env(WATCH_SUFFIX=suffix))) == (
        f"WATCH_SUFFIX = {suffix!r}: a file ending such as '.csv', or '*' for any ending; unset, it is '.csv'")


def test_a_watch_suffix_of_a_star_watches_every_ending_and_an_unset_one_csv_files():
    assert only_rule(minimal_env(WATCH_SUFFIX="*")).watch.suffix == ""
    assert only_rule(minimal_env(WATCH_SUFFIX=None)).watch.suffix == ".csv"


def test_pipeline_version_setting_applies_to_an_endpoint():
    target = only_rule(minimal_env(AML_PIPELINE_URL=ENDPOINT_URL, AML_PIPELINE_VERSION="2")).run.target
    assert (target.kind, target.pipeline_version) == (TargetKind.PIPELINE_ENDPOINT, "2")
    assert target.submit_url() == f"{ENDPOINT_URL}/2?pipelineVersion=2"


def test_token_scope_setting_is_used_and_checked():
    assert only_rule(minimal_env(AML_TOKEN_SCOPE="https://ml.azure.com/.default")).run.target.scope == \
        "https://ml.azure.com/.default"
    problem = single_problem(minimal_env(AML_TOKEN_SCOPE="api://aml"))
    assert (problem.where, problem.value) == ("AML_TOKEN_SCOPE", "api://aml")
    assert "token scope 'api://aml' must look like https://<resource>/.default" in problem.expected


SCORING_URI = "https://retrain.eastus.inference.ml.azure.com/jobs"
WORKSPACE_ID = "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w"


@pytest.mark.parametrize("setting, value, url, expected", [
    ("AML_TOKEN_SCOPE", "api://aml", PIPELINE_URL, "token scope 'api://aml' must look like https://<resource>/.default"),
    ("AML_WORKSPACE", WORKSPACE_ID, PIPELINE_URL,
     "workspace is read from a v1 URL; set it for batch endpoints and pipeline jobs only"),
    ("AML_WORKSPACE", "ws-1", SCORING_URI, "workspace must be the workspace's resource id"),
    ("AML_DEPLOYMENT", "blue", PIPELINE_URL, "deployment applies to batch endpoints only"),
    ("AML_DEPLOYMENT", "blue green", SCORING_URI, "deployment applies to batch endpoints only"),
    ("AML_PIPELINE_VERSION", "2", PIPELINE_URL, "pipeline_version applies to v1 pipeline endpoints only"),
    ("AML_PIPELINE_VERSION", "2", ENDPOINT_URL + "/3", "URL names version '3' but pipeline_version is '2'"),
])
def test_a_target_setting_that_is_wrong_is_named_itself_not_the_pipeline_url(setting, value, url, expected):
    problem = single_problem(minimal_env(AML_PIPELINE_URL=url, **{setting: value}))
    assert (problem.where, problem.value) == (setting, value) and problem.expected.startswith(expected), problem


def test_a_wrong_scope_in_a_rules_file_is_named_there_and_one_from_the_setting_by_the_setting(tmp_path):
    in_file = config_error(rules_env(write_rules(tmp_path, [rule_json(target={"url": PIPELINE_URL, "scope": "x"})])),
                           tmp_path).problems
    from_setting = config_error(rules_env(write_rules(tmp_path, [rule_json()]), AML_TOKEN_SCOPE="api://aml"),
                                tmp_path).problems
    assert [(p.where, p.value) for p in in_file] == [("rules.json: rules[0].target.scope", "x")]
    assert [(p.where, p.value) for p in from_setting] == [("AML_TOKEN_SCOPE", "api://aml")]


@pytest.mark.parametrize("schedule", ["*/30 * * * * *", "0,30 */5 * * * *", "* * * * * *"])
def test_a_sweep_schedule_firing_more_than_once_a_minute_is_refused_at_load(schedule):
    problem = single_problem(minimal_env(SWEEP_SCHEDULE=schedule))
    assert str(problem) == (f"SWEEP_SCHEDULE = {schedule!r}: {schedule!r} fires more than once a minute; "
                            "give the seconds field one value")
    with pytest.raises(ConfigError):
        sweep_settings({"SWEEP_SCHEDULE": schedule})
    assert sweep_settings({"SWEEP_SCHEDULE": "30 * * * * *"}) == ("30 * * * * *", 100)  # once a minute is fine


def test_a_bad_run_status_poll_schedule_and_cap_are_refused_at_load_with_every_other_problem():
    error = config_error(minimal_env(RUN_STATUS_POLL_SCHEDULE="*/30 * * * * *", RUN_STATUS_POLL_MAX_RUNS="0",
                                     SWEEP_MAX_BLOBS="-1"))

    assert [str(problem) for problem in error.problems] == [
        "SWEEP_MAX_BLOBS = '-1': a whole number from 1 to 100000",
        "RUN_STATUS_POLL_SCHEDULE = '*/30 * * * * *': '*/30 * * * * *' fires more than once a minute; give the "
        "seconds field one value",
        "RUN_STATUS_POLL_MAX_RUNS = '0': a whole number from 1 to 10000"]
    with pytest.raises(ConfigError) as five_fields:
        poll_settings({"RUN_STATUS_POLL_SCHEDULE": "0 2 * * *"})
    assert str(five_fields.value.problems[0]).startswith(
        "RUN_STATUS_POLL_SCHEDULE = '0 2 * * *': '0 2 * * *' must have six fields")
    assert poll_settings({}) == ("0 */10 * * * *", 50)


def test_the_run_index_timer_and_max_age_are_checked_at_load_and_default_to_every_minute_and_120_s():
    error = config_error(minimal_env(RUN_INDEX_SCHEDULE="*/30 * * * * *", RUN_INDEX_MAX_AGE_SECONDS="-1"))

    assert [str(problem) for problem in error.problems] == [
        "RUN_INDEX_SCHEDULE = '*/30 * * * * *': '*/30 * * * * *' fires more than once a minute; give the seconds "
        "field one value",
        "RUN_INDEX_MAX_AGE_SECONDS = '-1': a number from 0 to 86400"]
    assert run_index_schedule({}) == "0 * * * * *"
    tuned = load_config(minimal_env(RUN_INDEX_SCHEDULE="30 */5 * * * *", RUN_INDEX_MAX_AGE_SECONDS="0"), NO_APP_ROOT,
                        now=LOADED_AT)
    declared = load_config(minimal_env(), NO_APP_ROOT, now=LOADED_AT)
    assert (tuned.run_index_schedule, tuned.run_index_max_age) == ("30 */5 * * * *", 0)
    assert (declared.run_index_schedule, declared.run_index_max_age) == ("0 * * * * *", 120)


@pytest.mark.parametrize("schedule, max_age, said", [
    ("0 * * * * *", "89", "RUN_INDEX_MAX_AGE_SECONDS = '89': below RUN_INDEX_SCHEDULE '0 * * * * *''s longest gap "
     "between catch-ups (60 s) plus 30 s: every view between two ticks would catch the index up itself; give at "
     "least 90, or 0 to have every view do so"),
    ("0 */5 * * * *", None, "RUN_INDEX_MAX_AGE_SECONDS = '120': below RUN_INDEX_SCHEDULE '0 */5 * * * *''s longest "
     "gap between catch-ups (300 s) plus 30 s: every view between two ticks would catch the index up itself; give "
     "at least 330, or 0 to have every view do so"),
    ("0,30 0 0 * * *", "86399", "RUN_INDEX_MAX_AGE_SECONDS = '86399': below RUN_INDEX_SCHEDULE '0,30 0 0 * * *''s "
     "longest gap between catch-ups (86370 s) plus 30 s: every view between two ticks would catch the index up "
     "itself; give at least 86400, or 0 to have every view do so"),
    ("0 0 9 * * Mon-Fri", "86400", "RUN_INDEX_MAX_AGE_SECONDS = '86400': below RUN_INDEX_SCHEDULE "
     "'0 0 9 * * Mon-Fri''s longest gap between catch-ups (259200 s) plus 30 s: every view between two ticks would "
     "catch the index up itself; give RUN_INDEX_SCHEDULE gaps under a day, or 0 to have every view do so"),
])
def test_a_run_index_max_age_below_its_timers_longest_gap_is_refused_naming_both(schedule, max_age, said):
    given = {} if max_age is None else {"RUN_INDEX_MAX_AGE_SECONDS": max_age}
    env = minimal_env(RUN_INDEX_SCHEDULE=schedule, **given)
    assert [str(problem) for problem in config_error(env).problems][-1] == said  # after the schedule's own


@pytest.mark.parametrize("schedule, max_age", [("0 * * * * *", "90"), ("0 */5 * * * *", "330"),
                                               ("0 0 9 * * Mon-Fri", "0")])
def test_a_run_index_max_age_covering_its_timers_gap_or_0_loads(schedule, max_age):
    env = minimal_env(RUN_INDEX_SCHEDULE=schedule, RUN_INDEX_MAX_AGE_SECONDS=max_age)
    assert load_config(env, NO_APP_ROOT, now=LOADED_AT).run_index_max_age == float(max_age)


def test_a_run_index_schedule_refused_for_itself_is_not_also_measured_against_the_max_age():
    env = minimal_env(RUN_INDEX_SCHEDULE="*/5 * * * *", RUN_INDEX_MAX_AGE_SECONDS="1")
    assert [problem.where for problem in config_error(env).problems] == ["RUN_INDEX_SCHEDULE"]


def test_one_rule_settings_a_rules_file_leaves_unused_are_named_loudly(tmp_path, caplog):
    rules = write_rules(tmp_path, [rule_json(target={"url": "%AML_PIPELINE_URL%"})])
    env = minimal_env(TRIGGER_RULES_FILE=rules, WATCH_PREFIX="other/", AML_PARAMETERS='{"api_key": "s3cret"}')

    with caplog.at_level("WARNING", logger="aml_trigger"):
        config = load_config(env, tmp_path, now=LOADED_AT)

    assert config.ignored_settings == ("AML_EXPERIMENT", "AML_PARAMETERS", "WATCH_PREFIX")  # the URL is named there
    assert config.rules[0].watch.prefix == "incoming/" and config.rules[0].run.experiment == "retrain"
    [warning] = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert warning == ("AML_EXPERIMENT, AML_PARAMETERS, WATCH_PREFIX set but IGNORED: TRIGGER_RULES_FILE replaces "
                       "the one-rule settings; move them into the rules file (or name them there as %SETTING%), "
                       "or unset them")
    config = load_config({**rules_env(rules), "AML_PIPELINE_URL": PIPELINE_URL}, tmp_path, now=LOADED_AT)
    assert config.ignored_settings == ()


def test_a_name_one_letter_from_a_setting_is_a_warning_naming_the_setting_it_likely_means(caplog):
    env = minimal_env(WATCH_SUBFOLDER="true", watch_suffix=".json", RETRY_MAX_ATTEMPT="3")

    with caplog.at_level("WARNING", logger="aml_trigger"):
        config = load_config(env, NO_APP_ROOT, now=LOADED_AT)

    assert config.warnings == (
        "RETRY_MAX_ATTEMPT is not a setting of this app (it does nothing); did you mean RETRY_MAX_ATTEMPTS?",
        "WATCH_SUBFOLDER is not a setting of this app (it does nothing); did you mean WATCH_SUBFOLDERS?",
        "watch_suffix is not a setting of this app (it does nothing); did you mean WATCH_SUFFIX?")
    assert [record.getMessage() for record in caplog.records if record.levelname == "WARNING"] == list(config.warnings)
    assert config.rules[0].watch.include_subfolders is False  # the mistyped setting did nothing


def test_names_the_app_does_not_own_or_uses_otherwise_are_never_taken_for_mistyped_settings(tmp_path):
    rules = write_rules(tmp_path, [rule_json(target={"url": "%AML_PIPELINE_URL2%"})])
    env = rules_env(rules, AML_PIPELINE_URL2=PIPELINE_URL, LEDGER_STORAGE="LEDGER_STORAGES",
                    LEDGER_STORAGES=minimal_env()["AzureWebJobsStorage"], PATH="/usr/bin", HTTP_PROXY="http://p:3128",
                    AZURE_CLIENT_ID="x", WATCH_STORAGE__blobServiceUri="https://acct.blob.core.windows.net",
                    WEBSITE_INSTANCE_IDS="x")
    assert load_config(env, tmp_path, now=LOADED_AT).warnings == ()


def test_a_mistyped_name_of_a_setting_that_is_then_missing_is_listed_with_the_problems():
    error = config_error(minimal_env(AML_PIPELINE_URL=None, AML_PIPELINE_URLS=PIPELINE_URL + "?sig=S3cr3t"))
    assert [str(problem) for problem in error.problems] == [
        "AML_PIPELINE_URL = (not set): set AML_PIPELINE_URL (one watched prefix -> one pipeline) or "
        "TRIGGER_RULES_FILE (several rules)",
        f"AML_PIPELINE_URLS = {PIPELINE_URL!r}: not a setting of this app; did you mean AML_PIPELINE_URL?"]


def test_retry_claim_ledger_and_identity_settings_are_read():
    config = load_config(minimal_env(
        RETRY_MAX_ATTEMPTS="3", RETRY_BASE_DELAY_SECONDS="0.5", RETRY_MAX_DELAY_SECONDS="10",
        SUBMIT_DEADLINE_SECONDS="60", SUBMIT_ATTEMPT_TIMEOUT_SECONDS="20", CLAIM_EXPIRY_SECONDS="120",
        LEDGER_STORAGE="LedgerConn", LedgerConn__accountName="ledgeracct", LEDGER_CONTAINER="my-ledger",
        MANAGED_IDENTITY_CLIENT_ID="client-1",
    ), NO_APP_ROOT, now=LOADED_AT)
    assert config.retry == RetrySettings(max_attempts=3, base_delay=0.5, max_delay=10.0, deadline=60.0,
                                         attempt_timeout=20.0)
    ledger = (config.claim_expiry, config.ledger_connection, config.ledger_container)
    assert ledger == (120.0, "LedgerConn", "my-ledger")
    assert config.managed_identity_client_id == "client-1"


# --- rules file ------------------------------------------------------------------------------------------------


def test_rules_file_with_several_rules_and_setting_references(tmp_path):
    rules_file = write_rules(tmp_path, [
        {"name": "daily", "prefix": "daily/", "target": {"url": "%PIPELINE_URL%"}, "experiment": "retrain-${STAGE}",
         "parameters": {"model_name": "${MODEL}", "max_trials": 5},
         "data_path": {"parameter": "input_datapath", "datastore": "%DATASTORE%"},
         "required_columns": ["MYCT", "PRP"]},
        {"name": "weekly", "prefix": "weekly/", "suffix": ".CSV", "include_subfolders": True,
         "target": {"url": "${ENDPOINT_URL}", "kind": "pipeline_endpoint", "pipeline_version": 2,
                    "scope": "https://ml.azure.com/.default"},
         "experiment": "weekly", "description": "from %STAGE%", "continue_on_step_failure": False, "run_source": "API"},
    ], name="config/rules.json", description="two rules", **{"$schema": "./rules.schema.json"})
    env = rules_env(rules_file, PIPELINE_URL=PIPELINE_URL, ENDPOINT_URL=ENDPOINT_URL, STAGE="prod", MODEL="m1",
                    DATASTORE="workspaceblobstore")

    daily, weekly = load_config(env, tmp_path, now=LOADED_AT).rules

    assert (daily.name, daily.watch.prefix, daily.watch.suffix, daily.watch.include_subfolders) == (
        "daily", "daily/", ".csv", False)
    assert (daily.run.experiment, dict(daily.run.parameters)) == ("retrain-prod", {"model_name": "m1", "max_trials": 5})
    assert daily.run.data_path == DataPathBinding("input_datapath", "workspaceblobstore")
    assert (daily.run.required_columns, daily.run.target.url, daily.run.target.kind) == \
        (("MYCT", "PRP"), PIPELINE_URL, TargetKind.PUBLISHED_PIPELINE)
    assert (weekly.name, weekly.watch.prefix, weekly.watch.suffix, weekly.watch.include_subfolders) == (
        "weekly", "weekly/", ".CSV", True)
    run = weekly.run
    assert (run.description, run.continue_on_step_failure, run.run_source) == ("from prod", False, "API")
    assert (weekly.run.target.kind, weekly.run.target.pipeline_version, weekly.run.target.scope) == \
        (TargetKind.PIPELINE_ENDPOINT, "2", "https://ml.azure.com/.default")


def test_an_absolute_rules_file_is_read_from_its_own_path_not_below_the_app_root(tmp_path):
    elsewhere = tmp_path / "mounted" / "config"
    write_rules(elsewhere, [rule_json("from-absolute-path")], schedules=[])
    env = rules_env(str(elsewhere / "rules.json"))
    assert [rule.name for rule in load_config(env, NO_APP_ROOT, now=LOADED_AT).rules] == ["from-absolute-path"]


def test_rules_file_takes_precedence_over_simple_settings(tmp_path):
    env = minimal_env(TRIGGER_RULES_FILE=write_rules(tmp_path, [rule_json("from-file")]))
    assert [rule.name for rule in load_config(env, tmp_path, now=LOADED_AT).rules] == ["from-file"]


def test_a_null_run_source_sends_none_and_an_empty_one_is_refused(tmp_path):
    rules_file = write_rules(tmp_path, [rule_json(run_source=None)])
    assert load_config(rules_env(rules_file), tmp_path, now=LOADED_AT).rules[0].run.run_source is None

    rules_file = write_rules(tmp_path, [rule_json(run_source="")])
    assert str(single_problem(rules_env(rules_file), tmp_path)) == (
        "rules.json: rules[0].run_source = '': text such as 'SDK' or 'API', or null to send none")


def test_a_placeholders_time_format_is_not_read_as_a_setting_reference(tmp_path):
    rules_file = write_rules(tmp_path, [rule_json(
        parameters={"day": "{blob.last_modified:%Y%m%d}", "out": "%STAGE%/{blob.stem}/{{%STAGE%}}"})])

    rule, = load_config(rules_env(rules_file, STAGE="prod"), tmp_path, now=LOADED_AT).rules

    assert {name: template.source for name, template in rule.run.parameter_templates.items()} == {
        "day": "{blob.last_modified:%Y%m%d}", "out": "prod/{blob.stem}/{{prod}}"}


def test_rules_file_reference_to_a_missing_setting_is_reported(tmp_path):
    rules_file = write_rules(tmp_path, [rule_json(description="built in %STAGE%", experiment="retrain-${STAGE}")])
    error = config_error(rules_env(rules_file), tmp_path)
    assert "rules.json: rules[0].description = 'built in %STAGE%': app setting STAGE is not set" in str(error)
    assert "rules.json: rules[0].experiment = 'retrain-${STAGE}': app setting STAGE is not set" in str(error)
    # the unreplaced reference then fails the experiment-name check as well
    assert len(error.problems) == 3


def test_unknown_keys_are_reported_at_every_level(tmp_path):
    rules_file = write_rules(tmp_path, [rule_json(
        nmae="typo", target={"url": PIPELINE_URL, "verison": "2"},
        data_path={"parameter": "p", "datastore": "d", "path": "x"},
    )], extra=1)
    error = config_error(rules_env(rules_file), tmp_path)
    assert [problem.where for problem in error.problems] == [
        "rules.json: (top level)", "rules.json: rules[0].nmae", "rules.json: rules[0].data_path.path",
        "rules.json: rules[0].target.verison",
    ]
    message = str(error)
    assert "rules.json: (top level) = ['extra']: only the keys rules, schedules, description and $schema" in message
    assert "rules.json: rules[0].nmae = 'typo': a known rule key (continue_on_step_failure, data_path," in message
    assert "rules.json: rules[0].data_path.path = 'x': only parameter, datastore and relative_path" in message
    assert ("rules.json: rules[0].target.verison = '2': a known target key "
            "(component, compute, deployment, kind, pipeline_version, scope, url, workspace)") in message


def test_duplicate_rule_names_are_reported(tmp_path):
    rules_file = write_rules(tmp_path, [rule_json("same"), rule_json("same", prefix="other/")])
    problem = single_problem(rules_env(rules_file), tmp_path)
    assert str(problem) == "rules.json: rules[1].name = 'same': rule names must be unique (they key the ledger)"


NAME_RULE = ("1-52 letters, digits, '-' or '_', starting with a letter or digit (the deploy hook names the rule's "
             "Event Grid subscription aml-trigger-<name>, '_' as '-', and Event Grid allows 3-64 letters, digits and "
             "'-')")


@pytest.mark.parametrize("name", ["x y", "x.y", "n" * 53, "_leading"])
def test_a_rule_name_that_cannot_name_its_event_grid_subscription_is_refused_at_load_with_why(tmp_path, name):
    rules_file = write_rules(tmp_path, [rule_json(name)])
    problem = single_problem(rules_env(rules_file), tmp_path)
    assert str(problem) == f"rules.json: rules[0].name = {name!r}: {NAME_RULE}"


def test_rule_names_at_the_limits_load(tmp_path):
    names = ["a", "7", "A" * 52, "Retrain_on-upload_" + "x" * 34]
    rules_file = write_rules(tmp_path, [rule_json(name, prefix=f"p{index}/") for index, name in enumerate(names)])
    assert [rule.name for rule in load_config(rules_env(rules_file), tmp_path, now=LOADED_AT).rules] == names


def test_rule_names_differing_only_in_case_or_underscore_versus_hyphen_are_refused(tmp_path):
    rules_file = write_rules(tmp_path, [rule_json("load_data"), rule_json("Load-Data", prefix="other/")])
    problem = single_problem(rules_env(rules_file), tmp_path)
    assert str(problem) == (
        "rules.json: rules[1].name = 'Load-Data': a name that differs from rule 'load_data' in more than case and "
        "'_' versus '-' (both would be the Event Grid subscription aml-trigger-Load-Data, which Event Grid compares "
        "case-insensitively)")


def test_duplicate_rule_name_is_reported_at_its_index_in_the_file(tmp_path):
    rules_file = write_rules(tmp_path, [rule_json("broken", prefix="no-slash"), rule_json("same"), rule_json("same")])
    wheres = [problem.where for problem in config_error(rules_env(rules_file), tmp_path).problems]
    assert wheres == ["rules.json: rules[0].prefix", "rules.json: rules[2].name"]


@pytest.mark.parametrize("document, expected", [
    ({"rules": []}, 'rules.json: rules = []: a non-empty list of rules and/or schedules'),
    ({"other": 1}, 'rules.json: rules = (not set): a non-empty list of rules and/or schedules'),
    ({"rules": {"name": "r1"}}, "rules.json: rules = {'name': 'r1'}: a list of rules"),
    ([], "rules.json: (top level) = []: an object"),
    ({"rules": ["not an object"]}, "rules.json: rules[0].(rule) = 'not an object': an object with name, prefix"),
])
def test_rules_file_with_a_wrong_shape_is_reported(tmp_path, document, expected):
    (tmp_path / "rules.json").write_text(json.dumps(document), encoding="utf-8")
    problems = [str(problem) for problem in config_error(rules_env("rules.json"), tmp_path).problems]
    assert any(problem.startswith(expected) for problem in problems), problems


def test_missing_rules_file_is_reported_with_its_path(tmp_path):
    problem = single_problem(rules_env("missing.json"), tmp_path)
    assert (problem.where, problem.value) == ("TRIGGER_RULES_FILE", str(tmp_path / "missing.json"))
    assert "an existing JSON rules file (relative to the app root)" in str(problem)


@pytest.mark.parametrize("content, why", [
    (b'{"rules": [', "is not valid JSON (Expecting value at line 1 column 12)"),
    (b"\xff\xfe{}", "is not UTF-8 (byte 0)"),
])
def test_rules_file_that_is_not_utf8_json_is_reported(tmp_path, content, why):
    (tmp_path / "rules.json").write_bytes(content)
    problem = single_problem(rules_env("rules.json"), tmp_path)
    assert problem.where == "TRIGGER_RULES_FILE"
    assert problem.expected == f"valid UTF-8 JSON within bounds (rules file rules.json {why})"


def test_rules_file_that_is_a_directory_is_a_config_error(tmp_path):
    (tmp_path / "rules").mkdir()
    assert single_problem(rules_env("rules"), tmp_path).where == "TRIGGER_RULES_FILE"


def test_neither_pipeline_url_nor_rules_file_names_both_settings():
    problem = single_problem(minimal_env(AML_PIPELINE_URL=None))
    assert str(problem).startswith("AML_PIPELINE_URL = (not set): set AML_PIPELINE_URL")
    assert "TRIGGER_RULES_FILE" in problem.expected


# --- one error for many problems -------------------------------------------------------------------------------


def test_many_problems_are_reported_together_in_one_error():
    env = minimal_env(
        WATCH_CONTAINER="Training_Data", BLOB_TRIGGER_SOURCE="Polling", RETRY_MAX_ATTEMPTS="0",
        CLAIM_EXPIRY_SECONDS="100", LEDGER_STORAGE="MissingConnection", WATCH_PREFIX="incoming",
        AML_EXPERIMENT="bad name!", AML_PARAMETERS='{"flag": true}', AML_PIPELINE_URL="http://example.com/nothing",
    )
    expected_lines = [
        "WATCH_CONTAINER = 'Training_Data': the watched blob container: 3-63 lowercase letters",
        "BLOB_TRIGGER_SOURCE = 'Polling': one of EventGrid, LogsAndContainerScan",
        "RETRY_MAX_ATTEMPTS = '0': a whole number from 1 to 50",
        "CLAIM_EXPIRY_SECONDS = 100.0: at least twice SUBMIT_DEADLINE_SECONDS (480)",
        "LEDGER_STORAGE = 'MissingConnection': a storage connection for the ledger: set MissingConnection",
        "WATCH_PREFIX = 'incoming': a folder inside the container ending with '/'",
        "AML_EXPERIMENT = 'bad name!': an experiment name",
        "AML_PIPELINE_URL = 'http://example.com/nothing': must be https",
    ]

    error = config_error(env)

    message = str(error)
    assert message.startswith(f"invalid configuration ({len(expected_lines)} problems):\n")
    for line in expected_lines:
        assert f"  - {line}" in message
    assert len(error.problems) == len(expected_lines)
    assert "host 'example.com' is not an Azure ML host" in message
    assert "path does not fit" in message


# --- single settings checked -----------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["incoming", "/incoming/", "/", "a/b"])
def test_prefix_must_be_a_folder_ending_with_slash(prefix):
    assert single_problem(minimal_env(WATCH_PREFIX=prefix)).where == "WATCH_PREFIX"


@pytest.mark.parametrize("prefix", ["", "incoming/", "a/b/"])
def test_prefix_folders_and_whole_container_are_accepted(prefix):
    assert only_rule(minimal_env(WATCH_PREFIX=prefix)).watch.prefix == prefix


@pytest.mark.parametrize("experiment", ["bad name", "-leading-dash", "_leading", "dots.not.allowed", "x" * 256, None])
def test_invalid_experiment_names_are_rejected(experiment):
    problem = single_problem(minimal_env(AML_EXPERIMENT=experiment))
    assert problem.where == "AML_EXPERIMENT"
    assert "an experiment name: letters, digits, '-' and '_'" in problem.expected


@pytest.mark.parametrize("experiment", ["a", "Retrain_Machines-2", "x" * 255])
def test_valid_experiment_names_are_accepted(experiment):
    assert only_rule(minimal_env(AML_EXPERIMENT=experiment)).run.experiment == experiment


@pytest.mark.parametrize("container", ["Training", "ab", "a--b", "-abc", "abc-", "a_b", "a" * 64, None])
def test_invalid_watch_container_is_rejected(container):
    problem = single_problem(minimal_env(WATCH_CONTAINER=container))
    assert problem.where == "WATCH_CONTAINER"
    assert "3-63 lowercase letters, digits and single hyphens" in problem.expected


@pytest.mark.parametrize("container", ["abc", "a-b-c", "a" * 63, "123"])
def test_valid_watch_container_is_accepted(container):
    assert load_config(minimal_env(WATCH_CONTAINER=container), NO_APP_ROOT, now=LOADED_AT).watch_container == container


def test_invalid_ledger_container_is_rejected():
    assert str(single_problem(minimal_env(LEDGER_CONTAINER="Ledger"))).startswith("LEDGER_CONTAINER = 'Ledger': ")


@pytest.mark.parametrize("url", [
    LOCAL_PIPELINE_URL,
    LOCAL_PIPELINE_URL.replace("localhost", "127.0.0.1"),
    LOCAL_PIPELINE_URL.replace("localhost", "[::1]"),
    LOCAL_PIPELINE_URL.replace("http:", "https:"),
])
def test_local_http_target_is_allowed_only_with_allow_local_targets(url):
    assert only_rule(minimal_env(AML_PIPELINE_URL=url, AML_ALLOW_LOCAL_TARGETS="true")).run.target.url == url
    problem = single_problem(minimal_env(AML_PIPELINE_URL=url))
    assert "is not an Azure ML host" in problem.expected


def test_plain_http_to_a_loopback_host_is_rejected_without_allow_local_targets():
    problem = single_problem(minimal_env(AML_PIPELINE_URL=LOCAL_PIPELINE_URL))
    assert "must be https (plain http and loopback hosts are allowed only with AML_ALLOW_LOCAL_TARGETS=true" \
        in problem.expected


@pytest.mark.parametrize("url", [
    PIPELINE_URL.replace("https:", "http:"),
    LOCAL_PIPELINE_URL.replace("localhost", "example.com"),
    LOCAL_PIPELINE_URL.replace("localhost", "10.0.0.5"),
])
def test_allow_local_targets_does_not_allow_http_to_other_hosts(url):
    problem = single_problem(minimal_env(AML_PIPELINE_URL=url, AML_ALLOW_LOCAL_TARGETS="true"))
    assert "must be https" in problem.expected


@pytest.mark.parametrize("host", ["example.com", "api.azureml.ms.evil.example", "evilapi.azureml.ms", "azureml.ms"])
def test_non_azure_ml_host_is_rejected(host):
    problem = single_problem(minimal_env(AML_PIPELINE_URL=PIPELINE_URL.replace("eastus.api.azureml.ms", host)))
    assert f"host {host!r} is not an Azure ML host" in problem.expected


def test_allow_local_targets_must_be_a_boolean():
    assert str(single_problem(minimal_env(AML_ALLOW_LOCAL_TARGETS="maybe"))) == \
        "AML_ALLOW_LOCAL_TARGETS = 'maybe': true or false"


@pytest.mark.parametrize("deadline, claim, ok", [("100", "200", True), ("100", "199.5", False), ("600", None, False),
                                                 (None, "480", True), (None, "479", False)])
def test_claim_expiry_must_be_at_least_twice_the_submit_deadline(deadline, claim, ok):
    env = minimal_env(SUBMIT_DEADLINE_SECONDS=deadline, CLAIM_EXPIRY_SECONDS=claim)
    if ok:
        load_config(env, NO_APP_ROOT, now=LOADED_AT)
    else:
        problem = single_problem(env)
        assert problem.where == "CLAIM_EXPIRY_SECONDS"
        assert problem.expected.startswith(f"at least twice SUBMIT_DEADLINE_SECONDS ({2 * float(deadline or 240):g})")


@pytest.mark.parametrize("attempt", ["31", "30", "29"])
def test_an_attempt_timeout_without_room_for_its_backoff_before_the_deadline_is_refused_at_load(attempt):
    """Equal passed once, and then every delivery failed after 0 attempts: the claim comes out of the deadline."""
    problem = single_problem(minimal_env(SUBMIT_DEADLINE_SECONDS="30", SUBMIT_ATTEMPT_TIMEOUT_SECONDS=attempt))
    assert str(problem) == (f"SUBMIT_ATTEMPT_TIMEOUT_SECONDS = {float(attempt)}: below SUBMIT_DEADLINE_SECONDS - "
                            "RETRY_BASE_DELAY_SECONDS (29): an attempt starts only when a whole one fits in the time "
                            "left after the claim, so a deadline must leave room for one attempt and its backoff")
    assert load_config(minimal_env(SUBMIT_DEADLINE_SECONDS="30", SUBMIT_ATTEMPT_TIMEOUT_SECONDS="28.5",
                                   RUN_LISTING_DELAY_SECONDS="0"), NO_APP_ROOT,
                       now=LOADED_AT).retry.attempt_timeout == 28.5


@pytest.mark.parametrize(("env", "expected"), [
    ({"RUN_EVENT_ATTEMPT_TIMEOUT_SECONDS": "24"},
     "RUN_EVENT_ATTEMPT_TIMEOUT_SECONDS = 24.0: below RUN_EVENT_DEADLINE_SECONDS - RETRY_BASE_DELAY_SECONDS (24): a "
     "run event must leave room for one attempt and its backoff, or a run's end never reaches Azure ML (no failed "
     "run's error, no waiting trigger started)"),
    ({"RUN_EVENT_DEADLINE_SECONDS": "26"}, "RUN_EVENT_DEADLINE_SECONDS = '26': a number from 1 to 25"),
])
def test_a_run_event_deadline_past_event_grids_30_s_or_without_room_for_an_attempt_is_refused_at_load(env,
                                                                                                      expected):
    assert str(single_problem(minimal_env(**env))) == expected


def test_a_listing_delay_that_leaves_no_time_to_post_after_looking_is_refused_at_load():
    """Looking a key up for RUN_LISTING_DELAY_SECONDS and then one attempt must fit in an invocation, or a run
    whose answer was lost is looked for until the deadline on every delivery and never settled."""
    problem = single_problem(minimal_env(SUBMIT_DEADLINE_SECONDS="60", SUBMIT_ATTEMPT_TIMEOUT_SECONDS="45"))
    assert str(problem) == ("RUN_LISTING_DELAY_SECONDS = 15.0: below SUBMIT_DEADLINE_SECONDS - "
                            "SUBMIT_ATTEMPT_TIMEOUT_SECONDS (15): an invocation must have time to look a key up and "
                            "then post, or a run whose answer was lost would never be settled")
    retry = load_config(minimal_env(SUBMIT_DEADLINE_SECONDS="60", SUBMIT_ATTEMPT_TIMEOUT_SECONDS="45",
                                    RUN_LISTING_DELAY_SECONDS="14"), NO_APP_ROOT, now=LOADED_AT).retry
    assert retry.listing_delay == 14


@pytest.mark.parametrize("value, expected", [
    ("201", "a number from 1 to 200"),
    ("60", "above SUBMIT_ATTEMPT_TIMEOUT_SECONDS + RETRY_BASE_DELAY_SECONDS (61): an HTTP call must have time for "
           "one attempt and its backoff after its claim"),
    ("61", "above SUBMIT_ATTEMPT_TIMEOUT_SECONDS + RETRY_BASE_DELAY_SECONDS (61): an HTTP call must have time for "
           "one attempt and its backoff after its claim"),
])
def test_the_http_deadline_stays_under_azures_230_s_front_end_and_fits_one_attempt(value, expected):
    problem = single_problem(minimal_env(HTTP_DEADLINE_SECONDS=value))
    assert problem.where == "HTTP_DEADLINE_SECONDS" and problem.expected == expected


def test_an_http_call_gets_the_shorter_of_the_http_and_submit_deadlines():
    assert load_config(minimal_env(), NO_APP_ROOT, now=LOADED_AT).retry.http_budget == 100
    assert load_config(minimal_env(HTTP_DEADLINE_SECONDS="90"), NO_APP_ROOT, now=LOADED_AT).retry.http_budget == 90
    assert load_config(minimal_env(SUBMIT_DEADLINE_SECONDS="70", SUBMIT_ATTEMPT_TIMEOUT_SECONDS="30"),
                       NO_APP_ROOT, now=LOADED_AT).retry.http_budget == 70


def test_the_deadline_must_end_well_before_host_json_function_timeout(tmp_path):
    (tmp_path / "host.json").write_text('{"version": "2.0", "functionTimeout": "00:05:00"}')
    env = minimal_env(SUBMIT_DEADLINE_SECONDS="280", CLAIM_EXPIRY_SECONDS="600")
    problem = single_problem(env, tmp_path)
    assert str(problem).startswith("SUBMIT_DEADLINE_SECONDS = 280.0: at most host.json functionTimeout - 30 s (270)")
    load_config(minimal_env(SUBMIT_DEADLINE_SECONDS="270"), tmp_path, now=LOADED_AT)


@pytest.mark.parametrize("name, value, expected", [
    ("RETRY_MAX_ATTEMPTS", "0", "a whole number from 1 to 50"),
    ("RETRY_MAX_ATTEMPTS", "51", "a whole number from 1 to 50"),
    ("RETRY_MAX_ATTEMPTS", "2.5", "a whole number from 1 to 50"),
    ("RETRY_BASE_DELAY_SECONDS", "0", "a number from 0.001 to 60"),
    ("RETRY_BASE_DELAY_SECONDS", "nan", "a number from 0.001 to 60"),
    ("RETRY_MAX_DELAY_SECONDS", "601", "a number from 0.001 to 600"),
    ("SUBMIT_DEADLINE_SECONDS", "3601", "a number from 1 to 3600"),
    ("SUBMIT_DEADLINE_SECONDS", "soon", "a number from 1 to 3600"),
    ("CLAIM_EXPIRY_SECONDS", "86401", "a number from 1 to 86400"),
    ("CLAIM_EXPIRY_SECONDS", "inf", "a number from 1 to 86400"),
])
def test_numbers_out_of_range_are_rejected(name, value, expected):
    assert str(single_problem(minimal_env(**{name: value}))) == f"{name} = {value!r}: {expected}"


def test_max_delay_below_base_delay_is_rejected():
    problem = single_problem(minimal_env(RETRY_BASE_DELAY_SECONDS="10", RETRY_MAX_DELAY_SECONDS="5"))
    assert str(problem) == "RETRY_MAX_DELAY_SECONDS = 5.0: at least RETRY_BASE_DELAY_SECONDS (10.0)"


# --- what errors may show ----------------------------------------------------------------------------------------


def test_ledger_storage_naming_a_missing_setting_is_reported():
    problem = single_problem(minimal_env(LEDGER_STORAGE="LedgerConn"))
    assert str(problem).startswith("LEDGER_STORAGE = 'LedgerConn': a storage connection for the ledger: set LedgerConn")
    assert "LedgerConn__blobServiceUri / LedgerConn__accountName (managed identity)" in problem.expected


def test_connection_string_value_is_masked():
    error = config_error(minimal_env(LEDGER_STORAGE=SECRET_CONNECTION))
    assert "LEDGER_STORAGE = '***': " in str(error)


def test_connection_string_in_ledger_storage_never_appears_in_the_error():
    assert "S3cr3tKeyValue" not in str(config_error(minimal_env(LEDGER_STORAGE=SECRET_CONNECTION)))


def test_secret_looking_values_in_a_rules_file_are_masked(tmp_path):
    rules_file = write_rules(tmp_path, [rule_json(storage_connection=SECRET_CONNECTION)])
    error = config_error(rules_env(rules_file), tmp_path)
    assert "rules.json: rules[0].storage_connection = '***': a known rule key" in str(error)
    assert "S3cr3tKeyValue" not in str(error)


def test_url_query_inside_a_malformed_target_object_is_not_shown(tmp_path):
    short_url_with_sas = "https://eastus.api.azureml.ms/p?sig=S3cr3tKeyValue"  # short enough not to be cut at 160
    rules_file = write_rules(tmp_path, [rule_json(target={"uri": short_url_with_sas})])
    error = config_error(rules_env(rules_file), tmp_path)
    assert error.problems[0].where == "rules.json: rules[0].target"
    assert "S3cr3tKeyValue" not in str(error)


SHORT_URL = ("https://w.aether.ms/api/v1.0/subscriptions/s/resourceGroups/r/providers/"
             "Microsoft.MachineLearningServices/workspaces/w/PipelineRuns/PipelineSubmit/p")
"""Short enough that an error shows it whole: long values are cut at 160 characters, which would hide a query anyway."""


@pytest.mark.parametrize("secret_url", [
    f"{SHORT_URL}?sig=S3cr3t",
    f"{SHORT_URL}#S3cr3t",
    SHORT_URL.replace("https://", "https://u:S3cr3t@"),
])
def test_url_query_fragment_and_user_info_are_not_shown_in_errors(secret_url):
    error = config_error(minimal_env(AML_PIPELINE_URL=secret_url))
    (problem,) = error.problems
    assert str(problem).startswith(f"AML_PIPELINE_URL = {SHORT_URL!r}: must not carry")
    assert "S3cr3t" not in str(error)


def test_url_with_malformed_port_is_a_config_error():
    error = config_error(minimal_env(AML_PIPELINE_URL=PIPELINE_URL.replace(".ms/", ".ms:99999/") + "?sig=S3cr3t"))
    assert error.problems[0].where == "AML_PIPELINE_URL"
    assert "S3cr3t" not in str(error)


def test_a_20000_character_pipeline_url_is_refused_naming_the_setting_and_length_never_shown_whole(tmp_path):
    long_url = PIPELINE_URL + "x" * (20_000 - len(PIPELINE_URL) - len("?sig=S3cr3t")) + "?sig=S3cr3t"
    problem = single_problem(minimal_env(AML_PIPELINE_URL=long_url))
    assert (problem.where, problem.expected) == ("AML_PIPELINE_URL", "is 20,000 characters long: at most 2,048")
    assert str(problem).endswith("...: is 20,000 characters long: at most 2,048") and len(str(problem)) < 500
    assert "S3cr3t" not in str(problem)
    rules_file = write_rules(tmp_path, [rule_json(target={"url": long_url})])
    in_file = str(single_problem(rules_env(rules_file), tmp_path))
    assert in_file.startswith("rules.json: rules[0].target.url = 'https://eastus.api.azureml.ms/pipelines/")
    assert in_file.endswith("...: is 20,000 characters long: at most 2,048") and "S3cr3t" not in in_file


def test_a_port_other_than_443_on_an_azure_ml_host_is_refused_naming_the_setting_and_local_ports_stay_allowed():
    url = PIPELINE_URL.replace(".ms/", ".ms:8443/")
    assert str(single_problem(minimal_env(AML_PIPELINE_URL=url))) == (
        f"AML_PIPELINE_URL = {url!r}: port 8443: Azure ML hosts answer on https's port 443 only (leave the port out; "
        "other ports only on a loopback host, with AML_ALLOW_LOCAL_TARGETS=true)")
    assert only_rule(minimal_env(AML_PIPELINE_URL=PIPELINE_URL.replace(".ms/", ".ms:443/"))).run.target.url == \
        PIPELINE_URL.replace(".ms/", ".ms:443/")
    assert only_rule(minimal_env(AML_PIPELINE_URL=LOCAL_PIPELINE_URL, AML_ALLOW_LOCAL_TARGETS="true")).run.target.url \
        == LOCAL_PIPELINE_URL  # the stand-in's :8080


# --- trigger source and connections ------------------------------------------------------------------------------


@pytest.mark.parametrize("env, expected", [({}, "EventGrid"), ({"BLOB_TRIGGER_SOURCE": ""}, "EventGrid"),
                                           ({"BLOB_TRIGGER_SOURCE": "EventGrid"}, "EventGrid"),
                                           ({"BLOB_TRIGGER_SOURCE": "LogsAndContainerScan"}, "LogsAndContainerScan")])
def test_blob_trigger_source_defaults_to_event_grid(env, expected):
    assert blob_trigger_source(env) == expected


@pytest.mark.parametrize("value", ["eventgrid", "Polling", "LogsAndContainerScan "])
def test_blob_trigger_source_rejects_other_values(value):
    with pytest.raises(ConfigError) as caught:
        blob_trigger_source({"BLOB_TRIGGER_SOURCE": value})
    assert len(caught.value.problems) == 1
    assert f"BLOB_TRIGGER_SOURCE = {value!r}: one of EventGrid, LogsAndContainerScan" in str(caught.value)


@pytest.mark.parametrize("name", ["Conn", "Conn__blobServiceUri", "Conn__serviceUri", "Conn__accountName"])
def test_connection_defined_by_string_or_identity_settings(name):
    assert connection_defined({name: "value"}, "Conn")


@pytest.mark.parametrize("env", [{}, {"Conn": ""}, {"Conn__credential": "managedidentity"}, {"Other": "x"}])
def test_connection_not_defined(env):
    assert not connection_defined(env, "Conn")


def test_rules_file_required_columns_must_all_be_named(tmp_path):
    rules_file = write_rules(tmp_path, [rule_json(required_columns=["MYCT", " "])])
    problem = single_problem(rules_env(rules_file), tmp_path)
    assert str(problem) == "rules.json: rules[0].required_columns = ['MYCT', ' ']: a list of non-empty column names"


# --- outside JSON is read bounded: never RecursionError, never a traceback, the field named ----------------------

DEEP = "[" * 20_000 + "]" * 20_000
"""Nesting json's recursive parser gives up on (RecursionError) or, deeper still, crashes on."""
RULE_WITH = '{{"rules": [{{"name": "r", "target": {{"url": "{url}"}}, "experiment": "e", "parameters": {{{value}}}}}]}}'


@pytest.mark.parametrize("parameter, why", [
    (f'"alpha": {DEEP}', "rules[0].parameters.alpha" + "[0]" * 28 + " is nested more than 32 levels deep"),
    ('"alpha": 1e400', "rules[0].parameters.alpha is a number out of range (not finite)"),
    ('"ok": 1, "beta": ' + "7" * 5_000,
     "rules[0].parameters.beta is a number of 5,000 characters; at most 100 are read"),
    ('"gamma": NaN', "rules[0].parameters.gamma is NaN, which JSON does not allow (a number must be finite)"),
    ('"alpha": 1, "alpha": 2', "rules[0].parameters has the key 'alpha' twice (only one value can be kept)"),
])
def test_a_rules_file_json_refuses_is_one_problem_naming_the_file_and_the_field(tmp_path, parameter, why):
    (tmp_path / "rules.json").write_text(RULE_WITH.format(url=PIPELINE_URL, value=parameter), encoding="utf-8")
    problem = single_problem(rules_env("rules.json"), tmp_path)
    assert (problem.where, problem.value) == ("TRIGGER_RULES_FILE", str(tmp_path / "rules.json"))
    assert problem.expected == f"valid UTF-8 JSON within bounds (rules file rules.json: {why})"


@pytest.mark.parametrize("value, why", [
    ('{"alpha": ' + DEEP + "}", "alpha" + "[0]" * 31 + " is nested more than 32 levels deep"),
    ('{"alpha": 1e400}', "alpha is a number out of range (not finite)"),
    ('{"beta": ' + "7" * 5_000 + "}", "beta is a number of 5,000 characters; at most 100 are read"),
])
def test_aml_parameters_json_refuses_is_one_problem_naming_the_setting_and_the_field(value, why):
    problem = single_problem(minimal_env(AML_PARAMETERS=value))
    assert (problem.where, problem.value) == ("AML_PARAMETERS", "(not shown: parameter values may be secrets)")
    assert problem.expected == f'a JSON object such as {{"model_name": "m1"}}; setting AML_PARAMETERS: {why}'


def test_the_app_root_the_triggers_read_holds_function_app_and_host_json_so_the_timeout_check_runs():
    """After shared/ gained domain folders the root pointed one level too low: host.json was never found, so the
    functionTimeout check was silently skipped and a relative rules file was read from shared/."""
    assert (APP_ROOT / "function_app.py").is_file() and (APP_ROOT / "host.json").is_file()
    assert function_timeout(APP_ROOT) == 300
    with pytest.raises(ConfigError, match=r"at most host\.json functionTimeout - 30 s"):
        load_config({**minimal_env(), "SUBMIT_DEADLINE_SECONDS": "280"}, APP_ROOT, now=LOADED_AT)


@pytest.mark.parametrize("days", ["1", "14"])
def test_a_record_retention_below_what_exactly_once_needs_is_refused_naming_the_setting_and_the_horizon(days):
    problem = single_problem(minimal_env(RECORD_RETENTION_DAYS=days))
    assert str(problem) == (
        f"RECORD_RETENTION_DAYS = '{days}': at least 15 days: records must outlive Event Grid's 24 h of retries and "
        "the 14 days a dead-lettered event may be replayed, plus the day the sweep's horizon keeps inside the "
        "retention; a shorter one lets a late delivery or a sweep run a deleted record's blob again")


def test_a_record_retention_at_its_horizon_loads_and_sets_the_sweeps_look_back_a_day_shorter():
    config = load_config(minimal_env(RECORD_RETENTION_DAYS="15"), NO_APP_ROOT, now=LOADED_AT)
    assert config.record_retention_days == 15 and sweep_horizon(15) == timedelta(days=14)
    assert load_config(minimal_env(), NO_APP_ROOT, now=LOADED_AT).record_retention_days == 90
