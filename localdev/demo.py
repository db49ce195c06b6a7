"""The app's main job, locally, on embedded defaults: a CSV lands -> one pipeline run, recorded; a repeat costs nothing.

Starts Azurite, the Azure ML stand-in and a managed-identity endpoint on free loopback ports, uploads a generated
machine-performance CSV to the watched prefix, delivers the blob event to the function as the host does, shows the
run and its ledger record, delivers the same event again to show the duplicate being ignored, and cleans up.

Run it with ``./dev demo``.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
from contextlib import ExitStack

from azure.storage.blob import BlobServiceClient

from localdev.aml_standin import AmlStandIn
from localdev.azurite import Azurite
from localdev.host import deliver_blob
from localdev.identity_endpoint import IdentityEndpoint

CONTAINER = "training-data"
BLOB_NAME = "incoming/machineData.csv"
COLUMNS = ["vendor", "model", "MYCT", "MMIN", "MMAX", "CACH", "CHMIN", "CHMAX", "PRP", "ERP"]


def sample_csv(rows: int = 209, seed: int = 7) -> bytes:
    """A machine-performance-like CSV (the columns of the AutoML sample's machineData.csv), made here."""
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


def demo_settings(azurite: Azurite, aml: AmlStandIn, identity: IdentityEndpoint) -> dict[str, str]:
    """The app settings a deployment would have, pointed at the local stand-ins."""
    return {
        "AzureWebJobsStorage": azurite.connection_string,
        "WATCH_STORAGE": azurite.connection_string,
        "WATCH_CONTAINER": CONTAINER,
        "WATCH_PREFIX": "incoming/",
        "AML_PIPELINE_URL": aml.published_pipeline_url(),
        "AML_EXPERIMENT": "pipeline-cycle-test",
        "AML_PARAMETERS": json.dumps({"model_name": "automlmodel", "primary_metric": "r2_score",
                                      "aciservice_name": "aciservice"}),
        "AML_DATA_PATH_PARAMETER": "input_datapath",
        "AML_DATASTORE": "workspaceblobstore",
        "CSV_REQUIRED_COLUMNS": "MYCT,MMIN,MMAX,CACH,CHMIN,CHMAX,PRP",
        "AML_ALLOW_LOCAL_TARGETS": "true",
        **identity.environment(),
    }


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def main() -> int:
    # The app's decision lines and the SDKs' warnings; not the Functions library's note about HTTP auth levels.
    logging.basicConfig(level=logging.ERROR, format="   log %(levelname)s %(message)s", stream=sys.stdout)
    logging.getLogger("azure").setLevel(logging.WARNING)
    logging.getLogger("aml_trigger").setLevel(logging.INFO)
    with ExitStack() as stack:
        _step("starting Azurite, the Azure ML stand-in and a managed-identity endpoint (loopback, free ports)")
        azurite = stack.enter_context(Azurite())
        aml = stack.enter_context(AmlStandIn(announce=True))
        identity = stack.enter_context(IdentityEndpoint())
        print(f"   Azurite blob: {azurite.endpoints['blob']}\n   Azure ML:     {aml.url}\n   identity:     {identity.url}")
        os.environ.update(demo_settings(azurite, aml, identity))

        storage = BlobServiceClient.from_connection_string(azurite.connection_string)
        storage.create_container(CONTAINER)
        data = sample_csv()
        rows = data.count(b"\n") - 1
        _step(f"uploading {CONTAINER}/{BLOB_NAME} ({len(data):,} bytes, {rows} rows)")
        etag = storage.get_blob_client(CONTAINER, BLOB_NAME).upload_blob(data)["etag"].strip('"')
        print(f"   ETag {etag}")

        _step("the blob event reaches the function (first delivery)")
        deliver_blob(CONTAINER, BLOB_NAME)

        _step("the same event again (Event Grid and blob receipts deliver at least once)")
        deliver_blob(CONTAINER, BLOB_NAME)

        _step("what was recorded")
        ledger = storage.get_container_client("aml-trigger-ledger")
        for item in ledger.list_blobs(name_starts_with="runs/"):
            record = json.loads(ledger.download_blob(item.name).readall())
            print(f"   {item.name}\n     state={record['state']} run_id={record.get('run_id')}"
                  f" attempts={record.get('attempts')}\n     studio: {record.get('run_url')}")
        runs = len(aml.accepted)
        print(f"\n   Azure ML stand-in accepted {runs} run(s) for 2 deliveries.")
        _step("stopping the local services")
    print("   done")
    return 0 if runs == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
