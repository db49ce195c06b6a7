"""The rules file's schedules into checked Schedules: when each fires (NCRONTAB or an SDK v1 recurrence), what
it runs and on which data; every problem goes to the collector handed in, under its place in the file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.core.blobs.blob_names import blob_name_problem
from shared.core.config import settings
from shared.core.config.batch_options import LIMIT_KEYS, run_limit
from shared.core.config.config_model import DataSource, Schedule
from shared.core.config.fields import at_most_once_a_minute, flag, unknown_keys
from shared.core.config.problems import Problems
from shared.core.config.rule_parser import RUN_KEYS, ItemKind, blob_filter, check_placeholders, run_spec
from shared.core.schedules.ncrontab import CronError, CronSchedule, parse_ncrontab
from shared.core.schedules.recurrence import RecurrenceError, recurrence_to_ncrontab
from shared.core.templates.templates import BLOB, NAME, OCCURRENCE

SCHEDULE_KEYS = {"name", "cron", "recurrence", "enabled", "data", "only_if_new_data"} | RUN_KEYS | LIMIT_KEYS
SCHEDULE_NAME_LENGTH = 63
SCHEDULE = ItemKind("schedule", SCHEDULE_KEYS, "name, cron or recurrence, target, experiment, ...",
                    re.compile(rf"[A-Za-z][A-Za-z0-9_]{{0,{SCHEDULE_NAME_LENGTH - 1}}}"),
                    f"1-{SCHEDULE_NAME_LENGTH} letters, digits or '_', starting with a letter (it names a function)")
_UTC = ("UTC", "Coordinated Universal Time")


def parse_schedules(items: list[tuple[Any, Problems]], env: Mapping[str, str], allow_local: bool,
                    problems: Problems, *, now: datetime) -> list[Schedule]:
    """The schedules of ``items`` (each raw schedule with the collector for its place) that have no problem;
    ``now`` tells a recurrence's start_time in the future."""
    schedules = [schedule for raw, place in items
                 if (schedule := _parse_schedule(raw, place, env, allow_local, now))]
    SCHEDULE.check_unique_names(items)
    if schedules and (time_zone := settings.WEBSITE_TIME_ZONE.read(env)) not in _UTC:
        problems.setting(settings.WEBSITE_TIME_ZONE.name).add(
            time_zone, "unset (UTC): schedules are evaluated in UTC, and Linux plans do not support WEBSITE_TIME_ZONE")
    return schedules


def _parse_schedule(raw: Any, problems: Problems, env: Mapping[str, str], allow_local: bool,
                    now: datetime) -> Schedule | None:
    def build(schedule: dict[str, Any], name: str) -> Schedule | None:
        cron = _cron(schedule, problems, now)
        run = run_spec(schedule, problems, env, allow_local)
        data = _data_source(schedule.get("data"), problems.at("data"))
        only_if_new_data = flag(schedule, "only_if_new_data", False, problems)
        templated_path = run is not None and run.data_path is not None and run.data_path.path is not None
        if ("data" in schedule) != ("data_path" in schedule) and not templated_path:
            problems.at("data_path" if "data" in schedule else "data").add(
                None, "data and data_path go together: the data to pass, and the DataPath parameter receiving it")
        if only_if_new_data and (data is None or data.newest is None):
            problems.at("only_if_new_data").add(True, 'only with "data": {"newest": {...}}')
        enabled = flag(schedule, "enabled", True, problems)
        limit = run_limit(schedule, problems)
        if run is not None:
            provided = frozenset({NAME, OCCURRENCE} | ({BLOB} if data is not None else set()))
            check_placeholders(run, provided, f"schedule {name!r}" + ("" if data else " (no data)"), problems)
        if cron is None or run is None:
            return None
        return Schedule(name=name, cron=cron, run=run, data=data, only_if_new_data=only_if_new_data,
                        enabled=enabled, limit=limit)

    return SCHEDULE.parsed(raw, problems, build)


def _cron(raw: dict[str, Any], problems: Problems, now: datetime) -> CronSchedule | None:
    """The schedule's NCRONTAB, given directly or converted from an SDK v1 recurrence."""
    if ("cron" in raw) == ("recurrence" in raw):
        problems.at("cron").add(
            raw.get("cron"),
            "either cron (six-field NCRONTAB such as '0 0 2 * * *') or recurrence (SDK v1 form), not both")
        return None
    try:
        if "recurrence" in raw:
            return parse_ncrontab(recurrence_to_ncrontab(raw["recurrence"], now=now))
        if not isinstance(raw["cron"], str):
            raise CronError("a six-field NCRONTAB string such as '0 0 2 * * *'")
        return at_most_once_a_minute(parse_ncrontab(raw["cron"]))
    except RecurrenceError as error:
        problems.at("recurrence").add(raw["recurrence"], str(error))
    except CronError as error:
        problems.at("cron").add(raw.get("cron"), str(error))
    return None


def _data_source(raw: Any, problems: Problems) -> DataSource | None:
    if raw is None:
        return None
    expected = 'either {"blob": "<path in the watched container>"} or {"newest": {"prefix": "incoming/", ...}}'
    if not isinstance(raw, dict) or len(raw) != 1 or not set(raw) <= {"blob", "newest"}:
        problems.add(raw, expected)
        return None
    if "blob" in raw:
        unsafe = blob_name_problem(raw["blob"])
        if unsafe:
            problems.at("blob").add(raw["blob"], f"a blob path inside the watched container (this one {unsafe})")
            return None
        return DataSource(blob=raw["blob"])
    newest = problems.at("newest")
    if not isinstance(raw["newest"], dict):
        newest.add(raw["newest"], expected)
        return None
    unknown_keys(raw["newest"], {"prefix", "suffix", "include_subfolders"}, "data.newest", newest)
    return DataSource(newest=blob_filter(raw["newest"], newest))
