"""Reading one setting (shared/core/config/settings.py): text with its default, a flag, a number within its bounds,
each refusal reported under the setting's name, and the near misses a typo of a setting's name is taken for."""

from __future__ import annotations

from typing import Any

import pytest

from shared.core.config import settings
from shared.core.config.settings import Setting, near_misses, number, parse_flag

pytestmark = pytest.mark.unit
Problem = tuple[str, Any, str]


class Collected(list[Problem]):
    """A ``Report`` that keeps every problem it is given."""

    def __call__(self, where: str, value: Any, expected: str) -> None:
        self.append((where, value, expected))


def test_an_unset_or_empty_setting_reads_as_its_default_unless_empty_is_a_value() -> None:
    plain = Setting("A_B", "doc", default="dflt")
    empty_is_set = Setting("A_B", "doc", default="dflt", empty_is_set=True)
    assert [plain.read({}), plain.read({"A_B": ""}), plain.read({"A_B": "v"})] == ["dflt", "dflt", "v"]
    assert [empty_is_set.read({}), empty_is_set.read({"A_B": ""})] == ["dflt", ""]
    assert Setting("A_B", "doc").read({}) is None


def test_text_refuses_a_setting_declared_without_a_default() -> None:
    assert Setting("A_B", "doc", default="").text({}) == ""
    with pytest.raises(TypeError) as raised:
        Setting("A_B", "doc").text({})
    assert str(raised.value) == "A_B is declared without a default"


@pytest.mark.parametrize(("value", "expected"), [
    (True, True), (False, False), ("true", True), (" Yes ", True), ("1", True), ("TRUE", True),
    ("false", False), (" No ", False), ("0", False), ("FALSE", False),
])
def test_a_flag_reads_true_or_false_in_any_case_and_spacing(value: Any, expected: bool) -> None:
    report = Collected()
    assert [parse_flag(value, "F", default, report) for default in (True, False)] == [expected, expected]
    assert report == []


@pytest.mark.parametrize("value", [None, ""])
def test_an_unset_flag_is_its_default(value: Any) -> None:
    report = Collected()
    assert [parse_flag(value, "F", default, report) for default in (True, False)] == [True, False]
    assert report == []


@pytest.mark.parametrize("value", ["maybe", "truee", 1, 0])
def test_anything_else_is_reported_under_its_name_and_the_default_kept(value: Any) -> None:
    report = Collected()
    assert [parse_flag(value, "WATCH_ENABLED", default, report) for default in (True, False)] == [True, False]
    assert report == [("WATCH_ENABLED", value, "true or false")] * 2


def test_a_flag_setting_defaults_to_its_declared_default() -> None:
    report = Collected()
    assert settings.flag({}, settings.WATCH_ENABLED, report) is True
    assert settings.flag({}, settings.AML_ALLOW_LOCAL_TARGETS, report) is False
    assert settings.flag({"WATCH_ENABLED": "no"}, settings.WATCH_ENABLED, report) is False
    assert settings.flag({"WATCH_ENABLED": "x"}, settings.WATCH_ENABLED, report) is True
    assert report == [("WATCH_ENABLED", "x", "true or false")]


@pytest.mark.parametrize(("raw", "expected"), [(None, 8), ("", 8), ("1", 1), ("50", 50), ("17", 17)])
def test_a_whole_number_setting_within_its_bounds_is_read_as_an_int(raw: str | None, expected: int) -> None:
    report = Collected()
    env = {} if raw is None else {"RETRY_MAX_ATTEMPTS": raw}
    value = number(env, settings.RETRY_MAX_ATTEMPTS, report)
    assert (value, type(value), report) == (expected, int, [])


@pytest.mark.parametrize(("raw", "expected"), [(None, 1.0), ("", 1.0), ("0.001", 0.001), ("60", 60.0),
                                               ("2.5", 2.5)])
def test_a_number_setting_within_its_bounds_is_read_as_a_float(raw: str | None, expected: float) -> None:
    report = Collected()
    env = {} if raw is None else {"RETRY_BASE_DELAY_SECONDS": raw}
    value = number(env, settings.RETRY_BASE_DELAY, report)
    assert (value, type(value), report) == (expected, float, [])


@pytest.mark.parametrize(("setting", "raw", "default", "expected"), [
    (settings.RETRY_MAX_ATTEMPTS, "0", 8, "a whole number from 1 to 50"),
    (settings.RETRY_MAX_ATTEMPTS, "51", 8, "a whole number from 1 to 50"),
    (settings.RETRY_MAX_ATTEMPTS, "2.5", 8, "a whole number from 1 to 50"),
    (settings.RETRY_BASE_DELAY, "0.0009", 1.0, "a number from 0.001 to 60"),
    (settings.RETRY_BASE_DELAY, "60.5", 1.0, "a number from 0.001 to 60"),
    (settings.RETRY_BASE_DELAY, "soon", 1.0, "a number from 0.001 to 60"),
])
def test_a_number_out_of_bounds_or_not_one_is_reported_with_the_bounds_and_the_default_kept(
        setting: Setting, raw: str, default: float, expected: str) -> None:
    report = Collected()
    assert number({setting.name: raw}, setting, report) == default
    assert report == [(setting.name, raw, expected)]


def test_a_near_miss_of_a_settings_name_is_taken_for_it_in_any_case() -> None:
    env = {"WATCH_PREFX": "a", "watch_prefix": "b", "Aml_Experimentt": "c", "WATCH_PREFIX": "d"}
    assert near_misses(env) == [("Aml_Experimentt", "AML_EXPERIMENT"), ("WATCH_PREFX", "WATCH_PREFIX"),
                                ("watch_prefix", "WATCH_PREFIX")]


def test_a_typo_early_in_a_name_is_found_by_the_names_first_word() -> None:
    assert near_misses({"SUBMIT_DEADLNE_SECONDS": "1"}) == [("SUBMIT_DEADLNE_SECONDS", "SUBMIT_DEADLINE_SECONDS")]


def test_a_name_less_alike_than_one_letter_in_ten_is_no_near_miss() -> None:
    assert near_misses({"WATCH_PRE": "a", "AML_EXPERIMENT_XYZ": "b"}) == []


def test_names_this_app_does_not_own_or_uses_otherwise_are_never_near_misses() -> None:
    env = {"PATH": "/bin", "HOME_DIR": "x", "WATCH_STORAGE__": "u", "AML_PIPELINE_UR": "x",
           "WEBSITE_INSTANCE_IDD": "x", "IDENTITY_ENDPOINTT": "x"}
    assert near_misses(env, known_elsewhere={"AML_PIPELINE_UR"}) == []
    assert near_misses({"AML_PIPELINE_UR": "x"}) == [("AML_PIPELINE_UR", "AML_PIPELINE_URL")]
    assert near_misses({"WATCH_STORAGE_": "x"}) == [("WATCH_STORAGE_", "WATCH_STORAGE")]


@pytest.mark.parametrize("setting", [Setting("A_B", "doc", default="5"), Setting("A_B", "doc", default="5", minimum=1),
                                     Setting("A_B", "doc", minimum=1, maximum=9)])
def test_a_number_is_read_only_from_a_setting_declared_with_bounds_and_a_default(setting: Setting) -> None:
    with pytest.raises(AssertionError):
        number({}, setting, Collected())
