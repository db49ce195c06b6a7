"""``./dev screenshots``: the status page on the local stack (Azurite, the Azure ML stand-in, a managed-identity
endpoint, the app's HTTP functions behind a function key), with a few example runs, photographed in headless
Chromium into docs/. ``seed`` makes the same examples for the browser tests."""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from azure.storage.blob import BlobServiceClient

from localdev.aml_standin import AmlStandIn, Respond
from localdev.azurite import PROJECT_ROOT, Azurite
from localdev.browser import drive
from localdev.demo import free_port_settings, sample_csv
from localdev.functions_http import FunctionsHttp
from localdev.host import deliver_blob, deliver_event
from localdev.identity_endpoint import IdentityEndpoint

XSS_BLOB = "<img src=x onerror=alert(1)>.csv"
"""A blob name an uploader might choose: the page must show it as text."""
SHOTS = {"status-page.png": [], "status-explain.png": [{"fill": "#f-blob", "value": "machines.csv"},
                                                        {"click": "button[value=explain]"}]}


def rules_document(rule: str = "machines") -> dict:
    """One blob rule and one daily schedule, both on the stand-in (``%AML_PIPELINE_URL%``)."""
    target = {"url": "%AML_PIPELINE_URL%"}
    return {"rules": [{"name": rule, "suffix": ".csv", "target": target, "experiment": "retrain",
                       "data_path": {"parameter": "input_datapath", "datastore": "workspaceblobstore"}}],
            "schedules": [{"name": "nightly", "cron": "0 30 2 * * *", "target": target, "experiment": "nightly"}]}


def seed(storage: BlobServiceClient, container: str, aml: AmlStandIn, data: bytes) -> None:
    """A submitted run, a failed one (pipeline not published yet), then, a second later (Last-Modified has whole
    seconds), the XSS-named blob's run; and one sweep report."""
    from shared.clients.process.services import process_services
    from shared.flows.sweep.sweep import sweep

    def delivered(name: str) -> None:
        storage.get_blob_client(container, name).upload_blob(data, overwrite=True)
        deliver_blob(container, name)

    delivered("machines.csv")
    aml.inject(Respond(404, code="PipelineNotFound", message="pipeline <b>not</b> published yet"))
    delivered("broken.csv")
    time.sleep(1.1)
    delivered(XSS_BLOB)
    sweep(process_services(), max_blobs=10)


def finished_runs(storage: BlobServiceClient, container: str, aml: AmlStandIn, data: bytes) -> None:
    """For the pictures only: a few runs that ended in Azure ML (their durations charted), one of them a file with
    a long name (cut in the table, whole in its title)."""
    start = datetime.now(UTC) - timedelta(minutes=1)  # the stand-in's clock: events after the submissions
    names = [f"daily-{day:02}.csv" for day in range(1, 6)]
    names.append("measurements_exported_by_the_partner_system_for_the_north_plant_line_4_20261207.csv")
    for index, name in enumerate(names):
        storage.get_blob_client(container, name).upload_blob(data, overwrite=True)
        deliver_blob(container, name)
        run = aml.accepted[-1]
        for status, seconds in (("Running", 0), ("Completed" if index != 3 else "Failed", 30 + 15 * index)):
            aml.set_status(run.run_id, status)
            event = aml.run_event(run.run_id)
            event["eventTime"] = (start + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
            deliver_event(event)


def main() -> int:
    logging.getLogger("aml_trigger").setLevel(logging.CRITICAL)
    docs = PROJECT_ROOT / "docs"
    docs.mkdir(exist_ok=True)
    with ExitStack() as stack:
        azurite, aml, identity = (stack.enter_context(Azurite()), stack.enter_context(AmlStandIn()),
                                  stack.enter_context(IdentityEndpoint()))
        rules = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "rules.json"
        rules.write_text(json.dumps(rules_document()), encoding="utf-8")
        settings = free_port_settings(azurite, aml, identity)
        os.environ.update({**settings, "TRIGGER_RULES_FILE": str(rules), "STATUS_PAGE_SECRET": secrets.token_hex(32)})
        for name in ("AML_EXPERIMENT", "AML_PARAMETERS", "AML_DATA_PATH_PARAMETER", "AML_DATASTORE", "WATCH_PREFIX",
                     "WATCH_SUFFIX", "WATCH_SUBFOLDERS", "CSV_REQUIRED_COLUMNS"):
            os.environ.pop(name, None)  # the rules file replaces the one-rule settings
        storage = BlobServiceClient.from_connection_string(azurite.connection_string)
        storage.get_container_client(settings["WATCH_CONTAINER"]).create_container()
        seed(storage, settings["WATCH_CONTAINER"], aml, sample_csv(rows=20))
        finished_runs(storage, settings["WATCH_CONTAINER"], aml, sample_csv(rows=20))
        key = secrets.token_urlsafe(24)
        site = stack.enter_context(FunctionsHttp(key))
        for name, steps in SHOTS.items():
            drive([{"goto": f"{site.url}/api/status?code={key}"}, *steps, {"screenshot": str(docs / name)}],
                  width=1280)
            print(f"wrote docs/{name} ({(docs / name).stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
