"""Schedules in the rules file: validated with everything else, one problem per mistake, clearly worded."""

from __future__ import annotations

import json

import pytest

from shared.core.config.config_loader import load_config
from shared.core.config.config_model import BlobFilter, DataSource
from shared.core.config.problems import ConfigError
from shared.core.config.rules_file import load_schedules
from tests.support.settings import LOADED_AT

URL = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/s/resourceGroups/r/providers/"
       "Microsoft.MachineLearningServices/workspaces/w/PipelineRuns/PipelineSubmit/p")
DATA_PATH = {"parameter": "input_datapath", "datastore": "workspaceblobstore"}


def env_for(tmp_path, schedules: list, **settings: str) -> dict[str, str]:
    (tmp_path / "rules.json").write_text(json.dumps({"schedules": schedules}), encoding="utf-8")
    return {"WATCH_CONTAINER": "training-data", "WATCH_STORAGE": "AccountName=trainingdata;AccountKey=a2V5",
            "AzureWebJobsStorage": "AccountName=trainingdata;AccountKey=a2V5", "TRIGGER_RULES_FILE": "rules.json",
            **settings}


def entry(**fields) -> dict:
    return {"name": "nightly", "cron": "0 0 2 * * *", "target": {"url": URL}, "experiment": "retrain", **fields}


def without_cron(schedule: dict) -> dict:
    return {key: value for key, value in schedule.items() if key != "cron"}


def problems(tmp_path, schedules: list, **settings: str) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_config(env_for(tmp_path, schedules, **settings), tmp_path, now=LOADED_AT)
    return [str(problem) for problem in error.value.problems]


def test_a_schedules_only_file_is_a_complete_configuration(tmp_path):
    config = load_config(env_for(tmp_path, [
        entry(data={"newest": {"prefix": "incoming/", "include_subfolders": True}}, data_path=DATA_PATH,
              only_if_new_data=True),
        {**without_cron(entry(name="monthly")), "recurrence": {"frequency": "Month", "interval": 1}, "enabled": False},
    ]), tmp_path, now=LOADED_AT)
    nightly, monthly = config.schedules
    assert config.rules == ()
    assert (nightly.function_name, nightly.cron.expression, nightly.only_if_new_data) == (
        "schedule_nightly", "0 0 2 * * *", True)
    assert nightly.data == DataSource(newest=BlobFilter(prefix="incoming/", include_subfolders=True))
    assert (monthly.cron.expression, monthly.enabled) == ("0 0 0 1 * *", False)


def test_the_expression_may_come_from_an_app_setting(tmp_path):
    [nightly] = load_schedules(env_for(tmp_path, [entry(cron="${NIGHTLY_CRON}")], NIGHTLY_CRON="0 30 1 * * *"),
                               tmp_path, now=LOADED_AT)
    assert nightly.cron.expression == "0 30 1 * * *"


def test_no_rules_file_means_no_schedules(tmp_path):
    assert load_schedules({}, tmp_path, now=LOADED_AT) == ()


@pytest.mark.parametrize("fields, expected", [
    ({"cron": None}, "schedules[0].cron = (not set): either cron (six-field NCRONTAB"),
    ({"recurrence": {"frequency": "Day"}}, "schedules[0].cron = '0 0 2 * * *': either cron (six-field NCRONTAB"),
    ({"cron": 5}, "schedules[0].cron = 5: a six-field NCRONTAB string"),
    ({"cron": "*/30 * * * * *"}, "schedules[0].cron = '*/30 * * * * *': '*/30 * * * * *' fires more than once a "
                                 "minute"),
    ({"name": "nightly-run"}, "schedules[0].name = 'nightly-run': 1-63 letters, digits or '_', starting with a "
                              "letter (it names a function)"),
    ({"data": {"newest": {"prefix": "incoming/"}}},
     "schedules[0].data_path = (not set): data and data_path go together"),
    ({"data_path": DATA_PATH}, "schedules[0].data = (not set): data and data_path go together"),
    ({"data": {"blob": "a.csv"}, "data_path": DATA_PATH, "only_if_new_data": True},
     "schedules[0].only_if_new_data = True: only with \"data\": {\"newest\": {...}}"),
    ({"data": {"blob": "a.csv", "newest": {}}, "data_path": DATA_PATH}, "schedules[0].data = "),
    ({"data": {"newest": {"prefix": "no-slash"}}, "data_path": DATA_PATH},
     "schedules[0].data.newest.prefix = 'no-slash': a folder inside the container ending with '/'"),
    ({"data": {"newest": {"folder": "x/"}}, "data_path": DATA_PATH},
     "schedules[0].data.newest.folder = 'x/': a known data.newest key"),
    ({"polling_interval": 5}, "schedules[0].polling_interval = 5: a known schedule key"),
    ({"enabled": "sometimes"}, "schedules[0].enabled = 'sometimes': true or false"),
])
def test_each_mistake_is_one_clear_problem(tmp_path, fields, expected):
    found = problems(tmp_path, [{k: v for k, v in entry(**fields).items() if v is not None}])
    assert len(found) == 1 and found[0].startswith(f"rules.json: {expected}"), found


def test_duplicate_schedule_names_are_refused(tmp_path):
    assert problems(tmp_path, [entry(), entry()]) == [
        "rules.json: schedules[1].name = 'nightly': schedule names must be unique (they key the ledger)"]


def test_schedules_refuse_a_non_utc_time_zone(tmp_path):
    assert problems(tmp_path, [entry()], WEBSITE_TIME_ZONE="Tokyo Standard Time") == [
        "WEBSITE_TIME_ZONE = 'Tokyo Standard Time': unset (UTC): schedules are evaluated in UTC, and Linux plans "
        "do not support WEBSITE_TIME_ZONE"]


def test_indexing_refuses_invalid_schedules_with_every_problem(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_schedules(env_for(tmp_path, [entry(cron="0 2 * * *"), entry(name="b", experiment="bad name")]), tmp_path,
                       now=LOADED_AT)
    assert len(error.value.problems) == 2
