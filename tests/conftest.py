"""Fixtures: Azurite (one per session), a ledger container, a fresh Azure ML stand-in and identity endpoint per test,
app settings.
The test kinds: a test is ``integration`` when it uses a server fixture or is marked so, else ``unit``."""

from __future__ import annotations

import socket
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.aml_standin import AmlStandIn
from localdev.azurite import Azurite
from localdev.identity_endpoint import IdentityEndpoint
from shared.clients.process.services import process_services
from shared.core.config.settings import SETTINGS
from tests.support.harness import service_client

_APP_SETTINGS = (
    "TRIGGER_RULES_FILE", "AML_PIPELINE_URL", "AML_PIPELINE_VERSION", "AML_EXPERIMENT", "AML_PARAMETERS",
    "AML_DATA_PATH_PARAMETER", "AML_DATASTORE", "AML_TOKEN_SCOPE", "AML_ALLOW_LOCAL_TARGETS", "WATCH_PREFIX",
    "WATCH_SUFFIX", "WATCH_SUBFOLDERS", "CSV_REQUIRED_COLUMNS", "BLOB_TRIGGER_SOURCE", "LEDGER_STORAGE",
    "MANAGED_IDENTITY_CLIENT_ID", "WEBSITE_INSTANCE_ID", "MSI_ENDPOINT", "AZURE_CLIENT_ID", "WEBSITE_TIME_ZONE",
    "RUN_LISTING_DELAY_SECONDS",
)
_SERVER_FIXTURES = frozenset({"azurite", "aml", "identity", "app_env", "default_env", "closed_port"})


@pytest.hookimpl(tryfirst=True)  # before -m selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by what it needs, so a new test is sorted without anyone remembering to mark it: a server
    fixture (directly or through another fixture) makes it ``integration``. A test that starts a server or a
    process in its body is marked ``integration`` by hand; the guard below fails it if it is not."""
    for item in items:
        if item.get_closest_marker("integration") or item.get_closest_marker("unit"):
            continue
        needs_server = not _SERVER_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
        item.add_marker(pytest.mark.integration if needs_server else pytest.mark.unit)


@pytest.fixture(autouse=True)
def _unit_tests_stay_in_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``unit`` test that opens a socket or starts a process fails at once, naming the marker it needs, so
    ``-m unit`` stays fast and needs nothing installed. pytest.fail raises past ``except Exception``."""
    if request.node.get_closest_marker("unit") is None:
        return

    def refuse(*_args: object, **_kwargs: object) -> None:
        pytest.fail("a unit test opened a socket or started a process: mark it @pytest.mark.integration")

    for owner, name in ((socket.socket, "bind"), (socket.socket, "connect"), (socket.socket, "connect_ex"),
                        (subprocess.Popen, "__init__")):
        monkeypatch.setattr(owner, name, refuse)


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on: held (bound, never listening) for the whole test, so a connection to it
    is refused and no other process can take it meanwhile (a port released after it was picked can be)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture(scope="session")
def azurite():
    """Azurite for the whole run; a missing install fails here with the command that fixes it."""
    with Azurite() as server:
        yield server


@pytest.fixture
def container(azurite):
    """A fresh ledger container on Azurite, for tests of the ledger itself; deleted afterwards."""
    client = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(
        f"ledger-{uuid.uuid4().hex[:10]}")
    yield client
    client.delete_container()


@pytest.fixture
def aml():
    with AmlStandIn() as server:
        yield server


@pytest.fixture
def identity():
    with IdentityEndpoint() as server:
        yield server


FAST_TIMINGS = {
    "RETRY_BASE_DELAY_SECONDS": "0.01",
    "RETRY_MAX_DELAY_SECONDS": "0.05",
    "SUBMIT_DEADLINE_SECONDS": "20",
    "SUBMIT_ATTEMPT_TIMEOUT_SECONDS": "5",
    "CLAIM_EXPIRY_SECONDS": "60",
    "RUN_LISTING_DELAY_SECONDS": "1",
}
"""Most tests' shortened retries and deadlines; ``default_env`` runs without them (tests/runs/test_defaults.py)."""


@pytest.fixture
def app_env(monkeypatch, azurite, aml, identity) -> dict[str, str]:
    """App settings for one test: its own watched and ledger containers, the stand-ins, fast retries."""
    yield from _app_settings(monkeypatch, azurite, aml, identity, FAST_TIMINGS)


@pytest.fixture
def default_env(monkeypatch, azurite, aml, identity) -> dict[str, str]:
    """App settings for one test on the declared defaults: only its containers and the stand-ins' endpoints."""
    yield from _app_settings(monkeypatch, azurite, aml, identity, {})


def _app_settings(monkeypatch, azurite, aml, identity, timings: dict[str, str]) -> Iterator[dict[str, str]]:
    """Set the app settings pointing at the stand-ins (and ``timings``), every other declared setting unset."""
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
        **timings,
        **identity.environment(),
    }
    for name in (*_APP_SETTINGS, *(setting.name for setting in SETTINGS)):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    service_client().create_container(env["WATCH_CONTAINER"])
    process_services.cache_clear()
    yield env
    process_services.cache_clear()
