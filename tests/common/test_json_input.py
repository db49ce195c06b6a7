"""The bounded reader of outside JSON: what it refuses, each refusal naming the source and the field, before any
recursion, int() limit or infinite float is reached; what it accepts, exactly as json reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.core.blobs.batches import manifest_files
from shared.core.common.errors import NotJson, TriggerError, UnreadableJson
from shared.core.common.json_input import DEFAULT, IMPORT_FILE, Limits, read_json, read_json_file

pytestmark = pytest.mark.unit


def refusal(data: str | bytes, limits: Limits = DEFAULT) -> str:
    with pytest.raises(UnreadableJson) as caught:
        read_json(data, source="rules file r.json", limits=limits)
    assert isinstance(caught.value, TriggerError)
    return str(caught.value)


@pytest.mark.parametrize("text, message", [
    ('{"rules": [{}, {}, {"parameters": {"alpha": 1e400}}]}',
     "rules[2].parameters.alpha is a number out of range (not finite)"),
    ('{"p": {"beta": ' + "9" * 5_000 + "}}", "p.beta is a number of 5,000 characters; at most 100 are read"),
    ('{"p": [0.' + "5" * 100 + "]}", "p[0] is a number of 102 characters; at most 100 are read"),
    ('{"p": {"x": NaN}}', "p.x is NaN, which JSON does not allow (a number must be finite)"),
    ('[1, {"k": -Infinity}]', "[1].k is -Infinity, which JSON does not allow (a number must be finite)"),
    ('{"a": {"b": 1, "b": 2}}', "a has the key 'b' twice (only one value can be kept)"),
    ("[" * 20_000 + "]" * 20_000, "[0]" * 32 + " is nested more than 32 levels deep"),
    ('{"a": ["]]]{{{", {"b": ' + "[" * 31 + "]" * 31 + "}]}",
     "a[1].b" + "[0]" * 29 + " is nested more than 32 levels deep"),
    ('{"https://h/x?sig=SECRETVALUE": 1e400}', "https://h/x is a number out of range (not finite)"),
    ('{"o": {"x": 0, "b": 1, "b": 2}}', "o has the key 'b' twice (only one value can be kept)"),
    ('{"Xray": 1e400}', "Xray is a number out of range (not finite)"),
])
def test_refusals_name_the_source_and_the_field(text, message):
    assert refusal(text) == f"rules file r.json: {message}"


@pytest.mark.parametrize("data, message", [
    ('{"rules": [', "is not valid JSON (Expecting value at line 1 column 12)"),
    (b"\xff{}", "is not UTF-8 (byte 0)"),
    ("", "is not valid JSON (Expecting value at line 1 column 1)"),
])
def test_text_that_is_not_json_is_refused_as_not_json(data, message):
    with pytest.raises(NotJson, match="^rules file r.json " + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        read_json(data, source="rules file r.json")


def test_size_is_checked_in_bytes_before_anything_else():
    assert refusal(b"[" * 65, Limits(max_bytes=64)) == "rules file r.json is 65 bytes; at most 64 are read"
    assert refusal("[\"\u00e9\"]" * 20, Limits(max_bytes=80)) == "rules file r.json is 120 bytes; at most 80 are read"


@pytest.mark.parametrize("text", [
    '{"files": ["a.csv"], "n": 1.5, "big": ' + "9" * 100 + ', "deep": ' + "[" * 31 + "]" * 31 + "}",
    '["[[[[ not nesting: a string", "\\"]"]', "null", '"\u00e9\\u00e9"', "[-0.0, 1E5, true, false]",
])
def test_what_is_within_bounds_reads_exactly_as_json_reads_it(text):
    assert read_json(text, source="s") == json.loads(text)


def test_a_byte_order_mark_is_allowed_as_editors_write_it():
    assert read_json(b"\xef\xbb\xbf{\"a\": 1}", source="s") == {"a": 1} == read_json("\ufeff{\"a\": 1}", source="s")


def test_importer_input_may_nest_deeper_than_a_request():
    assert read_json("[" * 64 + "]" * 64, source="s", limits=IMPORT_FILE) == json.loads("[" * 64 + "]" * 64)
    assert refusal("[" * 65 + "]" * 65, IMPORT_FILE).endswith("[0]" * 64 + " is nested more than 64 levels deep")


def test_a_deep_manifest_is_a_reason_not_a_recursion_error():
    deep = b"[" * 20_000 + b"]" * 20_000
    assert manifest_files(deep, len(deep), "in/") == (
        "the manifest: " + "[0]" * 32 + " is nested more than 32 levels deep")


def test_a_file_over_its_limit_is_refused_by_its_size_and_never_read(tmp_path, monkeypatch):
    big = tmp_path / "rules.json"
    with big.open("wb") as file:
        file.truncate(DEFAULT.max_bytes + 1)  # sparse: no disk used
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self} was read"))

    with pytest.raises(UnreadableJson) as caught:
        read_json_file(big, source="rules file rules.json")

    assert str(caught.value) == (f"rules file rules.json is {DEFAULT.max_bytes + 1:,} bytes; at most "
                                 f"{DEFAULT.max_bytes:,} are read")


def test_a_file_is_read_within_the_limits_its_caller_gives(tmp_path):
    deep = tmp_path / "export.json"
    deep.write_text("[" * 40 + "]" * 40, encoding="utf-8")
    assert read_json_file(deep, source="s", limits=IMPORT_FILE) == json.loads("[" * 40 + "]" * 40)


@pytest.mark.parametrize(("text", "path"), [
    ("[0, 0, [[[]]]]", "[2][0][0]"),
    ('{"a": 1, "b": [[[]]]}', "b[0][0]"),
    ('[[1], {"k": "v", "n": [[]]}]', "[1].n[0]"),
    ('{"' + "k" * 70 + '": [[[]]]}', "k" * 60 + "[0][0]"),
])
def test_the_depth_scan_names_the_path_where_nesting_goes_too_deep(text, path):
    assert refusal(text, Limits(max_depth=3)) == f"rules file r.json: {path} is nested more than 3 levels deep"


def test_a_comma_outside_any_list_or_object_is_plain_invalid_json():
    with pytest.raises(NotJson, match=r"^s is not valid JSON \(Extra data at line 1 column 2\)$"):
        read_json("1, 2", source="s")


@pytest.mark.parametrize(("text", "depth", "path"), [
    ('{"a": "value" [[]]}', 1, "a"), ('{"a" "second" [[]]}', 1, "a"), ('{"a": [] "b": [[]]}', 2, "a[0]"),
    ('{"a": 1, : [[]]}', 2, "a[0]"), ("{[[]]}", 2, "[0]"),
])
def test_the_depth_scan_takes_only_a_string_before_its_colon_for_a_key(text, depth, path):
    """Not JSON, but deep: the scan (which runs first) names the key it read, never a value, a stray string or
    anything for a key not read yet."""
    expected = f"rules file r.json: {path} is nested more than {depth} levels deep"
    assert refusal(text, Limits(max_depth=depth)) == expected


def test_a_whole_text_refusal_names_no_field():
    refusals = []
    for data, limits in ((b"[]" * 33, Limits(max_bytes=64)), (b"\xff", DEFAULT), ("[", DEFAULT)):
        with pytest.raises(UnreadableJson) as caught:
            read_json(data, source="s", limits=limits)
        refusals.append((caught.value.source, caught.value.path))
    assert refusals == [("s", "")] * 3


def test_exactly_the_size_limit_is_read():
    assert read_json(b"[" + b" " * 62 + b"]", source="s", limits=Limits(max_bytes=64)) == []


def test_a_parser_that_still_recursed_too_deep_is_a_refusal_naming_the_source(monkeypatch):
    """The depth scan refuses first; should the parser still recurse past the stack, no RecursionError escapes."""
    def overflowing(*args: object, **kwargs: object) -> object:
        raise RecursionError
    monkeypatch.setattr(json, "loads", overflowing)
    with pytest.raises(UnreadableJson) as caught:
        read_json("[]", source="s", limits=Limits(max_depth=7))
    assert (str(caught.value), caught.value.source, caught.value.path) == ("s is nested more than 7 levels deep",
                                                                         "s", "")
