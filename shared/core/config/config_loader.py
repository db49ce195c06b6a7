"""Configuration from app settings and an optional JSON rules file, validated once, every problem reported.

Simple case: one watched prefix -> one pipeline, from app settings alone (``AML_PIPELINE_URL`` and friends).
Several rules: ``TRIGGER_RULES_FILE`` names a JSON file (``shared.core.config.rules_file``). What the triggers need at
indexing is read here too, each on its own, so that one bad value never stops the indexing of every function.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from shared.core.config import settings
from shared.core.config.config_model import AppConfig
from shared.core.config.fields import at_most_once_a_minute
from shared.core.config.problems import ConfigError, Problems
from shared.core.config.rules_file import load_triggers
from shared.core.config.timing_settings import (
    claim_outlives_deadline,
    deadline_within_function_timeout,
    function_timeout,
    retry_settings,
)
from shared.core.ledger.retention import retention_problem
from shared.core.schedules.ncrontab import CronError, parse_ncrontab
from shared.core.storage.storage_endpoints import (
    EndpointRules,
    StorageAccount,
    StorageSettingError,
    allowed_hosts,
    storage_account,
)

TRIGGER_SOURCES = ("EventGrid", "LogsAndContainerScan")
DEFAULT_SWEEP_SCHEDULE = settings.SWEEP_SCHEDULE.text({})
DEFAULT_SWEEP_MAX_BLOBS = int(settings.SWEEP_MAX_BLOBS.text({}))
_CONTAINER_NAME = re.compile(r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
_T = TypeVar("_T")


def connection_defined(env: Mapping[str, str], prefix: str) -> bool:
    """Whether a Functions storage connection ``prefix`` is set, as a string or identity-based settings."""
    return any(
        env.get(name)
        for name in (prefix, f"{prefix}__blobServiceUri", f"{prefix}__serviceUri", f"{prefix}__accountName")
    )


def read_at_indexing(read: Callable[[], _T], fallback: _T) -> _T:
    """What ``read`` returns, or ``fallback`` when it raises ConfigError: a bad setting or schedule must not stop
    the indexing of every function (``/api/health`` included). The problem is logged here, and ``load_config``
    reports it again from health and from each invocation, so nothing runs on the fallback unnoticed."""
    try:
        return read()
    except ConfigError as error:
        logging.getLogger("aml_trigger").error("at indexing: %s", error)
        return fallback


def blob_trigger_source(env: Mapping[str, str]) -> str:
    """The blob trigger's ``source``: EventGrid (low latency) unless BLOB_TRIGGER_SOURCE says to poll."""
    problems = Problems.of()
    value = settings.BLOB_TRIGGER_SOURCE.text(env)
    if value not in TRIGGER_SOURCES:
        problems.setting(settings.BLOB_TRIGGER_SOURCE.name).add(value, f"one of {', '.join(TRIGGER_SOURCES)}")
    problems.raise_any()
    return value


def sweep_settings(env: Mapping[str, str]) -> tuple[str, int]:
    """The catch-up sweep's NCRONTAB (SWEEP_SCHEDULE) and its cap per run (SWEEP_MAX_BLOBS), read at indexing."""
    return _timer_settings(env, settings.SWEEP_SCHEDULE, settings.SWEEP_MAX_BLOBS)


def poll_settings(env: Mapping[str, str]) -> tuple[str, int]:
    """The run-status fallback's NCRONTAB (RUN_STATUS_POLL_SCHEDULE) and its cap of runs per tick
    (RUN_STATUS_POLL_MAX_RUNS), read at indexing and checked with every other setting at load."""
    return _timer_settings(env, settings.RUN_STATUS_POLL_SCHEDULE, settings.RUN_STATUS_POLL_MAX_RUNS)


def run_index_schedule(env: Mapping[str, str]) -> str:
    """The run index's catch-up timer's NCRONTAB (RUN_INDEX_SCHEDULE), read at indexing and checked at load."""
    problems = Problems.of(env)
    schedule = settings.RUN_INDEX_SCHEDULE.text(env)
    _check_timer_schedule(settings.RUN_INDEX_SCHEDULE, schedule, problems)
    problems.raise_any()
    return schedule


def _timer_settings(env: Mapping[str, str], schedule_setting: settings.Setting,
                    cap_setting: settings.Setting) -> tuple[str, int]:
    """A timer's NCRONTAB (at most once a minute) and its cap per tick; ConfigError naming each bad one."""
    problems = Problems.of(env)
    schedule = schedule_setting.text(env)
    _check_timer_schedule(schedule_setting, schedule, problems)
    cap = int(settings.number(env, cap_setting, problems.report))
    problems.raise_any()
    return schedule, cap


def _check_timer_schedule(setting: settings.Setting, schedule: str, problems: Problems) -> None:
    try:
        at_most_once_a_minute(parse_ncrontab(schedule))
    except CronError as error:
        problems.setting(setting.name).add(schedule, str(error))


MAX_AGE_MARGIN = 30
"""Seconds a run index's age may exceed its timer's gap before a view catches it up: a tick starts late and its
catch-up takes seconds (Last-Modified is at its write), so a view just before the next write finds it a little
older than the gap."""


def max_age_problem(env: Mapping[str, str], max_age: float) -> str | None:
    """Why RUN_INDEX_MAX_AGE_SECONDS is refused: below RUN_INDEX_SCHEDULE's longest gap (plus ``MAX_AGE_MARGIN``),
    every view between two ticks would catch the index up itself (a Find Blobs by Tags), silently. 0 is kept: every
    view does so on purpose. None when it is fine, or when the schedule itself is refused."""
    schedule = settings.RUN_INDEX_SCHEDULE.text(env)
    try:
        gap = parse_ncrontab(schedule).longest_gap().total_seconds()
    except CronError:
        return None
    if not max_age or max_age >= gap + MAX_AGE_MARGIN:
        return None
    needed = gap + MAX_AGE_MARGIN
    fix = (f"give at least {needed:g}" if needed <= (settings.RUN_INDEX_MAX_AGE.maximum or 0)
           else f"give {settings.RUN_INDEX_SCHEDULE.name} gaps under a day")
    return (f"below {settings.RUN_INDEX_SCHEDULE.name} {schedule!r}'s longest gap between catch-ups ({gap:g} s) plus "
            f"{MAX_AGE_MARGIN} s: every view between two ticks would catch the index up itself; {fix}, or 0 to have "
            "every view do so")


def load_config(env: Mapping[str, str], app_root: Path, *, now: datetime) -> AppConfig:
    """Read and check everything once, ``now`` being the time it is read at; raise ConfigError listing every
    problem."""
    problems = Problems.of(env)
    watch_container = settings.WATCH_CONTAINER.text(env)
    if not _CONTAINER_NAME.fullmatch(watch_container):
        problems.setting(settings.WATCH_CONTAINER.name).add(
            watch_container or None, "the watched blob container: 3-63 lowercase letters, digits and single hyphens")
    if not connection_defined(env, settings.WATCH_STORAGE.name):
        problems.setting(settings.WATCH_STORAGE.name).add(
            None, "the watched account's connection: a connection string, or "
            "WATCH_STORAGE__blobServiceUri and WATCH_STORAGE__queueServiceUri for managed identity")
    for check in (blob_trigger_source, sweep_settings, poll_settings, run_index_schedule):
        try:
            check(env)
        except ConfigError as error:
            problems.extend(error.problems)
    allow_local = settings.flag(env, settings.AML_ALLOW_LOCAL_TARGETS, problems.report)
    retry = retry_settings(env, problems)
    problems.add_found(deadline_within_function_timeout(retry, function_timeout(app_root)))
    claim_expiry = settings.number(env, settings.CLAIM_EXPIRY, problems.report)
    retention_days = int(settings.number(env, settings.RECORD_RETENTION_DAYS, problems.report))
    run_index_max_age = settings.number(env, settings.RUN_INDEX_MAX_AGE, problems.report)
    if (stale_views := max_age_problem(env, run_index_max_age)) is not None:
        problems.setting(settings.RUN_INDEX_MAX_AGE.name).add(f"{run_index_max_age:g}", stale_views)
    if (too_short := retention_problem(retention_days)) is not None:
        problems.setting(settings.RECORD_RETENTION_DAYS.name).add(str(retention_days), too_short)
    problems.add_found(claim_outlives_deadline(claim_expiry, retry))
    ledger_connection = settings.LEDGER_STORAGE.text(env)
    storage_rules = _endpoint_rules(env, allow_local, problems)
    watch_storage = _storage(env, settings.WATCH_STORAGE.name, storage_rules, problems)
    ledger_storage = None
    ledger_setting = problems.setting(settings.LEDGER_STORAGE.name)
    if "=" in ledger_connection or ";" in ledger_connection:
        ledger_setting.add(ledger_connection, "the NAME of a storage connection setting (such as AzureWebJobsStorage), "
                           "not a connection string")
    elif not connection_defined(env, ledger_connection):
        ledger_setting.add(ledger_connection,
                           f"a storage connection for the ledger: set {ledger_connection} (connection string) or "
                           f"{ledger_connection}__blobServiceUri / {ledger_connection}__accountName (managed identity)")
    else:
        ledger_storage = _storage(env, ledger_connection, storage_rules, problems)
    ledger_container = _container_name(env, settings.LEDGER_CONTAINER, problems)
    dead_letter_container = _container_name(env, settings.DEAD_LETTER_CONTAINER, problems)

    referenced: set[str] = {ledger_connection}
    rules, schedules, ignored = load_triggers(env, app_root, allow_local, problems, referenced, now=now)
    warnings = _mistyped_settings(env, referenced, problems) + _ignored_warning(ignored)
    for warning in warnings:
        logging.getLogger("aml_trigger").warning("%s", warning)
    problems.raise_any()
    assert watch_storage is not None and ledger_storage is not None  # each None only with a problem reported
    return AppConfig(
        watch_container=watch_container,
        rules=tuple(rules),
        schedules=tuple(schedules),
        retry=retry,
        claim_expiry=claim_expiry,
        record_retention_days=retention_days,
        run_index_schedule=settings.RUN_INDEX_SCHEDULE.text(env),
        run_index_max_age=run_index_max_age,
        ledger_connection=ledger_connection,
        ledger_container=ledger_container,
        dead_letter_container=dead_letter_container,
        managed_identity_client_id=settings.MANAGED_IDENTITY_CLIENT_ID.read(env),
        watch_storage=watch_storage,
        ledger_storage=ledger_storage,
        ignored_settings=ignored,
        warnings=warnings,
    )


def _container_name(env: Mapping[str, str], setting: settings.Setting, problems: Problems) -> str:
    name = setting.text(env)
    if not _CONTAINER_NAME.fullmatch(name):
        problems.setting(setting.name).add(name, "a blob container name (3-63 lowercase letters, digits, hyphens)")
    return name


def _mistyped_settings(env: Mapping[str, str], referenced: set[str], problems: Problems) -> tuple[str, ...]:
    """A warning for each name that is nearly a setting's (WATCH_SUBFOLDER); a problem instead when the setting it
    likely means is itself reported (required and missing, say), since the typo is then why nothing can run."""
    reported = {problem.where for problem in problems.found}
    warnings = []
    for name, meant in settings.near_misses(env, referenced):
        if meant in reported:
            problems.setting(name).add(env[name], f"not a setting of this app; did you mean {meant}?")
        else:
            warnings.append(f"{name} is not a setting of this app (it does nothing); did you mean {meant}?")
    return tuple(warnings)


def _ignored_warning(ignored: tuple[str, ...]) -> tuple[str, ...]:
    """The sentence that says the rules file wins over the one-rule settings it does not name."""
    if not ignored:
        return ()
    return (f"{', '.join(ignored)} set but IGNORED: TRIGGER_RULES_FILE replaces the one-rule settings; move them "
            "into the rules file (or name them there as %SETTING%), or unset them",)


def _endpoint_rules(env: Mapping[str, str], allow_local: bool, problems: Problems) -> EndpointRules:
    """Where storage connections may point: Azure's storage hosts, STORAGE_ALLOWED_HOSTS, loopback when local."""
    hosts, wrong = allowed_hosts(settings.STORAGE_ALLOWED_HOSTS.read(env))
    if wrong:
        problems.setting(settings.STORAGE_ALLOWED_HOSTS.name).add(
            ", ".join(wrong), "comma-separated host names of custom storage domains, such as data.example.com")
    return EndpointRules(allow_local=allow_local, allowed_hosts=hosts)


def _storage(env: Mapping[str, str], connection: str, rules: EndpointRules,
             problems: Problems) -> StorageAccount | None:
    """The checked account of a defined connection; each problem under the setting that causes it."""
    if not connection_defined(env, connection):
        return None
    try:
        return storage_account(env, connection, rules)
    except StorageSettingError as error:
        for where, value, expected in error.problems:
            problems.setting(where).add(value, expected)
        return None
