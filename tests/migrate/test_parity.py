"""The parity check of an import, in process: each key's verdict, the flattening of nested bodies, and the table as
printed (secret-looking parameters masked, tags counted, widths capped)."""

from __future__ import annotations

import pytest

from cli.migrate import parity
from cli.migrate.parity import AROUND_MIDNIGHT, MISSING, ParityRow, compare_bodies, flat_body, parity_table


@pytest.mark.parametrize("row, verdict", [
    (ParityRow("k", 1, 1), "same"),
    (ParityRow("k", 1, 2), "DIFFERENT"),
    (ParityRow("k", 1, 2, may_differ=True), "expected"),
    (ParityRow("k", 1, 1, may_differ=True), "same"),
    (ParityRow("k", "2026-12-07", "2026-12-07", from_clock=True), AROUND_MIDNIGHT),
    (ParityRow("k", "2026-12-07", "2026-12-08", from_clock=True), "DIFFERENT"),
])
def test_a_rows_verdict_says_same_expected_different_or_around_midnight(row, verdict):
    assert row.verdict == verdict


def test_the_constants_are_what_the_table_prints():
    assert (MISSING, AROUND_MIDNIGHT) == ("(absent)", "may differ around midnight")


def test_nested_objects_flatten_to_dotted_keys_but_tags_and_empty_objects_stay_whole():
    body = {"a": {"b": {"c": 1}, "d": [1]}, "tags": {"x": "1"}, "empty": {}, "e": None}

    assert flat_body(body) == {"a.b.c": 1, "a.d": [1], "tags": {"x": "1"}, "empty": {}, "e": None}
    assert flat_body({"tags": {"x": "1"}}, "outer.") == {"outer.tags.x": "1"}  # only the top-level tags is one row


def test_compare_bodies_gives_one_sorted_row_per_key_with_a_missing_side_absent():
    rows = compare_bodies({"b": {"c": 1}, "tags": {"t": 1}, "old": 2, "when": "d"},
                          {"b": {"c": 1}, "tags": {"t": 2}, "new": 3, "when": "d"}, frozenset({"when"}))

    assert rows == [
        ParityRow("b.c", 1, 1, False, False),
        ParityRow("new", MISSING, 3, False, False),
        ParityRow("old", 2, MISSING, False, False),
        ParityRow("tags", {"t": 1}, {"t": 2}, True, False),
        ParityRow("when", "d", "d", False, True),
    ]
    assert [row.verdict for row in rows] == ["same", "DIFFERENT", "DIFFERENT", "expected", AROUND_MIDNIGHT]


def test_no_key_reads_the_clock_unless_named():
    (row,) = compare_bodies({"when": "d"}, {"when": "d"})
    assert (row.from_clock, row.verdict) == (False, "same")


def test_parity_holds_unless_a_row_is_different():
    assert parity.parity_holds([ParityRow("a", 1, 1), ParityRow("tags", 1, 2, may_differ=True)])
    assert not parity.parity_holds([ParityRow("a", 1, 1), ParityRow("b", 1, 2)])
    assert parity.parity_holds([])


def test_the_table_aligns_columns_names_the_blob_and_says_parity_holds():
    rows = compare_bodies({"Experiment": "e", "tags": {}}, {"Experiment": "e", "tags": {"a": 1, "b": 2}})

    assert parity_table("in/a.csv", rows).splitlines() == [
        "parity for blob 'in/a.csv':",
        "  key         old trigger sent  imported rule sends",
        "  Experiment  e                 e                    same",
        "  tags        {0 tags}          {2 tags}             expected",
        "  parity holds (expected to differ: tags)",
    ]


def test_the_table_counts_different_keys_and_says_when_nothing_is_expected_to_differ():
    rows = compare_bodies({"a": 1, "b": "x"}, {"a": 2, "b": "y"})

    assert parity_table("b", rows).splitlines() == [
        "parity for blob 'b':",
        "  key  old trigger sent  imported rule sends",
        "  a    1                 2                    DIFFERENT",
        "  b    x                 y                    DIFFERENT",
        "  2 key(s) differ (expected to differ: nothing)",
    ]


def test_values_show_as_json_except_text_and_non_ascii_stays_readable():
    rows = compare_bodies({"a": None, "b": "é", "c": ["é"], "d": True}, {"a": None, "b": "é", "c": ["é"], "d": True})

    assert [line.split()[1] for line in parity_table("x", rows).splitlines()[2:6]] == ["null", "é", '["é"]', "true"]


def test_a_column_is_at_most_48_wide_and_a_longer_value_is_shown_whole():
    long_value = "v" * 60
    rows = compare_bodies({"k": long_value, "m": "w" * 48}, {"k": long_value, "m": "w" * 48})

    lines = parity_table("x", rows).splitlines()
    assert lines[1] == "  key  old trigger sent" + " " * 34 + "imported rule sends"
    assert lines[2] == f"  k    {long_value}  {long_value}  same"
    assert lines[3] == f"  m    {'w' * 48}  {'w' * 48}  same"


@pytest.mark.parametrize("key, value", [
    ("ParameterAssignments.sas", "plain"),  # a secret name
    ("ParameterAssignments.input", "sv=2024-08-04&sig=abcdefghijklmnop"),  # a secret shape
])
def test_a_secret_looking_parameter_is_masked_in_the_table_but_compared_unmasked(key, value):
    rows = compare_bodies({key.split(".")[0]: {key.split(".")[1]: value}},
                          {key.split(".")[0]: {key.split(".")[1]: value + "x"}})

    table = parity_table("x", rows)
    assert value not in table
    assert table.splitlines()[2].split() == [key, "***", "***", "DIFFERENT"]


def test_only_a_parameter_is_masked_by_its_name_and_a_non_text_value_is_not_masked_by_shape():
    body = {"Description": {"sas": "plain"}, "ParameterAssignments": {"input": 12, "a.sas": "v", "sas": {"x": "v"}}}
    rows = compare_bodies(body, body)

    assert [line.split()[:2] for line in parity_table("x", rows).splitlines()[2:6]] == [
        ["Description.sas", "plain"], ["ParameterAssignments.a.sas", "***"], ["ParameterAssignments.input", "12"],
        ["ParameterAssignments.sas.x", "***"]]  # the parameter's name: all after the first '.'
