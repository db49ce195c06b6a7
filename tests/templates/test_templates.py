"""shared/core/templates/templates.py: the placeholder grammar, read by a scanner that runs nothing, and rendering."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.core.templates.templates import (
    BATCH,
    BATCH_COUNT,
    BLOB,
    NAME,
    OCCURRENCE,
    Placeholder,
    Template,
    TemplateContext,
    TemplateError,
    blob_values,
    is_template,
    missing,
    parse_template,
    render,
)

pytestmark = pytest.mark.unit

MODIFIED = datetime(2026, 12, 7, 23, 30, 5, tzinfo=UTC)
BLOB_CONTEXT = TemplateContext(
    {**blob_values("incoming/2026/Machine Data.CSV", "0x8DC1", MODIFIED), "rule": "daily"},
    {"Owner": "team-a"})


def rendered(text: str, context: TemplateContext = BLOB_CONTEXT) -> str:
    return render(parse_template(text), context)


@pytest.mark.parametrize(("text", "expected"), [
    ("{blob.name}", "Machine Data.CSV"),
    ("{blob.path}", "incoming/2026/Machine Data.CSV"),
    ("{blob.folder}", "incoming/2026/"),
    ("{blob.stem}", "Machine Data"),
    ("{blob.etag}", "0x8DC1"),
    ("{blob.last_modified}", "2026-12-07T23:30:05Z"),
    ("{blob.last_modified:%Y-%m-%d}", "2026-12-07"),
    ("{blob.last_modified:%H:%M:%S %j %y %%}", "23:30:05 341 26 %"),
    ("{blob.metadata.owner}", "team-a"),
    ("{blob.metadata.OWNER|upper}", "TEAM-A"),
    ("{rule}", "daily"),
    ("{blob.name|lower}", "machine data.csv"),
    ("{blob.stem|lower|upper}", "MACHINE DATA"),
    ("scored/{blob.stem}/{{literal}}", "scored/Machine Data/{literal}"),
    ("}}{{", "}{"),
    ("no placeholder", "no placeholder"),
])
def test_each_placeholder_renders_its_value(text: str, expected: str) -> None:
    assert rendered(text) == expected


@pytest.fixture
def machine_in_tokyo(monkeypatch):
    """The process's local zone UTC+9 (a POSIX TZ string: no zone database needed), set back afterwards."""
    monkeypatch.setenv("TZ", "JST-9")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_are_written_in_utc_whatever_zone_they_come_in_or_the_machine_is_in(machine_in_tokyo) -> None:
    at = datetime(2026, 12, 8, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    context = TemplateContext({"trigger.time": at})
    assert rendered("{trigger.time}", context) == "2026-12-07T23:00:00Z"
    assert rendered("{trigger.time:%Y-%m-%d}", context) == "2026-12-07"


def test_batch_values_render() -> None:
    context = TemplateContext({"batch.folder": "drop/", "batch.count": 3})
    assert rendered("{batch.folder}:{batch.count}", context) == "drop/:3"


def test_blob_values_at_the_container_root_and_without_an_extension() -> None:
    assert blob_values("README", "e", None) == {
        "blob.name": "README", "blob.path": "README", "blob.folder": "", "blob.stem": "README", "blob.etag": "e"}
    assert blob_values("a/.hidden", "e", None)["blob.stem"] == ".hidden"
    assert blob_values("a/b.tar.gz", "e", None)["blob.stem"] == "b.tar"


@pytest.mark.parametrize(("text", "message"), [
    ("{blob.size}", "unknown placeholder {blob.size}: known are {blob.name}, {blob.path}, {blob.folder}, "
                    "{blob.stem}, {blob.etag}, {blob.last_modified}, {trigger.time}, {rule}, {batch.folder}, "
                    "{batch.count}, {blob.metadata.<key>}"),
    ("{blob.name.__class__}", "unknown placeholder {blob.name.__class__}"),
    ("{0}", "unknown placeholder {0}"),
    ("{}", "unknown placeholder {}"),
    ("{blob.metadata.}", "unknown placeholder {blob.metadata.}"),
    ("{blob.metadata.a-b}", "unknown placeholder {blob.metadata.a-b}"),
    ("{blob.name:>10}", "{blob.name:>10}: only {blob.last_modified} and {trigger.time} take a format"),
    ("{trigger.time:%A}", "{trigger.time:%A}: the format may hold %Y %m %d %H %M %S %j %y %% and letters, digits, "
                          "' ', '_', '.', '/', ':', '-'"),
    ("{trigger.time:}", "{trigger.time:}: the format may hold"),
    ("{trigger.time:{x}}", "a lone '{' at character 1"),
    ("{blob.name|title}", "{blob.name|title}: unknown filter 'title'; known are lower, upper"),
    ("{blob.name|}", "{blob.name|}: unknown filter ''"),
    ("a { b", "a lone '{' at character 3: write '{{' for a literal brace, or a placeholder such as {blob.name}"),
    ("a } b", "a lone '}' at character 3: write '}}' for a literal brace"),
])
def test_what_is_not_in_the_grammar_is_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as refused:
        parse_template(text)
    assert str(refused.value).startswith(message)


def test_a_parsed_template_keeps_its_source_and_names_its_placeholders() -> None:
    template = parse_template("x/{blob.stem|lower}/{trigger.time:%Y}/{blob.metadata.k}")
    assert template.source == "x/{blob.stem|lower}/{trigger.time:%Y}/{blob.metadata.k}"
    assert template.placeholders == (Placeholder("blob.stem", None, ("lower",)), Placeholder("trigger.time", "%Y"),
                                     Placeholder("blob.metadata.k"))
    assert [str(p) for p in template.placeholders] == ["{blob.stem|lower}", "{trigger.time:%Y}", "{blob.metadata.k}"]
    assert str(Placeholder("blob.name", None, ("lower", "upper"))) == "{blob.name|lower|upper}"
    assert template.parts[0] == "x/"


def test_what_each_placeholder_needs_from_its_trigger() -> None:
    template = parse_template("{blob.name}{blob.metadata.k}{trigger.time}{rule}{batch.folder}{batch.count}")
    assert [p.needs for p in template.placeholders] == [BLOB, BLOB, OCCURRENCE, NAME, BATCH, BATCH_COUNT]
    assert missing(template, frozenset({NAME, BLOB})) == template.placeholders[2:3] + template.placeholders[4:]
    assert missing(template, frozenset({NAME, BLOB, OCCURRENCE, BATCH, BATCH_COUNT})) == ()


def test_a_value_the_run_lacks_is_named_when_rendering() -> None:
    with pytest.raises(TemplateError, match=r"^\{blob.metadata.team\}: the blob has no metadata 'team'$"):
        rendered("{blob.metadata.team}")
    with pytest.raises(TemplateError, match=r"^\{trigger.time:%Y\}: this run has no trigger.time$"):
        rendered("{trigger.time:%Y}")


def test_rendering_runs_nothing_a_value_says() -> None:
    """A value that looks like a placeholder or a format is data, written as it is: nothing is read twice."""
    context = TemplateContext({"blob.name": "{rule.__class__}", "rule": "r"}, {"k": "%Y{0}"})
    assert rendered("{blob.name}/{blob.metadata.k}", context) == "{rule.__class__}/%Y{0}"


def test_a_text_is_a_template_when_it_has_a_brace() -> None:
    assert [is_template(text) for text in ("{x}", "}", "{", "plain", "")] == [True, True, True, False, False]


def test_a_template_without_placeholders_renders_without_a_context() -> None:
    assert render(Template(("a/", "b"), "a/b"), TemplateContext()) == "a/b"
