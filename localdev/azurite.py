"""Start and stop Azurite (installed locally by ``npm ci``) on free loopback ports, in memory, telemetry off.

Or, for large benchmarks, with blob metadata in SQL (``metadata_database``): Azurite's in-memory store scans every
blob on each write, so filling it with n blobs costs O(n²); its SQL store (``AZURITE_DB``) keeps writes indexed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from shared.core.storage.storage_endpoints import DEVELOPMENT_ACCOUNT

PROJECT_ROOT = Path(__file__).resolve().parent.parent
AZURITE_SCRIPT = PROJECT_ROOT / "node_modules" / "azurite" / "dist" / "src" / "azurite.js"
ACCOUNT, ACCOUNT_KEY = DEVELOPMENT_ACCOUNT
"""Azurite's well-known development key (public, in Microsoft's docs); not a secret."""
_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at (http://\S+)")


class AzuriteNotInstalled(RuntimeError):
    pass


def stop_process(process: subprocess.Popen | None, timeout: float) -> None:
    """Ask a local server to stop (SIGTERM), and kill it if it has not within ``timeout`` seconds."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Azurite:
    """One Azurite process; ``node`` runs the server directly so the PID we hold is the server."""

    def __init__(self, ports: dict[str, int] | None = None, metadata_database: str | None = None,
                 persist_in: str | None = None) -> None:
        """``ports`` per service (blob, queue, table); free ports when not given. ``metadata_database``: a MySQL
        URL for Azurite's blob metadata (blob contents then go to a temporary folder, removed at stop).
        ``persist_in``: a folder for everything, so the data outlives a stop and a start on the same ports."""
        self.ports = ports or {}
        self.metadata_database = metadata_database
        self.persist_in = persist_in
        self._location: tempfile.TemporaryDirectory[str] | None = None
        self.endpoints: dict[str, str] = {}
        self._process: subprocess.Popen[str] | None = None
        self._output: list[str] = []

    def start(self, timeout: float = 30.0) -> Azurite:
        node = shutil.which("node")
        if node is None or not AZURITE_SCRIPT.exists():
            raise AzuriteNotInstalled(
                "Azurite is not installed: run `npm ci` in the project root (./dev test and ./dev demo do it). "
                f"Expected {AZURITE_SCRIPT} and `node` (20+) on PATH."
            )
        args = [node, str(AZURITE_SCRIPT), "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--loose"]
        environment = {name: value for name, value in os.environ.items() if name != "AZURITE_DB"}
        if self.metadata_database:
            self._location = tempfile.TemporaryDirectory(prefix="azurite-")
            args += ["--location", self._location.name]
            environment["AZURITE_DB"] = self.metadata_database
        elif self.persist_in:
            args += ["--location", self.persist_in]
        else:
            args.append("--inMemoryPersistence")
        for service in ("blob", "queue", "table"):
            args += [f"--{service}Host", "127.0.0.1", f"--{service}Port", str(self.ports.get(service, 0))]
        self._process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                         cwd=PROJECT_ROOT, env=environment)
        ready = threading.Event()
        threading.Thread(target=self._read_output, args=(ready,), daemon=True).start()
        if not ready.wait(timeout):
            self.stop()
            raise RuntimeError("Azurite did not start in time:\n" + "".join(self._output[-20:]))
        return self

    def _read_output(self, ready: threading.Event) -> None:
        """Ready once this process says all three services listen (a restart's endpoints are known already)."""
        assert self._process is not None and self._process.stdout is not None
        listening: set[str] = set()
        for line in self._process.stdout:
            self._output.append(line)
            match = _LISTENING.search(line)
            if match:
                service = match.group(1).lower()
                listening.add(service)
                self.endpoints[service] = match.group(2).rstrip("/")
                self.ports[service] = int(match.group(2).rstrip("/").rsplit(":", 1)[1])
                if len(listening) == 3:
                    ready.set()

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.endpoints['blob']}/{ACCOUNT};QueueEndpoint={self.endpoints['queue']}/{ACCOUNT};"
            f"TableEndpoint={self.endpoints['table']}/{ACCOUNT};"
        )

    def stop(self) -> None:
        stop_process(self._process, timeout=10)
        self._process = None
        if self._location:
            self._location.cleanup()
            self._location = None

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

