"""Configuration from app settings and an optional JSON rules file, validated once, every problem reported.

Simple case: one watched prefix -> one pipeline, from app settings alone (``AML_PIPELINE_URL`` and friends).
Several rules: ``TRIGGER_RULES_FILE`` names a JSON file; its strings may say ``%SETTING%`` or ``${SETTING}``
so ids and URLs stay in app settings.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from shared.rules import settings
from shared.rules.blob_names import blob_name_problem
from shared.rules.errors import InvalidValue
from shared.rules.ncrontab import CronError, CronSchedule, parse_ncrontab
from shared.rules.recurrence import RecurrenceError, recurrence_to_ncrontab
from shared.rules.redaction import MASK, mask_text, masked, secret_values
from shared.rules.storage_endpoints import (
    EndpointRules,
    StorageAccount,
    StorageSettingError,
    allowed_hosts,
    storage_account,
)
from shared.rules.targets import Target, TargetError, parse_target

DEFAULT_SUFFIX = settings.WATCH_SUFFIX.default
DEFAULT_RUN_SOURCE = "SDK"
DEFAULT_LEDGER_CONTAINER = settings.LEDGER_CONTAINER.default
TRIGGER_SOURCES = ("EventGrid", "LogsAndContainerScan")

_SETTING_REFERENCE = re.compile(r"%([A-Za-z_][A-Za-z0-9_.]*)%|\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")
_RULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
_EXPERIMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}")
_CONTAINER_NAME = re.compile(r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
_SECRET_HINTS = ("KEY", "SECRET", "TOKEN", "PASSWORD", "CONNECTIONSTRING", "STORAGE", "SAS")
_RUN_KEYS = {
    "target", "experiment", "parameters", "data_path", "required_columns", "description",
    "continue_on_step_failure", "run_source", "outputs",
}
_V1_ONLY_KEYS = ("description", "continue_on_step_failure", "run_source")
JOB_OUTPUT_TYPES = {"uri_file": "UriFile", "uri_folder": "UriFolder"}
"""Output types a rule may name, and the jobOutputType the v2 body carries for each."""
_RULE_KEYS = {"name", "prefix", "suffix", "include_subfolders"} | _RUN_KEYS
_SCHEDULE_KEYS = {"name", "cron", "recurrence", "enabled", "data", "only_if_new_data"} | _RUN_KEYS
_SCHEDULE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
_TOP_LEVEL_KEYS = {"rules", "schedules", "description", "$schema"}
_TARGET_KEYS = {"url", "kind", "pipeline_version", "scope", "deployment", "workspace"}
_DATA_PATH_KEYS = {"parameter", "datastore", "relative_path"}
RELATIVE_PATHS = ("path", "file_name")
"""What a v1 DataPath's RelativePath gets: the blob's path in the container, or (as a Logic App sending
``triggerBody()?['Name']`` did) its file name alone."""


@dataclass(frozen=True)
class DataPathBinding:
    """Which input receives the blob (a v1 DataPath parameter, a v2 job input) and the datastore over the watched
    container (required for v1; for v2 without one, the blob's https URL is passed)."""

    parameter: str
    datastore: str | None
    relative_path: str = "path"
    """One of RELATIVE_PATHS (v1 only)."""


@dataclass(frozen=True)
class JobOutput:
    """A v2 job output: ``uri_file`` or ``uri_folder`` at ``uri``."""

    type: str
    uri: str


@dataclass(frozen=True)
class BlobFilter:
    """Which blob names count: a folder, its subfolders or not, a file ending (case-insensitive)."""

    prefix: str = ""
    suffix: str = DEFAULT_SUFFIX
    include_subfolders: bool = False


@dataclass(frozen=True)
class RunSpec:
    """What to run and how to check its data: the target, the v1 body's fields, the CSV's required columns."""

    target: Target
    experiment: str
    parameters: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    """As written: v1 bodies send them as strings, v2 bodies as typed literals."""
    data_path: DataPathBinding | None = None
    outputs: Mapping[str, JobOutput] = field(default_factory=dict)
    required_columns: tuple[str, ...] = ()
    description: str | None = None
    continue_on_step_failure: bool | None = None
    run_source: str = DEFAULT_RUN_SOURCE


@dataclass(frozen=True)
class Rule:
    """A blob rule: new blobs that pass ``watch`` start ``run``."""

    name: str
    watch: BlobFilter
    run: RunSpec


@dataclass(frozen=True)
class DataSource:
    """The data a scheduled run gets: a fixed blob, or the newest blob ``newest`` takes at fire time."""

    blob: str | None = None
    newest: BlobFilter | None = None


@dataclass(frozen=True)
class Schedule:
    """A timed run: ``cron`` (NCRONTAB, UTC) fires ``run``, on ``data`` if any."""

    name: str
    cron: CronSchedule
    run: RunSpec
    data: DataSource | None = None
    only_if_new_data: bool = False
    enabled: bool = True

    @property
    def function_name(self) -> str:
        """The timer function's name: derived from the schedule's name alone, so it is stable across restarts."""
        return f"schedule_{self.name}"


def _default(setting: settings.Setting) -> float:
    return float(setting.default or 0)


@dataclass(frozen=True)
class RetrySettings:
    max_attempts: int = int(_default(settings.RETRY_MAX_ATTEMPTS))
    base_delay: float = _default(settings.RETRY_BASE_DELAY)
    max_delay: float = _default(settings.RETRY_MAX_DELAY)
    deadline: float = _default(settings.SUBMIT_DEADLINE)
    """Seconds one invocation may spend waiting on claims and retries: safely below the function timeout."""
    attempt_timeout: float = _default(settings.SUBMIT_ATTEMPT_TIMEOUT)
    """Seconds one POST may take; never cut short, so an attempt starts only when it fits before the deadline."""
    listing_delay: float = _default(settings.RUN_LISTING_DELAY)
    """Seconds after an unanswered POST during which its run may still be missing from Azure ML's listing: the key
    is looked up until then before posting again."""
    http_deadline: float = _default(settings.HTTP_DEADLINE)
    """Seconds an HTTP call may spend before it answers 202 and leaves the rest to the sweep: Azure's HTTP front
    end drops a request after 230 s whatever functionTimeout says."""

    @property
    def http_budget(self) -> float:
        """Seconds an HTTP-started submission may take: the shorter of the two deadlines."""
        return min(self.deadline, self.http_deadline)


@dataclass(frozen=True)
class AppConfig:
    watch_container: str
    rules: tuple[Rule, ...]
    schedules: tuple[Schedule, ...] = ()
    retry: RetrySettings = field(default_factory=RetrySettings)
    claim_expiry: float = _default(settings.CLAIM_EXPIRY)
    ledger_connection: str = settings.LEDGER_STORAGE.default
    ledger_container: str = DEFAULT_LEDGER_CONTAINER
    managed_identity_client_id: str | None = None
    watch_storage: StorageAccount | None = None
    ledger_storage: StorageAccount | None = None
    """The checked connections: clients are built from these alone."""
    ignored_settings: tuple[str, ...] = ()
    """One-rule settings that are set while a rules file replaces them (and does not name them)."""


@dataclass(frozen=True)
class Problem:
    where: str
    value: Any
    expected: str
    secrets: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    """Values of secret-named settings, masked wherever they appear in the line."""

    def __str__(self) -> str:
        shown = _shown(self.where, self.value, self.secrets)
        return f"{self.where} = {shown}: {mask_text(self.expected, self.secrets)}"


class ConfigError(InvalidValue, ValueError):
    """The configuration is unusable; the message lists every problem found, one per line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid configuration ({len(problems)} problem{'s' * (len(problems) != 1)}):\n{lines}")


def _shown(where: str, value: Any, secrets: frozenset[str] = frozenset()) -> str:
    """A value as an error may show it: secrets masked by name and by value, URLs without query, long text cut."""
    if value is None:
        return "(not set)"
    text = repr(_redacted(where, value, secrets))
    return text if len(text) <= 400 else text[:397] + "..."


def _redacted(where: str, value: Any, secrets: frozenset[str]) -> Any:
    """``value`` masked (shared.rules.redaction), inside lists and objects too; a ``Key=Value`` text under a storage- or
    secret-named field is masked whole."""
    if isinstance(value, dict):
        return {key: _redacted(f"{where}.{key}", item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(where, item, secrets) for item in value]
    hinted = any(hint in where.upper().replace("_", "") for hint in _SECRET_HINTS)
    if isinstance(value, str) and "=" in value and hinted:
        return MASK
    return masked(value, secrets, name=where)


class _Problems(list):
    """Problems found so far; each masks the values of the secret-named settings in ``env``."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.secrets = secret_values(env or {})

    def add(self, where: str, value: Any, expected: str) -> None:
        self.append(Problem(where, value, expected, self.secrets))

    def add_found(self, found: tuple[str, Any, str] | None) -> None:
        """A cross-field check's finding, if it found something."""
        if found:
            self.add(*found)


def connection_defined(env: Mapping[str, str], prefix: str) -> bool:
    """Whether a Functions storage connection ``prefix`` is set, as a string or identity-based settings."""
    return any(
        env.get(name)
        for name in (prefix, f"{prefix}__blobServiceUri", f"{prefix}__serviceUri", f"{prefix}__accountName")
    )


_T = TypeVar("_T")


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
    value = settings.BLOB_TRIGGER_SOURCE.read(env)
    if value not in TRIGGER_SOURCES:
        raise ConfigError([Problem(settings.BLOB_TRIGGER_SOURCE.name, value, f"one of {', '.join(TRIGGER_SOURCES)}")])
    return value


DEFAULT_SWEEP_SCHEDULE = settings.SWEEP_SCHEDULE.default
DEFAULT_SWEEP_MAX_BLOBS = int(_default(settings.SWEEP_MAX_BLOBS))


def sweep_settings(env: Mapping[str, str]) -> tuple[str, int]:
    """The catch-up sweep's NCRONTAB (SWEEP_SCHEDULE) and its cap per run (SWEEP_MAX_BLOBS), read at indexing."""
    problems = _Problems(env)
    schedule = settings.SWEEP_SCHEDULE.read(env)
    try:
        _at_most_once_a_minute(parse_ncrontab(schedule))
    except CronError as error:
        problems.add(settings.SWEEP_SCHEDULE.name, schedule, str(error))
    max_blobs = int(settings.number(env, settings.SWEEP_MAX_BLOBS, problems.add))
    if problems:
        raise ConfigError(list(problems))
    return schedule, max_blobs


def load_config(env: Mapping[str, str], app_root: Path) -> AppConfig:
    """Read and check everything once; raise ConfigError listing every problem."""
    problems = _Problems(env)
    watch_container = settings.WATCH_CONTAINER.read(env)
    if not _CONTAINER_NAME.fullmatch(watch_container):
        problems.add(settings.WATCH_CONTAINER.name, watch_container or None,
                     "the watched blob container: 3-63 lowercase letters, digits and single hyphens")
    if not connection_defined(env, settings.WATCH_STORAGE.name):
        problems.add(settings.WATCH_STORAGE.name, None, "the watched account's connection: a connection string, or "
                     "WATCH_STORAGE__blobServiceUri and WATCH_STORAGE__queueServiceUri for managed identity")
    for check in (blob_trigger_source, sweep_settings):
        try:
            check(env)
        except ConfigError as error:
            problems.extend(error.problems)
    allow_local = settings.flag(env, settings.AML_ALLOW_LOCAL_TARGETS, problems.add)
    retry = _retry_settings(env, problems)
    problems.add_found(deadline_within_function_timeout(retry, function_timeout(app_root)))
    claim_expiry = settings.number(env, settings.CLAIM_EXPIRY, problems.add)
    problems.add_found(claim_outlives_deadline(claim_expiry, retry))
    ledger_connection = settings.LEDGER_STORAGE.read(env)
    storage_rules = _endpoint_rules(env, allow_local, problems)
    watch_storage = _storage(env, settings.WATCH_STORAGE.name, storage_rules, problems)
    ledger_storage = None
    if "=" in ledger_connection or ";" in ledger_connection:
        problems.add(settings.LEDGER_STORAGE.name, ledger_connection,
                     "the NAME of a storage connection setting (such as AzureWebJobsStorage), not a connection string")
    elif not connection_defined(env, ledger_connection):
        problems.add(settings.LEDGER_STORAGE.name, ledger_connection,
                     f"a storage connection for the ledger: set {ledger_connection} (connection string) or "
                     f"{ledger_connection}__blobServiceUri / {ledger_connection}__accountName (managed identity)")
    else:
        ledger_storage = _storage(env, ledger_connection, storage_rules, problems)
    ledger_container = settings.LEDGER_CONTAINER.read(env)
    if not _CONTAINER_NAME.fullmatch(ledger_container):
        problems.add(settings.LEDGER_CONTAINER.name, ledger_container,
                     "a blob container name (3-63 lowercase letters, digits, hyphens)")

    rules, schedules, ignored = _load_triggers(env, app_root, allow_local, problems)
    if problems:
        raise ConfigError(list(problems))
    if ignored:
        logging.getLogger("aml_trigger").warning(
            "%s set but IGNORED: TRIGGER_RULES_FILE replaces the one-rule settings; move them into the rules file "
            "(or name them there as %%SETTING%%), or unset them", ", ".join(ignored))
    return AppConfig(
        watch_container=watch_container,
        rules=tuple(rules),
        schedules=tuple(schedules),
        retry=retry,
        claim_expiry=claim_expiry,
        ledger_connection=ledger_connection,
        ledger_container=ledger_container,
        managed_identity_client_id=settings.MANAGED_IDENTITY_CLIENT_ID.read(env),
        watch_storage=watch_storage,
        ledger_storage=ledger_storage,
        ignored_settings=ignored,
    )


Found = "tuple[str, float, str] | None"
"""A cross-field check's finding: (setting, value, expected) for ConfigError, or None when the settings agree."""


def _retry_settings(env: Mapping[str, str], problems: _Problems) -> RetrySettings:
    """The submission's time and retry settings, each within its bounds, checked against each other."""
    problems_before = len(problems)
    retry = RetrySettings(
        max_attempts=int(settings.number(env, settings.RETRY_MAX_ATTEMPTS, problems.add)),
        base_delay=settings.number(env, settings.RETRY_BASE_DELAY, problems.add),
        max_delay=settings.number(env, settings.RETRY_MAX_DELAY, problems.add),
        deadline=settings.number(env, settings.SUBMIT_DEADLINE, problems.add),
        attempt_timeout=settings.number(env, settings.SUBMIT_ATTEMPT_TIMEOUT, problems.add),
        listing_delay=settings.number(env, settings.RUN_LISTING_DELAY, problems.add),
        http_deadline=settings.number(env, settings.HTTP_DEADLINE, problems.add),
    )
    if len(problems) == problems_before:  # compared only when each one is a usable number
        problems.add_found(next(filter(None, (check(retry) for check in _RETRY_CHECKS)), None))
    return retry


def _finding(wrong: bool, setting: settings.Setting, value: float, expected: str) -> Found:
    return (setting.name, value, expected) if wrong else None


def max_delay_at_least_base_delay(retry: RetrySettings) -> Found:
    return _finding(retry.max_delay < retry.base_delay, settings.RETRY_MAX_DELAY, retry.max_delay,
                    f"at least {settings.RETRY_BASE_DELAY.name} ({retry.base_delay})")


def attempt_below_deadline(retry: RetrySettings) -> Found:
    """An attempt starts only if a whole one fits in what is left, and the claim and blob read come first."""
    return _finding(retry.attempt_timeout >= retry.deadline, settings.SUBMIT_ATTEMPT_TIMEOUT, retry.attempt_timeout,
                    f"below {settings.SUBMIT_DEADLINE.name} ({retry.deadline:g}): an attempt starts only when a "
                    "whole one fits in the time left after the claim, so one as long as the deadline never starts")


def listing_delay_leaves_time_to_post(retry: RetrySettings) -> Found:
    """A run whose answer was lost would never be settled if an invocation could look its key up but not post."""
    return _finding(retry.listing_delay + retry.attempt_timeout >= retry.deadline, settings.RUN_LISTING_DELAY,
                    retry.listing_delay,
                    f"below {settings.SUBMIT_DEADLINE.name} - {settings.SUBMIT_ATTEMPT_TIMEOUT.name} "
                    f"({retry.deadline - retry.attempt_timeout:g}): an invocation must have time to look a key up "
                    "and then post, or a run whose answer was lost would never be settled")


def http_deadline_above_attempt(retry: RetrySettings) -> Found:
    return _finding(retry.attempt_timeout >= retry.http_budget, settings.HTTP_DEADLINE, retry.http_deadline,
                    f"above {settings.SUBMIT_ATTEMPT_TIMEOUT.name} ({retry.attempt_timeout:g}): an HTTP call must "
                    "have time for one attempt after its claim")


_RETRY_CHECKS: tuple[Callable[[RetrySettings], Found], ...] = (
    max_delay_at_least_base_delay, attempt_below_deadline, listing_delay_leaves_time_to_post,
    http_deadline_above_attempt)
"""In this order, the first finding only: the later ones would repeat it (an attempt as long as the deadline is
as long as the HTTP budget too)."""


def deadline_within_function_timeout(retry: RetrySettings, timeout: float | None) -> Found:
    """The host must never kill an invocation that is still settling its record."""
    if timeout is None:  # host.json sets none: the plan's default applies, unknown here
        return None
    return _finding(retry.deadline > timeout - 30, settings.SUBMIT_DEADLINE, retry.deadline,
                    f"at most host.json functionTimeout - 30 s ({timeout - 30:g}), so the host never kills an "
                    "invocation that is still settling its record")


def claim_outlives_deadline(claim_expiry: float, retry: RetrySettings) -> Found:
    return _finding(claim_expiry < 2 * retry.deadline, settings.CLAIM_EXPIRY, claim_expiry,
                    f"at least twice {settings.SUBMIT_DEADLINE.name} ({2 * retry.deadline:g}), so a live claim "
                    "never looks abandoned")


def _endpoint_rules(env: Mapping[str, str], allow_local: bool, problems: _Problems) -> EndpointRules:
    """Where storage connections may point: Azure's storage hosts, STORAGE_ALLOWED_HOSTS, loopback when local."""
    hosts, wrong = allowed_hosts(settings.STORAGE_ALLOWED_HOSTS.read(env))
    if wrong:
        problems.add(settings.STORAGE_ALLOWED_HOSTS.name, ", ".join(wrong),
                     "comma-separated host names of custom storage domains, such as data.example.com")
    return EndpointRules(allow_local=allow_local, allowed_hosts=hosts)


def _storage(env: Mapping[str, str], connection: str, rules: EndpointRules,
             problems: _Problems) -> StorageAccount | None:
    """The checked account of a defined connection; each problem under the setting that causes it."""
    if not connection_defined(env, connection):
        return None
    try:
        return storage_account(env, connection, rules)
    except StorageSettingError as error:
        for where, value, expected in error.problems:
            problems.add(where, value, expected)
        return None


def load_schedules(env: Mapping[str, str], app_root: Path) -> tuple[Schedule, ...]:
    """Only the schedules, for registering timer functions at indexing; a problem in them raises ConfigError."""
    if not settings.TRIGGER_RULES_FILE.read(env):
        return ()
    problems = _Problems(env)
    document = _read_config_file(env, app_root, problems)
    allow_local = settings.flag(env, settings.AML_ALLOW_LOCAL_TARGETS, problems.add)
    schedules = _parse_schedules(document.get("schedules", []), env, allow_local, problems)
    if problems:
        raise ConfigError(list(problems))
    return tuple(schedules)


def load_rules_file(env: Mapping[str, str], app_root: Path) -> tuple[tuple[Rule, ...], tuple[Schedule, ...]]:
    """TRIGGER_RULES_FILE's rules and schedules alone, without the storage settings: a file checked before it goes
    live (the importers); a problem in it raises ConfigError."""
    problems = _Problems(env)
    allow_local = settings.flag(env, settings.AML_ALLOW_LOCAL_TARGETS, problems.add)
    rules, schedules, _ = _load_triggers(env, app_root, allow_local, problems)
    if problems:
        raise ConfigError(list(problems))
    return tuple(rules), tuple(schedules)


def _load_triggers(env: Mapping[str, str], app_root: Path, allow_local: bool,
                   problems: _Problems) -> tuple[list[Rule], list[Schedule], tuple[str, ...]]:
    """The rules and schedules, and the one-rule settings a rules file leaves unused."""
    rules_file = settings.TRIGGER_RULES_FILE.read(env)
    ignored: tuple[str, ...] = ()
    if rules_file:
        referenced: set[str] = set()
        document = _read_config_file(env, app_root, problems, referenced)
        ignored = _ignored_simple_settings(env, referenced)
        label: Callable[[int, str], str] = lambda index, key: f"{rules_file}: rules[{index}].{key}"
        raw_rules, schedules = document.get("rules", []), _parse_schedules(
            document.get("schedules", []), env, allow_local, problems)
    elif settings.AML_PIPELINE_URL.read(env):
        raw_rules, schedules = [_rule_from_settings(env, problems)], []
        label = lambda index, key: _ONE_RULE_NAME if key == "name" else settings.rule_key_setting(key)
    else:
        problems.add(settings.AML_PIPELINE_URL.name, None,
                     "set AML_PIPELINE_URL (one watched prefix -> one pipeline) or TRIGGER_RULES_FILE (several rules)")
        return [], [], ()
    rules = [rule for index, raw in enumerate(raw_rules)
             if (rule := _parse_rule(raw, lambda key, i=index: label(i, key), env, allow_local, problems))]
    _check_unique_names(raw_rules, label, "rule", problems)
    return rules, schedules, ignored


def _check_unique_names(raw_items: list[Any], label: Callable[[int, str], str], what: str,
                        problems: _Problems) -> None:
    seen: set[str] = set()
    for index, raw in enumerate(raw_items):
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str) and name in seen:
            problems.add(label(index, "name"), name, f"{what} names must be unique (they key the ledger)")
        seen.add(name)


def _read_config_file(env: Mapping[str, str], app_root: Path, problems: _Problems,
                      referenced: set[str] | None = None) -> dict[str, Any]:
    """The rules file with settings substituted (their names added to ``referenced``), its top level checked;
    {} when it cannot be used."""
    rules_file = settings.TRIGGER_RULES_FILE.read(env)
    path = app_root / rules_file
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.add(settings.TRIGGER_RULES_FILE.name, str(path),
                     "an existing JSON rules file (relative to the app root)")
        return {}
    except OSError as error:
        problems.add(settings.TRIGGER_RULES_FILE.name, str(path), f"a readable JSON rules file ({error.strerror})")
        return {}
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        problems.add(settings.TRIGGER_RULES_FILE.name, str(path), f"valid UTF-8 JSON ({error})")
        return {}
    where = f"{rules_file}: "
    document = _substitute(document, env, where, problems, set() if referenced is None else referenced)
    if not isinstance(document, dict):
        problems.add(f"{where}(top level)", document, 'an object: {"rules": [...], "schedules": [...]}')
        return {}
    unknown = set(document) - _TOP_LEVEL_KEYS
    if unknown:
        problems.add(f"{where}(top level)", sorted(unknown), "only the keys rules, schedules, description and $schema")
    for key in ("rules", "schedules"):
        if not isinstance(document.get(key, []), list):
            problems.add(f"{where}{key}", document[key], f"a list of {key}")
            document[key] = []
    if not document.get("rules") and not document.get("schedules"):
        problems.add(f"{where}rules", document.get("rules"),
                     'a non-empty list of rules and/or schedules: {"rules": [{...}], "schedules": [{...}]}')
    return document


def _substitute(value: Any, env: Mapping[str, str], where: str, problems: _Problems, referenced: set[str]) -> Any:
    """Replace %SETTING% and ${SETTING} in every string of the document with the app setting's value."""
    if isinstance(value, dict):
        separator = "" if where.endswith(": ") else "."
        return {key: _substitute(item, env, f"{where}{separator}{key}", problems, referenced)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, env, f"{where}[{index}]", problems, referenced) for index, item in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        referenced.add(name)
        if name not in env:
            problems.add(where, value, f"app setting {name} is not set")
            return match.group(0)
        return env[name]

    return _SETTING_REFERENCE.sub(replace, value)


_ONE_RULE_NAME = "(default rule)"
"""Where a problem with the one-rule configuration's own name is reported: no setting names it."""


def _ignored_simple_settings(env: Mapping[str, str], referenced: set[str]) -> tuple[str, ...]:
    """One-rule settings that are set though a rules file replaces them and does not name them (AML_TOKEN_SCOPE
    still applies to every target without its own scope)."""
    return tuple(sorted(setting.name for setting in settings.SETTINGS
                        if setting.one_rule and env.get(setting.name) and setting.name not in referenced))


def _rule_from_settings(env: Mapping[str, str], problems: _Problems) -> dict[str, Any]:
    """The one-rule configuration, as the same raw shape a rules file holds, so one validator serves both."""
    raw: dict[str, Any] = {
        "name": "default",
        "prefix": settings.WATCH_PREFIX.read(env),
        "suffix": settings.WATCH_SUFFIX.read(env),
        "include_subfolders": settings.WATCH_SUBFOLDERS.read(env),
        "target": {"url": settings.AML_PIPELINE_URL.read(env),
                   "pipeline_version": settings.AML_PIPELINE_VERSION.read(env),
                   "deployment": settings.AML_DEPLOYMENT.read(env), "workspace": settings.AML_WORKSPACE.read(env)},
        "experiment": env.get(settings.AML_EXPERIMENT.name),
        "parameters": {},
    }
    if parameters := settings.AML_PARAMETERS.read(env):
        try:
            raw["parameters"] = json.loads(parameters)
        except json.JSONDecodeError as error:
            problems.add(settings.AML_PARAMETERS.name, "(not shown: parameter values may be secrets)",
                         f'a JSON object such as {{"model_name": "m1"}} ({error.msg} at character {error.pos})')
    data_path = {"parameter": env.get(settings.AML_DATA_PATH_PARAMETER.name),  # as set: '' is reported as ''
                 "datastore": env.get(settings.AML_DATASTORE.name)}
    if any(data_path.values()):
        raw["data_path"] = data_path
    if columns := settings.CSV_REQUIRED_COLUMNS.read(env):
        raw["required_columns"] = [column.strip() for column in columns.split(",") if column.strip()]
    return raw


def _parse_rule(
    raw: Any, label: Callable[[str], str], env: Mapping[str, str], allow_local: bool, problems: _Problems
) -> Rule | None:
    if not isinstance(raw, dict):
        problems.add(label("(rule)"), raw, "an object with name, prefix, target, experiment, ...")
        return None
    count_before = len(problems)
    _unknown_keys(raw, _RULE_KEYS, label, "rule", problems)
    name = _name(raw.get("name"), label("name"), problems)
    watch = _blob_filter(raw, label, problems)
    run = _run_spec(raw, label, env, allow_local, problems)
    if len(problems) > count_before:
        return None
    return Rule(name=name, watch=watch, run=run)


def _unknown_keys(raw: dict[str, Any], known: set[str], label: Callable[[str], str], what: str,
                  problems: _Problems) -> None:
    for key in sorted(set(raw) - known):
        problems.add(label(key), raw[key], f"a known {what} key ({', '.join(sorted(known))})")


def _name(name: Any, where: str, problems: _Problems) -> str:
    if not isinstance(name, str) or not _RULE_NAME.fullmatch(name):
        problems.add(where, name, "1-63 letters, digits, '-' or '_', starting with a letter or digit")
    return name


def _blob_filter(raw: dict[str, Any], label: Callable[[str], str], problems: _Problems) -> BlobFilter:
    prefix = raw.get("prefix", "")
    if not isinstance(prefix, str) or prefix.startswith("/") or (prefix and not prefix.endswith("/")):
        problems.add(label("prefix"), prefix,
                     "a folder inside the container ending with '/' (e.g. 'incoming/'), or '' for the whole container")
    suffix = raw.get("suffix", DEFAULT_SUFFIX)
    if not isinstance(suffix, str):
        problems.add(label("suffix"), suffix, "a file name ending such as '.csv' (compared case-insensitively)")
    include_subfolders = _bool(raw.get("include_subfolders"), label("include_subfolders"), False, problems)
    return BlobFilter(prefix=prefix, suffix=suffix, include_subfolders=include_subfolders)


def _run_spec(raw: dict[str, Any], label: Callable[[str], str], env: Mapping[str, str], allow_local: bool,
              problems: _Problems) -> RunSpec:
    experiment = raw.get("experiment")
    if not isinstance(experiment, str) or not _EXPERIMENT_NAME.fullmatch(experiment):
        problems.add(label("experiment"), experiment,
                     "an experiment name: letters, digits, '-' and '_', starting with a letter or digit")
    parameters = _parameters(raw.get("parameters", {}), label("parameters"), problems)
    data_path = _data_path(raw.get("data_path"), label, problems)
    required_columns = raw.get("required_columns", [])
    if not isinstance(required_columns, list) or not all(isinstance(c, str) and c.strip() for c in required_columns):
        problems.add(label("required_columns"), required_columns, "a list of non-empty column names")
        required_columns = []
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        problems.add(label("description"), description, "text")
    continue_on_step_failure = raw.get("continue_on_step_failure")
    if continue_on_step_failure is not None and not isinstance(continue_on_step_failure, bool):
        problems.add(label("continue_on_step_failure"), continue_on_step_failure, "true or false")
    run_source = raw.get("run_source", DEFAULT_RUN_SOURCE)
    if not isinstance(run_source, str) or not run_source:
        problems.add(label("run_source"), run_source, "text such as 'SDK' or 'API'")
    outputs = _outputs(raw.get("outputs", {}), label("outputs"), problems)
    target = _target(raw.get("target"), label, env, allow_local, problems)
    if target is not None:
        _check_fields_fit_the_target(raw, target, parameters, data_path, label, problems)
    return RunSpec(
        target=target,
        experiment=experiment,
        parameters=parameters,
        data_path=data_path,
        outputs=outputs,
        required_columns=tuple(column.strip() for column in required_columns),
        description=description,
        continue_on_step_failure=continue_on_step_failure,
        run_source=run_source,
    )


def override_run(run: RunSpec, *, experiment: Any = None, parameters: Any = None) -> RunSpec:
    """``run`` with a manual run's overrides, checked as strictly as the configuration; ConfigError if not valid."""
    problems = _Problems()
    if experiment is not None and (not isinstance(experiment, str) or not _EXPERIMENT_NAME.fullmatch(experiment)):
        problems.add("experiment", experiment, "an experiment name: letters, digits, '-' and '_'")
    merged = {**run.parameters, **_parameters(parameters if parameters is not None else {}, "parameters", problems)}
    _check_fields_fit_the_target({}, run.target, merged, run.data_path, lambda key: key, problems)
    if problems:
        raise ConfigError(list(problems))
    return dataclasses.replace(run, experiment=experiment or run.experiment, parameters=merged)


def _check_fields_fit_the_target(raw: dict[str, Any], target: Target, parameters: Mapping[str, Any],
                                 data_path: DataPathBinding | None, label: Callable[[str], str],
                                 problems: _Problems) -> None:
    """v1 bodies and v2 bodies carry different fields: say which ones the target cannot take."""
    if target.kind.is_v1:
        for name, value in parameters.items():
            if isinstance(value, bool):
                problems.add(f"{label('parameters')}.{name}", value,
                             'a string or number; write booleans as strings ("True"), as the v1 SDK sends them')
        if data_path is not None and not data_path.datastore:
            problems.add(label("data_path.datastore"), None, "the datastore over the watched container (v1 needs one)")
        if raw.get("outputs"):
            problems.add(label("outputs"), raw["outputs"], "outputs apply to v2 batch endpoints only")
    else:
        if data_path is not None and data_path.relative_path != "path":
            problems.add(label("data_path.relative_path"), data_path.relative_path,
                         "path (file_name applies to v1 pipelines only)")
        for key in _V1_ONLY_KEYS:
            if key in raw:
                problems.add(label(key), raw[key], f"{key} applies to v1 pipelines only, not to a batch endpoint")


def _outputs(raw: Any, where: str, problems: _Problems) -> dict[str, JobOutput]:
    expected = '{"<output>": {"type": "uri_folder" or "uri_file", "uri": "azureml://datastores/<ds>/paths/<p>"}}'
    if not isinstance(raw, dict):
        problems.add(where, raw, expected)
        return {}
    outputs = {}
    for name, output in raw.items():
        if (not isinstance(output, dict) or set(output) != {"type", "uri"} or output["type"] not in JOB_OUTPUT_TYPES
                or not isinstance(output["uri"], str) or not output["uri"].startswith(("azureml://", "https://"))):
            problems.add(f"{where}.{name}", output, expected)
        else:
            outputs[name] = JobOutput(type=output["type"], uri=output["uri"])
    return outputs


def _parse_schedules(raw_schedules: list[Any], env: Mapping[str, str], allow_local: bool,
                     problems: _Problems) -> list[Schedule]:
    rules_file = settings.TRIGGER_RULES_FILE.read(env) or ""
    label: Callable[[int, str], str] = lambda index, key: f"{rules_file}: schedules[{index}].{key}"
    schedules = [schedule for index, raw in enumerate(raw_schedules)
                 if (schedule := _parse_schedule(raw, lambda key, i=index: label(i, key), env, allow_local, problems))]
    _check_unique_names(raw_schedules, label, "schedule", problems)
    if schedules and (time_zone := settings.WEBSITE_TIME_ZONE.read(env)) not in ("UTC", "Coordinated Universal Time"):
        problems.add(settings.WEBSITE_TIME_ZONE.name, time_zone,
                     "unset (UTC): schedules are evaluated in UTC, and Linux plans do not support WEBSITE_TIME_ZONE")
    return schedules


def _parse_schedule(raw: Any, label: Callable[[str], str], env: Mapping[str, str], allow_local: bool,
                    problems: _Problems) -> Schedule | None:
    if not isinstance(raw, dict):
        problems.add(label("(schedule)"), raw, "an object with name, cron or recurrence, target, experiment, ...")
        return None
    count_before = len(problems)
    _unknown_keys(raw, _SCHEDULE_KEYS, label, "schedule", problems)
    name = raw.get("name")
    if not isinstance(name, str) or not _SCHEDULE_NAME.fullmatch(name):
        problems.add(label("name"), name, "1-63 letters, digits or '_', starting with a letter (it names a function)")
    cron = _cron(raw, label, problems)
    run = _run_spec(raw, label, env, allow_local, problems)
    data = _data_source(raw.get("data"), label, problems)
    only_if_new_data = _bool(raw.get("only_if_new_data"), label("only_if_new_data"), False, problems)
    if ("data" in raw) != ("data_path" in raw):
        problems.add(label("data_path" if "data" in raw else "data"), None,
                     "data and data_path go together: the data to pass, and the DataPath parameter receiving it")
    if only_if_new_data and (data is None or data.newest is None):
        problems.add(label("only_if_new_data"), True, 'only with "data": {"newest": {...}}')
    enabled = _bool(raw.get("enabled"), label("enabled"), True, problems)
    if len(problems) > count_before:
        return None
    return Schedule(name=name, cron=cron, run=run, data=data, only_if_new_data=only_if_new_data, enabled=enabled)


def _cron(raw: dict[str, Any], label: Callable[[str], str], problems: _Problems) -> CronSchedule | None:
    """The schedule's NCRONTAB, given directly or converted from an SDK v1 recurrence."""
    if ("cron" in raw) == ("recurrence" in raw):
        problems.add(label("cron"), raw.get("cron"),
                     "either cron (six-field NCRONTAB such as '0 0 2 * * *') or recurrence (SDK v1 form), not both")
        return None
    try:
        if "recurrence" in raw:
            return parse_ncrontab(recurrence_to_ncrontab(raw["recurrence"]))
        if not isinstance(raw["cron"], str):
            raise CronError("a six-field NCRONTAB string such as '0 0 2 * * *'")
        return _at_most_once_a_minute(parse_ncrontab(raw["cron"]))
    except RecurrenceError as error:
        problems.add(label("recurrence"), raw["recurrence"], str(error))
    except CronError as error:
        problems.add(label("cron"), raw.get("cron"), str(error))
    return None


def _at_most_once_a_minute(cron: CronSchedule) -> CronSchedule:
    """``cron`` if it fires at most once a minute; a tick is keyed to the occurrence it stands for, and seconds
    apart a late tick could stand for the next one (a sweep that often would only pile up on itself)."""
    if len(cron.seconds) > 1:
        raise CronError(f"{cron.expression!r} fires more than once a minute; give the seconds field one value")
    return cron


def _data_source(raw: Any, label: Callable[[str], str], problems: _Problems) -> DataSource | None:
    if raw is None:
        return None
    expected = 'either {"blob": "<path in the watched container>"} or {"newest": {"prefix": "incoming/", ...}}'
    if not isinstance(raw, dict) or len(raw) != 1 or not set(raw) <= {"blob", "newest"}:
        problems.add(label("data"), raw, expected)
        return None
    if "blob" in raw:
        unsafe = blob_name_problem(raw["blob"])
        if unsafe:
            problems.add(label("data.blob"), raw["blob"],
                         f"a blob path inside the watched container (this one {unsafe})")
            return None
        return DataSource(blob=raw["blob"])
    newest = raw["newest"]
    if not isinstance(newest, dict):
        problems.add(label("data.newest"), newest, expected)
        return None
    _unknown_keys(newest, {"prefix", "suffix", "include_subfolders"}, lambda key: label(f"data.newest.{key}"),
                  "data.newest", problems)
    return DataSource(newest=_blob_filter(newest, lambda key: label(f"data.newest.{key}"), problems))


def _target(raw: Any, label: Callable[[str], str], env: Mapping[str, str], allow_local: bool,
            problems: _Problems) -> Target | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
        problems.add(label("target"), raw, 'an object with the pipeline URL: {"url": "https://..."}')
        return None
    _unknown_keys(raw, _TARGET_KEYS, lambda key: label(f"target.{key}"), "target", problems)
    version = raw.get("pipeline_version")
    if (version is not None and not isinstance(version, (str, int))) or isinstance(version, bool):
        problems.add(label("target.pipeline_version"), version, "a pipeline endpoint version such as \"2\"")
        return None
    try:
        return parse_target(
            raw["url"],
            kind=raw.get("kind"),
            pipeline_version=str(version) if version is not None else None,
            scope=raw.get("scope") or settings.AML_TOKEN_SCOPE.read(env),
            deployment=raw.get("deployment") or None,
            workspace=raw.get("workspace") or None,
            allow_local=allow_local,
        )
    except TargetError as error:
        by_field: dict[str, list[str]] = {}
        for field, expected in error.problems:
            by_field.setdefault(field, []).append(expected)
        for field, texts in by_field.items():
            expected = "; ".join(texts)
            if field == "scope" and not raw.get("scope"):  # the scope came from the app setting
                problems.add(settings.AML_TOKEN_SCOPE.name, env.get(settings.AML_TOKEN_SCOPE.name), expected)
            else:
                problems.add(label(f"target.{field}"), raw.get(field), expected)
        return None


def _parameters(raw: Any, where: str, problems: _Problems) -> dict[str, str | int | float | bool]:
    """Pipeline parameters / job literal inputs: strings, numbers or booleans (v1 takes no booleans)."""
    if not isinstance(raw, dict):
        problems.add(where, raw, 'an object of pipeline parameters: {"name": "value"}')
        return {}
    parameters = {}
    for name, value in raw.items():
        if not isinstance(value, (str, int, float, bool)) or (isinstance(value, float) and not math.isfinite(value)):
            problems.add(f"{where}.{name}", value, "a string, number or boolean")
        else:
            parameters[name] = value
    return parameters


def _data_path(raw: Any, label: Callable[[str], str], problems: _Problems) -> DataPathBinding | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.add(label("data_path"), raw, 'an object: {"parameter": "input_datapath", "datastore": "<name>"}')
        return None
    for key in sorted(set(raw) - _DATA_PATH_KEYS):
        problems.add(label(f"data_path.{key}"), raw[key], "only parameter, datastore and relative_path")
    valid = True
    if not isinstance(raw.get("parameter"), str) or not raw["parameter"]:
        problems.add(label("data_path.parameter"), raw.get("parameter"), "the pipeline parameter / job input's name")
        valid = False
    if raw.get("datastore") is not None and (not isinstance(raw["datastore"], str) or not raw["datastore"]):
        problems.add(label("data_path.datastore"), raw["datastore"], "the datastore over the watched container")
        valid = False
    if raw.get("relative_path", "path") not in RELATIVE_PATHS:
        problems.add(label("data_path.relative_path"), raw["relative_path"], " or ".join(RELATIVE_PATHS))
        valid = False
    return DataPathBinding(raw["parameter"], raw.get("datastore"), raw.get("relative_path", "path")) if valid else None


def function_timeout(app_root: Path) -> float | None:
    """host.json's functionTimeout in seconds, when the app sets one."""
    try:
        text = json.loads((app_root / "host.json").read_text(encoding="utf-8")).get("functionTimeout")
        hours, minutes, seconds = (float(part) for part in text.split(":"))
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    return hours * 3600 + minutes * 60 + seconds


def _bool(value: Any, where: str, default: bool, problems: _Problems) -> bool:
    return settings.parse_flag(value, where, default, problems.add)
