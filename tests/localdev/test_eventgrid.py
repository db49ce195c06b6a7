"""The local Event Grid path: ``./dev eventgrid BLOB`` (localdev/eventgrid.py) and test.http post a real
BlobCreated event to ``func start``'s blob webhook. Core Tools is not here: a real local HTTP server stands in for
it and records each request; the blob lives in Azurite."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from itertools import count

import pytest

from localdev import eventgrid
from localdev.http_server import LocalServer, QuietHandler
from shared.operations.http.explain import blob_from_event
from tests.support.harness import PROJECT_ROOT, indexed_functions, service_client, upload

NOW = datetime(2026, 12, 1, 9, 30, 0, 123000, tzinfo=UTC)


class _Recorder(QuietHandler):
    server_owner: FuncStart

    def do_POST(self) -> None:
        self.server_owner.requests.append((self.path, dict(self.headers), json.loads(self.read_body())))
        self.send_json(self.server_owner.status, b"")


class FuncStart(LocalServer):
    """Stands in for the host's webhook: records (path, headers, body) and answers ``status``."""

    handler_class = _Recorder

    def __init__(self, status: int = 202) -> None:
        super().__init__()
        self.status = status
        self.requests: list[tuple[str, dict[str, str], object]] = []


def ids():
    numbers = count(1)
    return lambda: f"00000000-0000-4000-8000-{next(numbers):012d}"


@pytest.fixture
def settings_file(app_env, tmp_path):
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"Values": {"WATCH_STORAGE": app_env["WATCH_STORAGE"],
                                           "WATCH_CONTAINER": app_env["WATCH_CONTAINER"]}}))
    return str(path)


def test_a_local_blob_becomes_one_blob_created_notification_to_the_blob_functions_webhook(app_env, settings_file):
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "incoming/machineData.csv", b"MYCT,MMIN\n125,256\n")
    properties = service_client().get_blob_client(container, "incoming/machineData.csv").get_blob_properties()
    ticks = int(properties.last_modified.timestamp() * 10_000_000)
    with FuncStart() as host:
        assert eventgrid.main(["incoming/machineData.csv", "--settings", settings_file, "--host", host.url],
                              now=lambda: NOW, new_id=ids()) == 0
    [(path, headers, body)] = host.requests
    assert path == "/runtime/webhooks/blobs?functionName=Host.Functions.start_runs_for_new_blob"
    assert headers["aeg-event-type"] == "Notification" and headers["Content-Type"] == "application/json"
    assert body == [{
        "topic": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/"
                 "Microsoft.Storage/storageAccounts/devstoreaccount1",
        "subject": f"/blobServices/default/containers/{container}/blobs/incoming/machineData.csv",
        "eventType": "Microsoft.Storage.BlobCreated", "eventTime": "2026-12-01T09:30:00.123000Z",
        "id": "00000000-0000-4000-8000-000000000004",
        "data": {"api": "PutBlob", "clientRequestId": "00000000-0000-4000-8000-000000000001",
                 "requestId": "00000000-0000-4000-8000-000000000002", "eTag": etag,
                 "contentType": "application/octet-stream", "contentLength": 18, "blobType": "BlockBlob",
                 "url": f"{service_client().url}{container}/incoming/machineData.csv",
                 "sequencer": f"{ticks:048X}",
                 "storageDiagnostics": {"batchId": "00000000-0000-4000-8000-000000000003"}},
        "dataVersion": "", "metadataVersion": "1"}]


def test_the_cloudevents_form_is_one_event_with_the_same_data(app_env, settings_file):
    container = app_env["WATCH_CONTAINER"]
    etag = upload(container, "incoming/a.csv", b"x\n1\n")
    with FuncStart() as host:
        assert eventgrid.main(["incoming/a.csv", "--settings", settings_file, "--host", host.url,
                               "--schema", "cloudevents"], now=lambda: NOW, new_id=ids()) == 0
    [(_, headers, event)] = host.requests
    assert headers["aeg-event-type"] == "Notification"
    assert {key: value for key, value in event.items() if key != "data"} == {
        "source": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/"
                  "Microsoft.Storage/storageAccounts/devstoreaccount1",
        "subject": f"/blobServices/default/containers/{container}/blobs/incoming/a.csv",
        "type": "Microsoft.Storage.BlobCreated", "time": "2026-12-01T09:30:00.123000Z",
        "id": "00000000-0000-4000-8000-000000000004", "specversion": "1.0"}
    assert event["data"]["eTag"] == etag and event["data"]["contentLength"] == 4


def test_upload_puts_the_file_in_azurite_first_and_the_event_carries_that_versions_etag(app_env, settings_file,
                                                                                        tmp_path):
    source = tmp_path / "new.csv"
    source.write_bytes(b"MYCT,MMIN\n29,8000\n")
    with FuncStart() as host:
        assert eventgrid.main(["incoming/new.csv", "--settings", settings_file, "--host", host.url,
                               "--upload", str(source)]) == 0
    blob = service_client().get_blob_client(app_env["WATCH_CONTAINER"], "incoming/new.csv")
    assert blob.download_blob().readall() == b"MYCT,MMIN\n29,8000\n"
    [(_, _, [event])] = host.requests
    assert event["data"]["eTag"] == blob.get_blob_properties().etag.strip('"')
    assert uuid.UUID(event["id"]) and event["eventTime"].endswith("Z")


def test_a_blob_missing_from_azurite_is_refused_clearly_and_nothing_is_posted_or_uploaded(app_env, settings_file,
                                                                                          capsys):
    with FuncStart() as host:
        assert eventgrid.main(["incoming/absent.csv", "--settings", settings_file, "--host", host.url]) == 1
    assert host.requests == []
    assert "no such blob in the local account; upload it first (--upload FILE). Nothing was posted." in \
        capsys.readouterr().err
    assert not service_client().get_blob_client(app_env["WATCH_CONTAINER"], "incoming/absent.csv").exists()


def test_a_host_that_refuses_the_event_makes_the_command_fail_with_its_answer(app_env, settings_file, capsys):
    upload(app_env["WATCH_CONTAINER"], "incoming/a.csv", b"x\n1\n")
    with FuncStart(status=404) as host:
        assert eventgrid.main(["incoming/a.csv", "--settings", settings_file, "--host", host.url]) == 1
    assert len(host.requests) == 1 and "404 from POST" in capsys.readouterr().err


def test_a_watched_account_that_is_not_local_is_refused_before_anything_is_sent(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"Values": {"WATCH_STORAGE": "BlobEndpoint=https://data.blob.core.windows.net/;"
                                                            "SharedAccessSignature=sv=x",
                                           "WATCH_CONTAINER": "training-data"}}))
    refusal = "WATCH_STORAGE must name a local account (Azurite), not data.blob.core.windows.net"
    with pytest.raises(SystemExit, match=re.escape(refusal)):
        eventgrid.main(["incoming/a.csv", "--settings", str(path)])


def test_the_webhook_names_the_apps_indexed_blob_function():
    [blob_function] = [name for name, function in indexed_functions().items()
                       if "blobTrigger" in function.get_function_json()]
    assert eventgrid.blob_function_name() == blob_function
    assert eventgrid.webhook_url("http://localhost:7071/", blob_function) == \
        f"http://localhost:7071/runtime/webhooks/blobs?functionName=Host.Functions.{blob_function}"


def test_test_http_names_the_indexed_blob_function_and_the_sample_container():
    text = (PROJECT_ROOT / "test.http").read_text(encoding="utf-8")
    variables = dict(re.findall(r"^@(\w+)=(.*)$", text, re.MULTILINE))
    sample = json.loads((PROJECT_ROOT / "local.settings.sample.json").read_text(encoding="utf-8"))["Values"]
    assert variables["functionName"] == eventgrid.blob_function_name()
    assert variables["blobContainer"] == sample["WATCH_CONTAINER"]
    assert variables["blobName"].startswith(sample["WATCH_PREFIX"])
    assert text.count("aeg-event-type: Notification") == 2


def test_each_test_http_body_is_an_event_the_app_reads_back_as_that_blob():
    text = (PROJECT_ROOT / "test.http").read_text(encoding="utf-8")
    variables = dict(re.findall(r"^@(\w+)=(.*)$", text, re.MULTILINE))
    bodies = [re.sub(r"\{\{(\w+)\}\}", lambda match: variables[match.group(1)], request.split("\n\n", 1)[1])
              for request in text.split("\n###")[1:]]
    events = [json.loads(body) for body in bodies]
    assert [type(event).__name__ for event in events] == ["list", "dict"]
    for event in (events[0][0], events[1]):
        assert event["subject"] == "/blobServices/default/containers/training-data/blobs/incoming/machineData.csv"
        assert set(event["data"]) == {"api", "clientRequestId", "requestId", "eTag", "contentType", "contentLength",
                                      "blobType", "url", "sequencer", "storageDiagnostics"}
        container, name, etag = blob_from_event({**event, "data": {**event["data"], "url": None}},
                                              account="devstoreaccount1")
        assert (container, name, etag) == ("training-data", "incoming/machineData.csv", "0x8DE30A1B2C3D4E5")
