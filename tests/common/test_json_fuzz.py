"""Property-based fuzzing of every reader of outside JSON: the bounded reader, the rules file loader, AML_PARAMETERS,
the Event Grid event parsers, the manifest reader and both importers, fed generated JSON and hostile text (deep
nesting, huge and non-finite numbers, odd unicode, wrong types, secrets planted in values).

Each property: nothing escapes but the app's own error root (TriggerError); no planted secret reaches a message or
a report; what the reader accepts is exactly what json reads (nothing lost). Derandomized with a fixed number of
examples, so CI runs the same inputs every time; ``--hypothesis-show-statistics`` prints counts and times.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.migrate import imports
from shared.core.blobs.batches import manifest_files
from shared.core.common.errors import TriggerError, UnreadableJson
from shared.core.common.json_input import EVENT_FILE, IMPORT_FILE, MANIFEST, RULES_FILE, read_json
from shared.core.config.config_loader import load_config
from shared.core.config.rules_file import load_rules_file
from shared.core.outcomes.run_events import parse_run_event
from shared.operations.http.explain import blob_from_event
from tests.support.harness import PROJECT_ROOT
from tests.support.settings import LOADED_AT, PIPELINE_URL, minimal_env

pytestmark = [pytest.mark.unit, pytest.mark.filterwarnings("ignore:Generating overly large repr")]

SECRET = "SECRETVALUE"
PLANTED = [f"sig={SECRET}", f"https://acct.blob.core.windows.net/c/b?sv=2024&sig={SECRET}",
           f"https://prod.westeurope.logic.azure.com/workflows/x?sp=%2Fread&code={SECRET}",
           f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={SECRET}=="]
"""Secrets by their shape, as they arrive in outside JSON: a SAS, a Logic App callback code, a connection string."""
FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "importers"
V1_WORKSPACE = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/sub-1/resourceGroups/rg-1/providers/"
                "Microsoft.MachineLearningServices/workspaces/ws-1")

odd_text = st.one_of(st.text(max_size=30), st.sampled_from(PLANTED),
                     st.sampled_from(["", " ", "\u0000", "\ud800", "\u202e", "%AML_X%", "${Y}", "é" * 3, "../..",
                                      "1e400", "NaN", "-Infinity", "9" * 5_000, "[" * 100]))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    odd_text)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(odd_text, inner, max_size=4)),
                           max_leaves=12)


@st.composite
def hostile_text(draw: st.DrawFn) -> str:
    """JSON text, valid or not: a generated value, deep nesting, long or non-finite numbers, a key twice, garbage."""
    depth = draw(st.integers(min_value=1, max_value=3_000))
    number = draw(st.sampled_from(["1e400", "-1e999", "NaN", "Infinity", "7" * 5_000, "0." + "5" * 150, "1" * 100]))
    secret = draw(st.sampled_from(PLANTED))
    return draw(st.one_of(
        json_values.map(json.dumps),
        st.just("[" * depth + "]" * depth),
        st.just('{"a": ' + "[" * depth + json.dumps(secret) + "]" * depth + "}"),
        st.just(f'{{"files": [{number}], "parameters": {{"p": {number}}}}}'),
        st.just(f'{{"k": {json.dumps(secret)}, "k": 1}}'),
        st.text(max_size=60),
        json_values.map(lambda value: json.dumps(value)[:-1]),  # cut short
    ))


def secrets_in(text: str) -> bool:
    """Whether a planted secret shows in ``text`` as planted (Hypothesis also draws the bare word from this module's
    literals: a word alone is no secret, and no masking could know it)."""
    return any(f"{name}={SECRET}" in text for name in ("sig", "code", "AccountKey"))


def only_app_errors(call: Callable[[], Any]) -> Any:
    """``call``'s result, or None when it raised the app's own error whose message holds no planted secret."""
    try:
        return call()
    except TriggerError as error:
        assert not secrets_in(str(error)), str(error)
        return None


@FUZZ
@given(hostile_text())
def test_the_reader_accepts_exactly_what_json_reads_within_bounds_and_refuses_the_rest_by_its_own_error(text):
    value = only_app_errors(lambda: read_json(text, source="fuzz", limits=RULES_FILE))
    if value is not None:
        assert value == json.loads(text)


@FUZZ
@given(st.binary(max_size=200) | hostile_text().map(str.encode))
def test_bytes_never_escape_the_reader_but_as_its_own_error(data):
    try:
        read_json(data, source="fuzz")
    except UnreadableJson as error:
        assert str(error).startswith("fuzz") and not secrets_in(str(error))


def rule_like(value: Any) -> dict[str, Any]:
    return {"rules": [{"name": "r", "prefix": "in/", "target": {"url": PIPELINE_URL}, "experiment": "e",
                       "parameters": {"p": value}, "data_path": value}]}


@FUZZ
@given(st.one_of(hostile_text(), json_values.map(lambda value: json.dumps(rule_like(value))),
                 json_values.map(lambda value: json.dumps({"rules": value, "schedules": value}))))
def test_a_hostile_rules_file_is_a_config_error_without_the_secret(text):
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "rules.json").write_text(text, encoding="utf-8", errors="surrogatepass")
        only_app_errors(lambda: load_rules_file({"TRIGGER_RULES_FILE": "rules.json"}, Path(folder), now=LOADED_AT))


@FUZZ
@given(st.one_of(hostile_text(), json_values.map(lambda value: json.dumps({"p": value}))))
def test_hostile_aml_parameters_are_a_config_error_without_the_secret(text):
    only_app_errors(lambda: load_config(minimal_env(AML_PARAMETERS=text), Path("/nonexistent-app-root"), now=LOADED_AT))


def event_like(value: Any) -> dict[str, Any]:
    return {"eventType": "Microsoft.MachineLearningServices.RunStatusChanged", "id": value, "eventTime": value,
            "topic": value, "subject": value, "data": {"runId": value, "runStatus": value, "runTags": value}}


@FUZZ
@given(st.one_of(hostile_text(), json_values.map(lambda value: json.dumps(event_like(value))),
                 json_values.map(lambda value: json.dumps({**event_like(value), "eventType":
                                                           "Microsoft.Storage.BlobCreated"}))))
def test_a_hostile_event_grid_body_is_refused_by_the_apps_own_error(text):
    events = only_app_errors(lambda: read_json(text.encode("utf-8", "surrogatepass"), source="Event Grid body",
                                               limits=EVENT_FILE))
    for event in events if isinstance(events, list) else [events]:
        if isinstance(event, dict):
            only_app_errors(lambda event=event: parse_run_event(event))
        only_app_errors(lambda event=event: blob_from_event(event, account="acct"))


@FUZZ
@given(st.one_of(hostile_text(), json_values.map(lambda value: json.dumps({"files": value}))))
def test_a_hostile_manifest_is_a_reason_never_an_exception(text):
    head = text.encode("utf-8", "surrogatepass")[:MANIFEST.max_bytes]
    found = manifest_files(head, len(head), "in/")
    assert isinstance(found, tuple | str)
    if isinstance(found, str):
        assert not secrets_in(found), found


def with_one_value_replaced(document: Any, path: list[int], value: Any) -> Any:
    """``document`` with the value ``path`` leads to (each step an index into a list or an object's keys)
    replaced by ``value``: a real input made hostile in one place."""
    changed = copy.deepcopy(document)
    parent, key = None, None
    item = changed
    for step in path:
        keys = list(item) if isinstance(item, dict) else list(range(len(item))) if isinstance(item, list) else []
        if not keys:
            break
        parent, key = item, keys[step % len(keys)]
        item = item[key]
    if parent is None:
        return value
    parent[key] = value
    return changed


def importer_report(run: Callable[[], imports.ImportReport]) -> None:
    """The report shows no planted secret, and neither does the rules file it holds (what --output writes)."""
    report = only_app_errors(run)
    if report is not None:
        assert not secrets_in(report.text), report.text
        written = json.dumps(report.document, ensure_ascii=False)
        assert not secrets_in(written), written


LOGIC_APP = json.loads((FIXTURES / "logic_app_code_view.json").read_text(encoding="utf-8"))
V1_SCHEDULES = json.loads((FIXTURES / "v1_schedules.json").read_text(encoding="utf-8"))
steps = st.lists(st.integers(min_value=0, max_value=50), max_size=8)


def test_the_fuzzed_importer_documents_import_as_they_are():
    """The properties below accept the app's own refusal: this pins that the unchanged inputs they start from do
    import, so an importer that refused everything would fail here."""
    logic_app = imports.logic_app(LOGIC_APP, {"WATCH_CONTAINER": "training-data"})
    v1 = imports.v1_schedules(V1_SCHEDULES, V1_WORKSPACE, {"WATCH_CONTAINER": "training-data"})

    assert (logic_app.ok, len(logic_app.document["rules"])) == (True, 1)
    assert (v1.ok, len(v1.document["rules"]), len(v1.document["schedules"])) == (True, 1, 6)


@FUZZ
@given(steps, json_values)
def test_a_logic_app_hostile_in_any_one_place_imports_or_is_refused_without_the_secret(path, value):
    document = read_json(json.dumps(with_one_value_replaced(LOGIC_APP, path, value)), source="fuzz",
                         limits=IMPORT_FILE)
    importer_report(lambda: imports.logic_app(document, {"WATCH_CONTAINER": "training-data"}))


@FUZZ
@given(steps, json_values)
def test_v1_schedules_hostile_in_any_one_place_import_or_are_refused_without_the_secret(path, value):
    entities = read_json(json.dumps(with_one_value_replaced(V1_SCHEDULES, path, value)), source="fuzz",
                         limits=IMPORT_FILE)
    importer_report(lambda: imports.v1_schedules(entities, V1_WORKSPACE, {"WATCH_CONTAINER": "training-data"}))


@FUZZ
@given(hostile_text())
def test_hostile_importer_files_are_refused_by_the_apps_own_error(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input.json"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        only_app_errors(lambda: imports.read_json_file(path, "Logic App workflow"))


# --- what the fuzzing found, kept as examples: a secret in a key, a name or an id the app quotes back ----------

def test_a_secret_in_a_key_of_a_configuration_value_is_masked_where_the_problem_names_it():
    text = json.dumps({"p": {f"sig={SECRET}": None}})
    with pytest.raises(TriggerError) as caught:
        load_config(minimal_env(AML_PARAMETERS=text), Path("/nonexistent-app-root"), now=LOADED_AT)
    assert str(caught.value).endswith("  - AML_PARAMETERS.p = {'***': None}: a string, number or boolean")


def test_a_secret_in_a_name_a_manifest_lists_is_masked_in_the_reason():
    head = json.dumps({"files": [PLANTED[1]]}).encode()
    assert manifest_files(head, len(head), "in/") == (
        "the manifest lists 'https://acct.blob.core.windows.net/c/b', which has an empty path segment ('//', or a "
        "trailing '/')")


def test_a_secret_in_a_run_events_id_is_masked_in_the_refusal():
    with pytest.raises(TriggerError) as caught:
        parse_run_event({**event_like(f"sig={SECRET}"), "data": {}})
    assert str(caught.value) == "Microsoft.MachineLearningServices.RunStatusChanged event '***' names no runId"


def test_a_secret_in_a_v1_schedules_name_is_masked_in_the_printed_report():
    entities = copy.deepcopy(V1_SCHEDULES)
    entities[0]["Name"] = f"sig={SECRET}"
    report = imports.v1_schedules(entities, V1_WORKSPACE, {"WATCH_CONTAINER": "training-data"})
    assert report.text.startswith("v1 schedule '***' (") and not secrets_in(report.text)
