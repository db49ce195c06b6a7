"""The app as Microsoft's Python 3.13 library worker indexes, loads and invokes it through its own handlers.

`app.get_functions()` (tests/app/test_indexing.py) is what the worker calls last; before that it imports the script,
looks for exactly one top-level FunctionApp, asks the SDK-type extension for the raw bindings and builds the
metadata the host registers. Each test starts the worker in its own process, as the host does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.harness import PROJECT_ROOT, indexed_functions, ledger_record, upload
from tests.support.samples import SAMPLE_CSV
from worker_check.host import BLOB_FUNCTION

APP_FILES = ("function_app.py", "host.json", "shared", "triggers")


def run_worker(app_dir: Path, *args: str) -> dict[str, Any]:
    """Start the library worker on app_dir in a new process with this test's app settings; its JSON report."""
    result = subprocess.run([sys.executable, "-m", "worker_check.host", str(app_dir), *args], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, env=dict(os.environ), timeout=90)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def copy_app(target: Path) -> Path:
    """The deployable app (what the host sees in wwwroot) copied to target."""
    for name in APP_FILES:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    return target


def test_the_library_worker_indexes_and_loads_every_function_with_the_bindings_the_library_declares(app_env):
    report = run_worker(PROJECT_ROOT)

    assert report["init"] == {"status": "Success"}
    assert report["use_default_metadata_indexing"] is False
    assert sorted(report["functions"]) == sorted(indexed_functions())
    assert report["loads"] == {name: {"status": "Success"} for name in indexed_functions()}
    for name, function in indexed_functions().items():
        declared = json.loads(function.get_function_json())
        indexed = report["functions"][name]
        assert (indexed["script_file"], indexed["entry_point"], indexed["language"]) == (
            declared["scriptFile"], name, "python")
        assert indexed["properties"] == {"worker_indexed": "True"}
        expected = [{**binding, "properties": {"SupportsDeferredBinding": True}} if name == BLOB_FUNCTION
                    else binding for binding in declared["bindings"]]
        assert indexed["raw_bindings"] == expected, name


def test_the_blob_trigger_is_indexed_as_an_sdk_type_binding_the_host_feeds_model_binding_data(app_env):
    blob = run_worker(PROJECT_ROOT)["functions"][BLOB_FUNCTION]

    assert blob["raw_bindings"] == [{"direction": "IN", "type": "blobTrigger", "name": "client",
                                     "path": "%WATCH_CONTAINER%/{name}", "connection": "WATCH_STORAGE",
                                     "source": "EventGrid", "properties": {"SupportsDeferredBinding": True}}]
    assert blob["bindings"] == {"client": {"type": "blobTrigger", "direction": "in", "data_type": "undefined",
                                           "properties": {}}}


def test_a_blob_invocation_with_model_binding_data_starts_one_run_at_the_stand_in(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)

    report = run_worker(PROJECT_ROOT, "--invoke-blob", container, "machines.csv")

    assert report["invocation"] == {"status": "Success", "has_return_value": False}
    [run] = aml.accepted
    assert run.body["DataPathAssignments"] == {"input_datapath": {"DataStoreName": "workspaceblobstore",
                                                                  "RelativePath": "machines.csv"}}
    assert run.body["tags"]["trigger_blob"] == f"{container}/machines.csv"
    record = ledger_record("default", container, "machines.csv", etag)
    assert (record["state"], record["run_id"]) == ("submitted", run.run_id)


def test_a_run_event_invocation_lands_the_runs_status_on_its_record(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)
    run_worker(PROJECT_ROOT, "--invoke-blob", container, "machines.csv")
    [run] = aml.accepted
    aml.set_status(run.run_id, "Completed")

    report = run_worker(PROJECT_ROOT, "--invoke-event", json.dumps(aml.run_event(run.run_id, schema="cloudevents")))

    assert report["invocation"] == {"status": "Success", "has_return_value": False}
    assert ledger_record("default", container, "machines.csv", etag)["run"]["status"] == "completed"


def test_an_invocation_naming_an_unknown_connection_fails_clearly_and_starts_nothing(app_env, aml):
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "machines.csv", SAMPLE_CSV)

    report = run_worker(PROJECT_ROOT, "--invoke-blob", container, "machines.csv", "NO_SUCH_STORAGE")

    assert report["invocation"]["status"] == "Failure"
    assert "Storage account connection name NO_SUCH_STORAGE does not exist" in report["invocation"]["exception"]
    assert app_env["WATCH_STORAGE"] not in report["invocation"]["exception"]
    assert aml.received == [] and aml.accepted == []
    assert ledger_record("default", container, "machines.csv", etag) is None


def test_a_second_function_app_object_passes_get_functions_but_the_worker_refuses_to_index(app_env, tmp_path):
    app_dir = copy_app(tmp_path)
    with (app_dir / "function_app.py").open("a", encoding="utf-8") as script:
        script.write("\nsecond_app = func.FunctionApp()\n")
    library_view = subprocess.run(
        [sys.executable, "-c", "import function_app; print(len(function_app.app.get_functions()))"],
        cwd=app_dir, capture_output=True, text=True, env=dict(os.environ), timeout=60)
    assert library_view.returncode == 0, library_view.stderr
    assert int(library_view.stdout) == len(indexed_functions())

    report = run_worker(app_dir)

    assert report["init"]["status"] == "Failure"
    assert "More than one FunctionApp or other top level function app instances are defined" in (
        report["init"]["exception"])
    assert report["functions"] == {} and report["loads"] == {}
