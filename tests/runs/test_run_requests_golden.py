"""What each trigger kind sends and records is a persistent contract: the key (it names the record, and a run is
found by it), the namespace, the subject, the tags and the exact submission, v1 and v2. Every kind runs here for
real (Azurite, the Azure ML stand-in) and what it wrote and sent is compared with the golden file.

Values that change from run to run (the watched container, ETags, run ids, owners, the stand-in's port) are
replaced by placeholders; keys that depend on them are checked against their formula, written out here, first.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from shared.clients.common.clock import Clock
from shared.clients.ledger.ledger import Ledger
from shared.clients.process.services import Services, build_services
from shared.flows.blobs.blob_runs import process_blob
from shared.flows.manual.manual_runs import start_run
from shared.flows.schedules.schedule_runs import fire_schedule
from tests.support.batch import DATA_INPUT, WORKSPACE
from tests.support.harness import upload
from tests.support.samples import SAMPLE_CSV

GOLDEN = Path(__file__).parents[1] / "golden" / "run_requests.json"
MOMENT = datetime(2036, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
REPEATABILITY_NAMESPACE = uuid.UUID("6f1a3c52-2c57-4e61-9a1e-6d1f6a3e2b7c")
DATA_PATH = {"parameter": "input_datapath", "datastore": "workspaceblobstore"}
TRANSPORT_HEADERS = {"host", "user-agent", "accept", "accept-encoding", "connection", "content-length",
                     "x-ms-client-request-id", "traceparent"}
"""Headers the HTTP stack adds; everything else a submission carries is pinned."""


def _rules(aml) -> dict[str, Any]:
    v1 = {"target": {"url": aml.published_pipeline_url()}, "parameters": {"model_name": "m1", "max_trials": 3},
          "data_path": DATA_PATH}
    v2 = {"target": {"url": aml.batch_endpoint_url(), "deployment": "blue", "workspace": WORKSPACE},
          "parameters": {"model_name": "m2"}, "data_path": DATA_INPUT}
    daily = "0 0 2 * * *"
    return {
        "rules": [
            {"name": "v1", "prefix": "in/", "experiment": "retrain", "required_columns": ["MYCT"], **v1},
            {"name": "v2", "prefix": "incoming/", "experiment": "batch-retrain", **v2},
        ],
        "schedules": [
            {"name": "plain", "cron": daily, "experiment": "timed", "target": v1["target"], "parameters": {"n": 1}},
            {"name": "fixed", "cron": daily, "experiment": "timed", "data": {"blob": "in/machines.csv"}, **v1},
            {"name": "fresh", "cron": daily, "experiment": "timed", "data": {"newest": {"prefix": "fresh/"}},
             "only_if_new_data": True, **v1},
            {"name": "batch", "cron": daily, "experiment": "timed", "data": {"blob": "incoming/batch.csv"}, **v2},
        ],
    }


def _services(env: dict[str, str]) -> Services:
    """The app's services with the ledger's clock fixed, so record times are part of the contract too."""
    services = build_services(os.environ)
    container = BlobServiceClient.from_connection_string(env["AzureWebJobsStorage"]).get_container_client(
        env["LEDGER_CONTAINER"])
    services.ledger = Ledger(container, services.config.claim_expiry, clock=Clock(now=lambda: MOMENT))
    return services


def _sha(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


class _Capture:
    """Each scenario's decision, the records it wrote and the POSTs it sent, with volatile values replaced."""

    def __init__(self, services: Services, aml, container: str):
        self.services, self.aml, self.container = services, aml, container
        self.replaced: dict[str, str] = {container: "<watch-container>", aml.url: "http://aml-standin"}
        self.records: dict[str, str] = {}
        self.sent = 0

    def name(self, value: str, placeholder: str) -> None:
        self.replaced.setdefault(value, placeholder)

    def number(self, value: str, kind: str) -> None:
        """``value`` becomes ``<kind-N>``, N counting the values of that kind in order of appearance."""
        if value not in self.replaced:
            self.replaced[value] = f"<{kind}-{sum(new.startswith(f'<{kind}-') for new in self.replaced.values()) + 1}>"

    def blob(self, name: str, data: bytes = SAMPLE_CSV) -> str:
        etag = upload(self.container, name, data)
        self.name(etag, f"<etag:{name}>")
        key = _sha("blob", self.container, name, etag)
        self.name(key, f"<blob-key:{name}>")
        self.name(str(uuid.uuid5(REPEATABILITY_NAMESPACE, key)), f"<repeatability-id:{name}>")
        return etag

    def __call__(self, decisions: Any) -> dict[str, Any]:
        decisions = decisions if isinstance(decisions, list) else [decisions]
        posts = self.aml.received[self.sent:]
        self.sent = len(self.aml.received)
        for run in self.aml.accepted:
            self.number(run.run_id, "run")
        records = {}
        for page in self.services.ledger.listing(""):
            for blob in page:
                if self.records.get(blob.name) != blob.etag:
                    self.records[blob.name] = blob.etag
                    records[blob.name] = self.services.ledger.read(blob.name)[0]
        for record in records.values():
            moment = (record.get("subject") or {}).get("last_modified")
            if moment:  # storage's Last-Modified of the version, this run's own (issue 27: when the file arrived)
                self.name(moment, "<last-modified>")
            for owner in [record.get("owner"), *(entry.get("owner") for entry in record.get("history", []))]:
                if owner:
                    self.number(owner, "owner")
        return self._replace({
            "decisions": [decision.fields() for decision in decisions],
            "records": records,
            "posts": [{"path": post.path, "query": post.query, "body": post.body,
                       "headers": {name: value for name, value in sorted(post.headers.items())
                                   if name.lower() not in TRANSPORT_HEADERS}} for post in posts],
        })

    def _replace(self, value: Any) -> Any:
        text = json.dumps(value, sort_keys=True)
        for old, new in sorted(self.replaced.items(), key=lambda item: -len(item[0])):
            text = text.replace(old, new)
        return json.loads(text)


def _every_kind(services: Services, aml, container: str) -> dict[str, Any]:
    capture = _Capture(services, aml, container)
    watched = services.watched
    found: dict[str, Any] = {}

    capture.blob("in/machines.csv")
    found["blob v1"] = capture(process_blob(watched.get_blob_client("in/machines.csv"), services))
    found["blob v1 again: duplicate"] = capture(process_blob(watched.get_blob_client("in/machines.csv"), services))
    capture.blob("in/bad.csv", b"a,b\n1,2\n")
    found["blob v1 rejected"] = capture(process_blob(watched.get_blob_client("in/bad.csv"), services))
    capture.blob("incoming/batch.csv")
    found["blob v2"] = capture(process_blob(watched.get_blob_client("incoming/batch.csv"), services))

    tick = datetime(2026, 11, 2, 2, 0, 0, 300_000, UTC)
    for name in ("plain", "fixed", "batch"):
        found[f"schedule {name}"] = capture(fire_schedule(name, fired_at=tick, past_due=True, services=services))
    capture.blob("fresh/day1.csv")
    found["schedule fresh: new data"] = capture(fire_schedule("fresh", fired_at=tick, past_due=False,
                                                              services=services))
    found["schedule fresh: no new data"] = capture(fire_schedule(
        "fresh", fired_at=tick.replace(day=3), past_due=False, services=services))

    capture.blob("in/manual.csv")
    found["manual for a blob version"] = capture(start_run(services, rule="v1", blob="in/manual.csv"))
    found["manual with request_id"] = capture(start_run(services, rule="v1", blob="in/machines.csv",
                                                        request_id="req-1"))
    found["manual v2 with overrides"] = capture(start_run(services, rule="v2", blob="incoming/batch.csv",
                                                          experiment="other", parameters={"model_name": "m9"},
                                                          request_id="req-2"))
    found["manual rerun without blob"] = capture(start_run(services, rule="v1", rerun=True, request_id="req-3"))
    return found


def test_every_trigger_kind_keys_tags_records_and_submits_exactly_as_the_golden_file_shows(
        app_env, aml, tmp_path, monkeypatch):
    (tmp_path / "rules.json").write_text(json.dumps(_rules(aml)), encoding="utf-8")
    monkeypatch.setenv("TRIGGER_RULES_FILE", str(tmp_path / "rules.json"))

    found = _every_kind(_services(app_env), aml, app_env["WATCH_CONTAINER"])

    assert f"manual/v1/{_sha('manual', 'v1', 'req-1')}.json" in found["manual with request_id"]["records"]
    assert found == json.loads(GOLDEN.read_text("utf-8"))["flows"]


@pytest.mark.unit
def test_the_keys_of_fixed_inputs_are_the_golden_ones():
    """The key formulas themselves, for inputs that never change: a key names a record written long ago."""
    from shared.core.ledger.keys import blob_version_key, schedule_occurrence_key
    from shared.core.runs.payloads import repeatability_id

    occurrence = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    keys = {"blob": blob_version_key("data", "in/machines.csv", '"0x8DC1"'),
            "schedule": schedule_occurrence_key("nightly", occurrence),
            "repeatability": repeatability_id("k")}
    assert keys == json.loads(GOLDEN.read_text("utf-8"))["keys of fixed inputs"]
    assert keys["blob"] == _sha("blob", "data", "in/machines.csv", "0x8DC1")
    assert keys["schedule"] == _sha("schedule", "nightly", "2026-11-02T02:00:00Z")
    assert keys["repeatability"] == str(uuid.uuid5(REPEATABILITY_NAMESPACE, "k"))
