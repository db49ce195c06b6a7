"""The app's main job, locally, on embedded defaults: a CSV lands -> one pipeline run, recorded; a repeat costs nothing.

``./dev demo``: starts Azurite, the Azure ML stand-in (v1 and v2 contracts; prints each run it accepts) and a
managed-identity endpoint on free loopback ports, drops the bundled sample CSV into the watched prefix, delivers
the blob event to the function as the host does, shows the run and its ledger record, delivers the same event
again to show the duplicate ignored, lets the run go on in the stand-in (running, then completed) with its Event
Grid events delivered to the run-event function, shows the record reaching ``completed``, and stops everything.

``./dev demo run``: the same on the fixed ports ``local.settings.sample.json`` names (Azurite 10000-10002, Azure ML
8765, identity 8766), then stays up for trying things by hand (the CLI with ``--settings``, or ``func start``).
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import sys
import threading
from contextlib import ExitStack

from azure.storage.blob import BlobServiceClient

from localdev.aml_standin import AmlStandIn
from localdev.azurite import PROJECT_ROOT, Azurite
from localdev.host import deliver_blob, deliver_event
from localdev.identity_endpoint import TOKEN_PATH, IdentityEndpoint

SAMPLE = PROJECT_ROOT / "samples" / "machine_data.csv"
SAMPLE_SETTINGS = PROJECT_ROOT / "local.settings.sample.json"
CONTAINER = "training-data"
BLOB_NAME = "incoming/machineData.csv"
COLUMNS = ["vendor", "model", "MYCT", "MMIN", "MMAX", "CACH", "CHMIN", "CHMAX", "PRP", "ERP"]
AZURITE_PORTS = {"blob": 10000, "queue": 10001, "table": 10002}
AML_PORT, IDENTITY_PORT = 8765, 8766
IDENTITY_HEADER = "local-development-only"
"""The fixed-port identity endpoint's shared header; it guards nothing of value (tokens are unsigned and local)."""


def sample_csv(rows: int = 209, seed: int = 7) -> bytes:
    """The bundled sample (samples/machine_data.csv): machine-performance-like columns, made here, reproducibly."""
    rng = random.Random(seed)
    vendors = ["amdahl", "burroughs", "cdc", "dec", "hp", "ibm", "nas", "sperry"]
    lines = [",".join(COLUMNS)]
    for index in range(rows):
        myct = rng.choice([17, 23, 26, 29, 50, 75, 125, 200, 480])
        mmin, mmax = rng.choice([512, 1000, 2000, 4000, 8000]), rng.choice([4000, 8000, 16000, 32000, 64000])
        cach, chmin, chmax = rng.choice([0, 8, 16, 32, 64, 128]), rng.randint(0, 16), rng.randint(0, 128)
        prp = max(6, int(0.05 * mmax / 10 + 0.6 * cach + 0.5 * chmax - 0.1 * myct + rng.gauss(0, 15)))
        erp = max(15, int(prp * rng.uniform(0.85, 1.15)))
        lines.append(f"{rng.choice(vendors)},m-{index:03d},{myct},{mmin},{mmax},{cach},{chmin},{chmax},{prp},{erp}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def free_port_settings(azurite: Azurite, aml: AmlStandIn, identity: IdentityEndpoint) -> dict[str, str]:
    """The sample settings, pointed at stand-ins on free ports."""
    return {
        **json.loads(SAMPLE_SETTINGS.read_text(encoding="utf-8"))["Values"],
        "AzureWebJobsStorage": azurite.connection_string,
        "WATCH_STORAGE": azurite.connection_string,
        "AML_PIPELINE_URL": aml.published_pipeline_url(),
        "CSV_REQUIRED_COLUMNS": "MYCT,MMIN,MMAX,CACH,CHMIN,CHMAX,PRP",
        **identity.environment(),
    }


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def _show_the_main_job(storage: BlobServiceClient, aml: AmlStandIn, ledger_container: str) -> int:
    storage.get_container_client(CONTAINER).create_container()
    data = SAMPLE.read_bytes()
    rows = data.count(b"\n") - 1
    _step(f"dropping {SAMPLE.relative_to(PROJECT_ROOT)} into {CONTAINER}/{BLOB_NAME} "
          f"({len(data):,} bytes, {rows} rows)")
    etag = storage.get_blob_client(CONTAINER, BLOB_NAME).upload_blob(data, overwrite=True)["etag"].strip('"')
    print(f"   ETag {etag}")

    _step("the blob event reaches the function (first delivery)")
    deliver_blob(CONTAINER, BLOB_NAME)
    _step("the same event again (Event Grid and blob receipts deliver at least once)")
    deliver_blob(CONTAINER, BLOB_NAME)

    _step("what was recorded")
    ledger = storage.get_container_client(ledger_container)
    records = [item.name for item in ledger.list_blobs(name_starts_with="rules/")]
    for name in records:
        record = json.loads(ledger.download_blob(name).readall())
        print(f"   {name}\n     state={record['state']} run_id={record.get('run_id')}"
              f" attempts={record.get('attempts')}\n     studio: {record.get('run_url')}")
    runs = len(aml.accepted)
    print(f"\n   Azure ML stand-in accepted {runs} run(s) for 2 deliveries.")

    for run in aml.accepted:
        for status, event_type in (("Running", "RunStatusChanged"), ("Completed", "RunStatusChanged"),
                                   ("Completed", "RunCompleted")):
            _step(f"Azure ML's {event_type} event ({status}) reaches the run-event function")
            aml.set_status(run.run_id, status)
            deliver_event(aml.run_event(run.run_id, event_type=event_type))
    _step("what the record knows of its run now")
    for name in records:
        outcome = json.loads(ledger.download_blob(name).readall()).get("run") or {}
        print(f"   {name}\n     run status={outcome.get('status')} started={outcome.get('started_at')} "
              f"ended={outcome.get('ended_at')} duration={outcome.get('duration_seconds')} s")
        runs = runs if outcome.get("status") == "completed" else 0
    return runs


def main(argv: list[str] | None = None) -> int:
    keep_running = (argv if argv is not None else sys.argv[1:]) == ["run"]
    # The app's decision lines and the SDKs' warnings; not the Functions library's note about HTTP auth levels.
    logging.basicConfig(level=logging.ERROR, format="   log %(levelname)s %(message)s", stream=sys.stdout)
    logging.getLogger("azure").setLevel(logging.WARNING)
    logging.getLogger("aml_trigger").setLevel(logging.INFO)
    with ExitStack() as stack:
        where = "the ports local.settings.sample.json names" if keep_running else "free ports"
        _step(f"starting Azurite, the Azure ML stand-in and a managed-identity endpoint (loopback, {where})")
        azurite = stack.enter_context(Azurite(AZURITE_PORTS if keep_running else None))
        aml = stack.enter_context(AmlStandIn(announce=True, port=AML_PORT if keep_running else 0))
        identity = stack.enter_context(IdentityEndpoint(port=IDENTITY_PORT if keep_running else 0,
                                                        secret=IDENTITY_HEADER if keep_running else None))
        print(f"   Azurite blob: {azurite.endpoints['blob']}\n   Azure ML:     {aml.url}\n   identity:     "
              f"{identity.url}{TOKEN_PATH}")
        settings = (json.loads(SAMPLE_SETTINGS.read_text(encoding="utf-8"))["Values"] if keep_running
                    else free_port_settings(azurite, aml, identity))
        os.environ.update(settings)
        storage = BlobServiceClient.from_connection_string(azurite.connection_string)
        runs = _show_the_main_job(storage, aml, settings["LEDGER_CONTAINER"])
        if keep_running:
            _wait_for_ctrl_c()
        _step("stopping the local services")
    print("   done")
    return 0 if runs == 1 else 1


def _wait_for_ctrl_c() -> None:
    print(f"\n== still running; try, in another terminal:\n"
          f"   ./dev cli --settings {SAMPLE_SETTINGS.name} explain --blob {BLOB_NAME}\n"
          f"   ./dev cli --settings {SAMPLE_SETTINGS.name} submit default --blob {BLOB_NAME}\n"
          f"   ./dev cli --settings {SAMPLE_SETTINGS.name} runs\n"
          f"   cp {SAMPLE_SETTINGS.name} local.settings.json && func start   (with Core Tools)\n"
          f"   Ctrl-C stops everything.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()


if __name__ == "__main__":
    if sys.argv[1:] == ["write-sample"]:  # regenerate samples/machine_data.csv
        SAMPLE.parent.mkdir(exist_ok=True)
        SAMPLE.write_bytes(sample_csv())
        sys.exit(0)
    sys.exit(main())
