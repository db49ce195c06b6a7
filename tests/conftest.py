"""Fixtures: Azurite (one per session), a fresh Azure ML stand-in and identity endpoint per test, app settings."""

from __future__ import annotations

import uuid

import pytest

from localdev.aml_standin import AmlStandIn
from localdev.azurite import Azurite
from localdev.identity_endpoint import IdentityEndpoint
from shared.services import process_services
from tests.harness import service_client

SAMPLE_CSV = b"MYCT,MMIN,MMAX,CACH,CHMIN,CHMAX,PRP\n125,256,6000,256,16,128,198\n29,8000,32000,32,8,32,269\n"
_APP_SETTINGS = (
    "TRIGGER_RULES_FILE", "AML_PIPELINE_URL", "AML_PIPELINE_VERSION", "AML_EXPERIMENT", "AML_PARAMETERS",
    "AML_DATA_PATH_PARAMETER", "AML_DATASTORE", "AML_TOKEN_SCOPE", "AML_ALLOW_LOCAL_TARGETS", "WATCH_PREFIX",
    "WATCH_SUFFIX", "WATCH_SUBFOLDERS", "CSV_REQUIRED_COLUMNS", "BLOB_TRIGGER_SOURCE", "LEDGER_STORAGE",
    "MANAGED_IDENTITY_CLIENT_ID", "WEBSITE_INSTANCE_ID", "MSI_ENDPOINT", "AZURE_CLIENT_ID", "WEBSITE_TIME_ZONE",
    "RUN_LISTING_DELAY_SECONDS",
)


@pytest.fixture(scope="session")
def azurite():
    """Azurite for the whole run; a missing install fails here with the command that fixes it."""
    with Azurite() as server:
        yield server


@pytest.fixture
def aml():
    with AmlStandIn() as server:
        yield server


@pytest.fixture
def identity():
    with IdentityEndpoint() as server:
        yield server


@pytest.fixture
def app_env(monkeypatch, azurite, aml, identity) -> dict[str, str]:
    """App settings for one test: its own watched and ledger containers, the stand-ins, fast retries."""
    suffix = uuid.uuid4().hex[:10]
    env = {
        "WATCH_CONTAINER": f"data-{suffix}",
        "WATCH_STORAGE": azurite.connection_string,
        "AzureWebJobsStorage": azurite.connection_string,
        "LEDGER_CONTAINER": f"ledger-{suffix}",
        "AML_PIPELINE_URL": aml.published_pipeline_url(),
        "AML_EXPERIMENT": "retrain-machines",
        "AML_PARAMETERS": '{"model_name": "automlmodel", "max_trials": 3}',
        "AML_DATA_PATH_PARAMETER": "input_datapath",
        "AML_DATASTORE": "workspaceblobstore",
        "AML_ALLOW_LOCAL_TARGETS": "true",
        "RETRY_BASE_DELAY_SECONDS": "0.01",
        "RETRY_MAX_DELAY_SECONDS": "0.05",
        "SUBMIT_DEADLINE_SECONDS": "20",
        "SUBMIT_ATTEMPT_TIMEOUT_SECONDS": "5",
        "CLAIM_EXPIRY_SECONDS": "60",
        "RUN_LISTING_DELAY_SECONDS": "1",
        **identity.environment(),
    }
    for name in _APP_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    service_client().create_container(env["WATCH_CONTAINER"])
    process_services.cache_clear()
    yield env
    process_services.cache_clear()
