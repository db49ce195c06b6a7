"""shared/core/config/config_loader.py: the app-wide settings load_config checks beside the rules (containers,
connections, retention, storage hosts), each problem worded exactly as the load error lists it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from shared.core.config.config_loader import load_config, poll_settings, run_index_schedule, sweep_settings
from shared.core.config.problems import ConfigError
from tests.support.settings import LOADED_AT, NO_APP_ROOT, PIPELINE_URL, minimal_env

LEDGER_ACCOUNT = "AccountName=ledgeracct;AccountKey=a2V5"
AZURITE = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
           "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1")


def problems_of(**overrides: str | None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(minimal_env(**overrides), NO_APP_ROOT, now=LOADED_AT)
    return [str(problem) for problem in caught.value.problems]


def test_the_ledger_its_containers_and_retention_come_from_their_settings():
    config = load_config(minimal_env(LEDGER_STORAGE="LedgerConn", LedgerConn=LEDGER_ACCOUNT,
                                     DEAD_LETTER_CONTAINER="dead-letters", RECORD_RETENTION_DAYS="15"),
                         NO_APP_ROOT, now=LOADED_AT)
    assert [(account.connection, account.blob_url) for account in (config.watch_storage, config.ledger_storage)] == [
        ("WATCH_STORAGE", "https://trainingdata.blob.core.windows.net"),
        ("LedgerConn", "https://ledgeracct.blob.core.windows.net")]
    assert (config.dead_letter_container, config.record_retention_days) == ("dead-letters", 15)
    assert (config.ignored_settings, config.warnings) == ((), ())


@pytest.mark.parametrize("overrides, expected", [
    ({"WATCH_CONTAINER": ""}, "WATCH_CONTAINER = (not set): the watched blob container: 3-63 lowercase letters, "
                              "digits and single hyphens"),
    ({"WATCH_STORAGE": None}, "WATCH_STORAGE = (not set): the watched account's connection: a connection string, or "
                              "WATCH_STORAGE__blobServiceUri and WATCH_STORAGE__queueServiceUri for managed identity"),
    ({"WATCH_STORAGE": "AccountName=x"}, "WATCH_STORAGE (AccountName) = 'x': a storage account name: 3-24 lowercase "
                                         "letters and digits"),
    ({"LEDGER_STORAGE": "a;b"}, "LEDGER_STORAGE = 'a;b': the NAME of a storage connection setting (such as "
                                "AzureWebJobsStorage), not a connection string"),
    ({"LEDGER_STORAGE": "LedgerConn", "LedgerConn": "AccountName=x"},
     "LedgerConn (AccountName) = 'x': a storage account name: 3-24 lowercase letters and digits"),
    ({"DEAD_LETTER_CONTAINER": "DL"}, "DEAD_LETTER_CONTAINER = 'DL': a blob container name (3-63 lowercase letters, "
                                      "digits, hyphens)"),
    ({"RECORD_RETENTION_DAYS": "14"}, "RECORD_RETENTION_DAYS = '14': at least 15 days: records must outlive Event "
                                      "Grid's 24 h of retries and the 14 days a dead-lettered event may be replayed, "
                                      "plus the day the sweep's horizon keeps inside the retention; a shorter one "
                                      "lets a late delivery or a sweep run a deleted record's blob again"),
    ({"STORAGE_ALLOWED_HOSTS": "not a host,x..y"}, "STORAGE_ALLOWED_HOSTS = 'not a host, x..y': comma-separated host "
                                                   "names of custom storage domains, such as data.example.com"),
    ({"LEDGER_STORAGE": "AccountName=x"}, "LEDGER_STORAGE = '***': the NAME of a storage connection setting (such as "
                                          "AzureWebJobsStorage), not a connection string"),
    ({"RECORD_RETENTION_DAYS": "many"}, "RECORD_RETENTION_DAYS = 'many': a whole number from 1 to 3650"),
    ({"BLOB_TRIGGER_SOURCE": "Polling"}, "BLOB_TRIGGER_SOURCE = 'Polling': one of EventGrid, LogsAndContainerScan"),
    ({"WATCH_STORAGE": AZURITE}, "WATCH_STORAGE (BlobEndpoint) = 'http://127.0.0.1:10000/devstoreaccount1': must be "
                                 "https (http and loopback hosts such as Azurite are allowed only with "
                                 "AML_ALLOW_LOCAL_TARGETS=true, for local development)"),
])
def test_each_wrong_app_setting_is_one_problem_worded_to_fix_it(overrides, expected):
    assert problems_of(**overrides) == [expected]


def test_storage_may_point_at_azurite_with_allow_local_targets_and_at_a_listed_custom_domain():
    local = load_config(minimal_env(WATCH_STORAGE=AZURITE, AML_ALLOW_LOCAL_TARGETS="true"), NO_APP_ROOT,
                        now=LOADED_AT)
    custom = load_config(minimal_env(WATCH_STORAGE="BlobEndpoint=https://data.example.com/;SharedAccessSignature=sv=1",
                                     STORAGE_ALLOWED_HOSTS="data.example.com"), NO_APP_ROOT, now=LOADED_AT)
    assert [config.watch_storage.blob_url for config in (local, custom)] == [
        "http://127.0.0.1:10000/devstoreaccount1", "https://data.example.com"]


@pytest.mark.parametrize("read, setting", [(sweep_settings, "SWEEP_SCHEDULE"),
                                           (poll_settings, "RUN_STATUS_POLL_SCHEDULE"),
                                           (run_index_schedule, "RUN_INDEX_SCHEDULE")])
def test_a_timer_schedule_naming_a_secret_settings_value_is_refused_with_the_value_masked(read, setting):
    with pytest.raises(ConfigError) as caught:
        read({setting: "0 0 s3cretvalue * * *", "SWEEP_API_KEY": "s3cretvalue"})
    assert [str(problem) for problem in caught.value.problems] == [
        f"{setting} = '0 0 *** * * *': '***' is not a valid hour field (0-23)"]


def test_a_mistyped_setting_is_a_warning_of_the_apps_own_logger(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING):
        load_config(minimal_env(WATCH_SUBFOLDER="true"), NO_APP_ROOT, now=LOADED_AT)
    assert [(record.name, record.levelname, record.getMessage()) for record in caplog.records] == [
        ("aml_trigger", "WARNING",
         "WATCH_SUBFOLDER is not a setting of this app (it does nothing); did you mean WATCH_SUBFOLDERS?")]


def test_a_schedules_start_time_is_judged_at_the_time_of_loading(tmp_path: Path):
    recurrence = {"frequency": "Day", "start_time": "2026-12-01T00:01:00"}
    (tmp_path / "rules.json").write_text(json.dumps({"schedules": [
        {"name": "nightly", "recurrence": recurrence, "target": {"url": PIPELINE_URL}, "experiment": "retrain"}]}),
        encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(minimal_env(AML_PIPELINE_URL=None, AML_EXPERIMENT=None, TRIGGER_RULES_FILE="rules.json"),
                    tmp_path, now=LOADED_AT)
    assert [problem.where for problem in caught.value.problems] == ["rules.json: schedules[0].recurrence"]
    assert "a start_time in the future has no NCRONTAB form" in caught.value.problems[0].expected
