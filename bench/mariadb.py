"""A private, throwaway MariaDB server for Azurite's SQL metadata store in the 100,000-blob sweep.

Azurite's default store scans every blob of the account on each write (a profile of Put Blob: 47% of its time in
LokiJS ``findOne`` at 15,000 blobs), so ingesting 100,000 blobs slows from 600 to under 50 per second and takes the
better part of an hour. Its SQL store (``AZURITE_DB``) keeps writes indexed: a steady ~230 per second here.

The server listens on a Unix socket in a temporary folder only (``--skip-networking``); nothing is installed or
kept. It needs MariaDB's programs on PATH (Debian/Ubuntu: ``apt-get install mariadb-server``).
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from localdev.azurite import stop_process


class MariaDbNotInstalled(RuntimeError):
    pass


def programs() -> tuple[str, str, str] | None:
    """The server, installer and client programs, or None when MariaDB (or MySQL 5) is not installed."""
    found = [shutil.which(first) or shutil.which(second) for first, second in
             (("mariadbd", "mysqld"), ("mariadb-install-db", "mysql_install_db"), ("mariadb", "mysql"))]
    return (found[0], found[1], found[2]) if all(found) else None


class MariaDb:
    def __init__(self) -> None:
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._client = ""

    @property
    def socket_path(self) -> Path:
        assert self._folder is not None, "not started"
        return Path(self._folder.name) / "mysqld.sock"

    def start(self, timeout: float = 60.0) -> MariaDb:
        found = programs()
        if found is None:
            raise MariaDbNotInstalled("MariaDB is not installed (Debian/Ubuntu: apt-get install mariadb-server)")
        server, installer, self._client = found
        self._folder = tempfile.TemporaryDirectory(prefix="bench-mariadb-")
        folder, user = Path(self._folder.name), getpass.getuser()
        subprocess.run([installer, "--no-defaults", f"--datadir={folder / 'data'}", f"--user={user}",
                        "--auth-root-authentication-method=normal", "--skip-test-db"],
                       check=True, capture_output=True, timeout=timeout)
        # Throwaway data: no grant checks (only this user can reach the socket), no durability flushes.
        self._process = subprocess.Popen(
            [server, "--no-defaults", f"--datadir={folder / 'data'}", f"--socket={self.socket_path}",
             f"--pid-file={folder / 'mysqld.pid'}", f"--log-error={folder / 'error.log'}", f"--user={user}",
             "--skip-networking", "--skip-grant-tables", "--skip-log-bin", "--innodb-flush-log-at-trx-commit=0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not self._accepts_connections():
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = (folder / "error.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"MariaDB did not start:\n{log}")
            time.sleep(0.1)
        return self

    def _accepts_connections(self) -> bool:
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(self.socket_path))
            except OSError:
                return False
        return True

    def database_url(self, name: str) -> str:
        """A new, empty database ``name``, as a URL Azurite's ``AZURITE_DB`` accepts."""
        subprocess.run([self._client, "--no-defaults", f"--socket={self.socket_path}", "-uroot",
                        "-e", f"CREATE DATABASE `{name}`"], check=True, capture_output=True, timeout=30)
        return f"mysql://root@localhost/{name}?socketPath={self.socket_path}"

    def stop(self) -> None:
        stop_process(self._process, timeout=30)
        self._process = None
        if self._folder:
            self._folder.cleanup()
            self._folder = None

    def __enter__(self) -> MariaDb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
