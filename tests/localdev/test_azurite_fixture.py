"""The Azurite fixture: a machine without Azurite gets a failure that says how to install it, never a silent skip;
and its storage modes."""

import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from azure.storage.blob import BlobServiceClient

from bench.mariadb import MariaDb, programs
from localdev import azurite


def test_missing_azurite_fails_with_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setattr(azurite, "AZURITE_SCRIPT", tmp_path / "node_modules" / "azurite" / "azurite.js")

    with pytest.raises(azurite.AzuriteNotInstalled, match=r"run `npm ci` in the project root"):
        azurite.Azurite().start()


@pytest.mark.integration  # starts Azurite
def test_an_azurite_db_setting_in_the_environment_does_not_leak_into_the_in_memory_emulator(monkeypatch):
    """AZURITE_DB would make Azurite refuse --inMemoryPersistence; only ``metadata_database`` may set it."""
    monkeypatch.setenv("AZURITE_DB", "mysql://root@127.0.0.1:1/nowhere")

    with azurite.Azurite() as server:
        container = BlobServiceClient.from_connection_string(server.connection_string).get_container_client("probe")
        container.create_container()
        container.upload_blob("a.csv", b"a,b\n")

        assert [blob.name for blob in container.list_blobs()] == ["a.csv"]


@pytest.mark.integration  # starts MariaDB and Azurite
@pytest.mark.skipif(programs() is None, reason="MariaDB is not installed (only the 100,000-blob bench needs it)")
def test_azurite_keeps_blob_metadata_in_a_private_mariadb_and_leaves_nothing_behind():
    with MariaDb() as database:
        folder = database.socket_path.parent
        with azurite.Azurite(metadata_database=database.database_url("probe")) as server:
            location = Path(server._location.name)
            container = BlobServiceClient.from_connection_string(server.connection_string).get_container_client(
                "probe")
            container.create_container()
            container.upload_blob("sweep/a.csv", b"a,b\n1,2\n")

            assert [blob.name for blob in container.list_blobs(name_starts_with="sweep/")] == ["sweep/a.csv"]
            assert container.download_blob("sweep/a.csv", offset=0, length=3).readall() == b"a,b"
            assert (folder / "data" / "probe" / "Blobs.ibd").is_file(), "Azurite's blob table is in MariaDB"

    assert not location.exists() and not folder.exists()


def test_a_restarted_azurite_is_ready_only_once_all_three_of_its_services_listen_again():
    """A restart (the ledger outage tests) knows its endpoints from the first start already; counting those made
    ``start`` return at the new process's first line, before the other services listened."""
    server = azurite.Azurite(persist_in="ledger")
    services = (("Table", 10002), ("Blob", 10000), ("Queue", 10001))
    server.endpoints = {name.lower(): f"http://127.0.0.1:{port}" for name, port in services}  # the first start's
    ready = threading.Event()

    def restarted_output() -> Iterator[str]:
        for heard, (name, port) in enumerate(services):
            assert not ready.is_set(), f"ready after {heard} of 3 services listened"
            yield f"Azurite {name} service is successfully listening at http://127.0.0.1:{port}\n"

    server._process = SimpleNamespace(stdout=restarted_output())
    server._read_output(ready)

    assert ready.is_set()
