"""Withholding secrets from an imported entry, in process: which values become %SETTING% references, the settings'
names, the values kept for the load check, and the one finding per value naming the setting."""

from __future__ import annotations

from typing import Any

from cli.migrate.secret_settings import FIELD_PREFIX, PARAMETER_PREFIX, withhold_secrets

SAS = "sv=2024-08-04&sig=SECRETVALUE123456"


def withheld(entry: dict[str, Any], kind: str = "rule", taken: set[str] | None = None) -> tuple[list[str],
                                                                                                   dict[str, str]]:
    """The findings as printed and the settings' values, ``entry`` changed in place."""
    values: dict[str, str] = {}
    found = withhold_secrets(entry, kind, values, set() if taken is None else taken)
    return [str(finding) for finding in found], values


def test_the_prefixes_name_a_parameters_setting_and_any_other_fields():
    assert (PARAMETER_PREFIX, FIELD_PREFIX) == ("AML_PARAM_", "AML_IMPORT_")


def test_a_secret_named_parameter_becomes_a_setting_reference_named_after_the_rule_and_the_parameter():
    entry = {"name": "nightly.v2 run", "parameters": {"api_key": "plain", "input": "plain"}}

    findings, values = withheld(entry)

    assert entry == {"name": "nightly.v2 run",
                     "parameters": {"api_key": "%AML_PARAM_NIGHTLY_V2_RUN_API_KEY%", "input": "plain"}}
    assert values == {"AML_PARAM_NIGHTLY_V2_RUN_API_KEY": "plain"}
    assert findings == ["rule 'nightly.v2 run' parameters.api_key: the value looks secret and is not written: the file "
                        "says %AML_PARAM_NIGHTLY_V2_RUN_API_KEY%; set the app setting "
                        "AML_PARAM_NIGHTLY_V2_RUN_API_KEY to it"]


def test_a_secret_shaped_value_anywhere_becomes_a_field_setting_and_lists_are_walked_by_index():
    entry = {"name": "-s-", "description": SAS, "data": {"blobs": ["a.csv", SAS]}, "count": 3}

    findings, values = withheld(entry, "schedule")

    assert entry == {"name": "-s-", "description": "%AML_IMPORT_S_DESCRIPTION%",
                     "data": {"blobs": ["a.csv", "%AML_IMPORT_S_DATA_BLOBS_1%"]}, "count": 3}
    assert values == {"AML_IMPORT_S_DESCRIPTION": SAS, "AML_IMPORT_S_DATA_BLOBS_1": SAS}
    assert findings == [
        "schedule '-s-' description: the value looks secret and is not written: the file says "
        "%AML_IMPORT_S_DESCRIPTION%; set the app setting AML_IMPORT_S_DESCRIPTION to it",
        "schedule '-s-' data.blobs.1: the value looks secret and is not written: the file says "
        "%AML_IMPORT_S_DATA_BLOBS_1%; set the app setting AML_IMPORT_S_DATA_BLOBS_1 to it"]


def test_a_name_that_looks_secret_is_left_out_with_a_finding():
    entry = {"name": "r", "parameters": {SAS: "v", "plain": "v"}}

    findings, values = withheld(entry)

    assert entry == {"name": "r", "parameters": {"plain": "v"}}
    assert values == {}
    assert findings == [f"rule 'r' parameters.{SAS}: a name that looks secret: left out of the file"]


def test_only_a_pipeline_parameter_is_withheld_by_its_name_and_an_empty_value_never():
    entry = {"name": "r", "token": "plain", "data_path": {"sas": "plain"}, "parameters": {"sas": "", "x": {"key": "v"}}}

    findings, values = withheld(entry)

    assert entry == {"name": "r", "token": "plain", "data_path": {"sas": "plain"},
                     "parameters": {"sas": "", "x": {"key": "v"}}}
    assert (findings, values) == ([], {})


def test_the_name_is_kept_as_written_even_when_it_looks_secret():
    entry = {"name": SAS, "experiment": "e"}
    assert withheld(entry) == ([], {}) and entry == {"name": SAS, "experiment": "e"}


def test_a_setting_name_already_taken_gets_a_counter_and_is_taken_in_turn():
    taken = {"AML_PARAM_R_SAS", "AML_PARAM_R_SAS_2"}
    entry = {"name": "r", "parameters": {"sas": "one"}}

    findings, values = withheld(entry, taken=taken)

    assert entry["parameters"] == {"sas": "%AML_PARAM_R_SAS_3%"}
    assert values == {"AML_PARAM_R_SAS_3": "one"}
    assert taken == {"AML_PARAM_R_SAS", "AML_PARAM_R_SAS_2", "AML_PARAM_R_SAS_3"}
    assert findings[0].endswith("set the app setting AML_PARAM_R_SAS_3 to it")


def test_two_values_of_one_entry_never_share_a_setting():
    entry = {"name": "r", "parameters": {"a_sas": "one", "a-sas": "two"}}

    _, values = withheld(entry)

    assert values == {"AML_PARAM_R_A_SAS": "one", "AML_PARAM_R_A_SAS_2": "two"}


def test_a_setting_name_keeps_the_last_letters_of_the_parameters_name():
    entry = {"name": "r", "parameters": {"key_x": "one"}}
    assert withheld(entry)[1] == {"AML_PARAM_R_KEY_X": "one"}
