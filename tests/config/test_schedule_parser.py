"""shared/core/config/schedule_parser.py: the rules file's schedules, each checked on its own, every problem under
its place in the file with the words a user needs to fix it."""

from __future__ import annotations

from typing import Any

import pytest

from shared.core.config.config_model import BlobFilter, DataSource, RunLimit, Schedule
from shared.core.config.problems import Problems
from shared.core.config.schedule_parser import parse_schedules
from tests.support.settings import LOADED_AT, PIPELINE_URL

DATA_PATH = {"parameter": "input_datapath", "datastore": "workspaceblobstore"}
DATA_EXPECTED = 'either {"blob": "<path in the watched container>"} or {"newest": {"prefix": "incoming/", ...}}'


def schedule_json(**fields: Any) -> dict[str, Any]:
    return {"name": "nightly", "cron": "0 0 2 * * *", "target": {"url": PIPELINE_URL}, "experiment": "retrain",
            **fields}


def parsed(*raws: Any, env: dict[str, str] | None = None) -> tuple[list[Schedule], list[str]]:
    """The schedules that load, and every problem as the load error lists it."""
    problems = Problems.of()
    items = [(raw, problems.at("schedules").index(index)) for index, raw in enumerate(raws)]
    schedules = parse_schedules(items, env or {}, False, problems, now=LOADED_AT)
    return schedules, [str(problem) for problem in problems.found]


def problems_of(*raws: Any, env: dict[str, str] | None = None) -> list[str]:
    schedules, found = parsed(*raws, env=env)
    assert schedules == []
    return found


def only_schedule(raw: dict[str, Any], env: dict[str, str] | None = None) -> Schedule:
    schedules, found = parsed(raw, env=env)
    assert found == []
    [schedule] = schedules
    return schedule


def test_a_schedule_without_enabled_or_a_limit_is_enabled_unlimited_and_runs_whatever_the_data():
    schedule = only_schedule(schedule_json())
    assert (schedule.name, schedule.cron.expression, schedule.data, schedule.only_if_new_data) == (
        "nightly", "0 0 2 * * *", None, False)
    assert (schedule.enabled, schedule.limit) == (True, None)


def test_a_schedules_own_run_limit_and_enabled_flag_are_kept():
    schedule = only_schedule(schedule_json(enabled=False, max_active_runs=2))
    assert (schedule.enabled, schedule.limit) == (False, RunLimit(most=2, policy="queue"))


def test_a_run_limit_policy_it_does_not_know_is_named_with_both_it_knows():
    assert problems_of(schedule_json(max_active_runs=2, max_active_runs_policy="sometimes")) == [
        "schedules[0].max_active_runs_policy = 'sometimes': queue (waiting triggers start in order as runs end) or "
        "latest (only the newest waiting one)"]


def test_a_name_of_63_characters_loads_and_one_of_64_is_refused_saying_why():
    assert only_schedule(schedule_json(name="n" * 63)).name == "n" * 63
    assert problems_of(schedule_json(name="n" * 64)) == [
        f"schedules[0].name = '{'n' * 64}': 1-63 letters, digits or '_', starting with a letter (it names a "
        "function)"]


@pytest.mark.parametrize("time_zone", ["UTC", "Coordinated Universal Time"])
def test_utc_by_either_of_its_names_is_the_time_zone_schedules_run_in(time_zone):
    assert only_schedule(schedule_json(), env={"WEBSITE_TIME_ZONE": time_zone}).name == "nightly"


def test_the_time_zone_is_not_judged_when_no_schedule_loads():
    assert problems_of(schedule_json(experiment="bad name"), env={"WEBSITE_TIME_ZONE": "Tokyo Standard Time"}) == [
        "schedules[0].experiment = 'bad name': an experiment name: letters, digits, '-' and '_', starting with a "
        "letter or digit"]


def test_a_schedule_refused_with_another_loads_nothing_of_it_and_names_both():
    schedules, found = parsed(schedule_json(), schedule_json(name="hourly", cron="0 2 * * *"))
    assert [schedule.name for schedule in schedules] == ["nightly"]
    assert found == ["schedules[1].cron = '0 2 * * *': '0 2 * * *' must have six fields: second minute hour day "
                     "month day-of-week (add the seconds field first: '0 0 2 * * *')"]


def test_a_recurrence_it_cannot_convert_is_named_under_recurrence_with_why():
    raw = {key: value for key, value in schedule_json().items() if key != "cron"}
    assert problems_of({**raw, "recurrence": {"frequency": "Fortnight"}}) == [
        "schedules[0].recurrence = {'frequency': 'Fortnight'}: frequency 'Fortnight' must be one of Minute, Hour, "
        "Day, Week, Month"]


def test_a_cron_and_a_recurrence_together_are_one_problem_saying_to_give_one():
    assert problems_of(schedule_json(recurrence={"frequency": "Day"})) == [
        "schedules[0].cron = '0 0 2 * * *': either cron (six-field NCRONTAB such as '0 0 2 * * *') or recurrence "
        "(SDK v1 form), not both"]


def test_a_cron_that_is_not_text_says_what_it_must_be():
    assert problems_of(schedule_json(cron=["0 0 2 * * *"])) == [
        "schedules[0].cron = ['0 0 2 * * *']: a six-field NCRONTAB string such as '0 0 2 * * *'"]


def test_only_if_new_data_without_data_is_refused():
    assert problems_of(schedule_json(only_if_new_data=True)) == [
        "schedules[0].only_if_new_data = True: only with \"data\": {\"newest\": {...}}"]


def test_only_if_new_data_with_the_newest_blob_loads():
    schedule = only_schedule(schedule_json(data={"newest": {"prefix": "in/", "suffix": ".json"}}, data_path=DATA_PATH,
                                           only_if_new_data=True))
    assert (schedule.data, schedule.only_if_new_data) == (
        DataSource(newest=BlobFilter(prefix="in/", suffix=".json")), True)


def test_a_named_blob_as_data_loads_and_gives_the_blob_placeholders_their_values():
    schedule = only_schedule(schedule_json(data={"blob": "in/x.csv"}, data_path=DATA_PATH,
                                           parameters={"f": "{blob.name}"}))
    assert schedule.data == DataSource(blob="in/x.csv")


def test_a_placeholder_a_schedule_with_data_cannot_fill_names_the_schedule():
    assert problems_of(schedule_json(data={"blob": "in/x.csv"}, data_path=DATA_PATH,
                                     parameters={"f": "{batch.folder}"})) == [
        "schedules[0].parameters.f = '{batch.folder}': {batch.folder} does not apply to schedule 'nightly': it needs "
        "a batch (a rule with a marker or a quiet window)"]


def test_a_templated_path_with_no_data_needs_no_data_and_a_path_with_data_needs_data_path():
    dated = {**DATA_PATH, "relative_path": "daily/{trigger.time:%Y-%m-%d}/"}
    assert only_schedule(schedule_json(data_path=dated)).run.data_path is not None
    assert problems_of(schedule_json(data={"blob": "in/x.csv"})) == [
        "schedules[0].data_path = (not set): data and data_path go together: the data to pass, and the DataPath "
        "parameter receiving it"]


@pytest.mark.parametrize("data, expected", [
    ("in/x.csv", f"schedules[0].data = 'in/x.csv': {DATA_EXPECTED}"),
    ({}, f"schedules[0].data = {{}}: {DATA_EXPECTED}"),
    ({"blob": "a.csv", "newest": {}}, f"schedules[0].data = {{'blob': 'a.csv', 'newest': {{}}}}: {DATA_EXPECTED}"),
    ({"file": "a.csv"}, f"schedules[0].data = {{'file': 'a.csv'}}: {DATA_EXPECTED}"),
    ({"newest": "in/"}, f"schedules[0].data.newest = 'in/': {DATA_EXPECTED}"),
    ({"blob": "../x.csv"}, "schedules[0].data.blob = '../x.csv': a blob path inside the watched container (this one "
                           "has a '.' or '..' segment: it would leave the path it names)"),
])
def test_data_of_the_wrong_shape_is_named_saying_both_forms(data, expected):
    assert problems_of(schedule_json(data=data, data_path=DATA_PATH)) == [expected]
