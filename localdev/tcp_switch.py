"""A loopback TCP relay to one local server that can be switched off and on again, for outage tests.

Off: new connections are refused and open ones are cut, as when the server's host goes down. On: the same port
listens again and relays to the same server, whose state (an Azurite's blobs, say) is intact. Stopping the server
itself would lose an in-memory emulator's data and its port.
"""

from __future__ import annotations

import contextlib
import socket
import threading

_CHUNK = 65536


class TcpSwitch:
    """Relays 127.0.0.1:``port`` to 127.0.0.1:``target_port`` while on."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> TcpSwitch:
        """Listen (on a free port the first time, the same port afterwards) and relay each connection."""
        with self._lock:
            if self._listener is not None:
                return self
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
            self.port = listener.getsockname()[1]
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="TcpSwitch", daemon=True).start()
        return self

    def down(self) -> None:
        """Refuse new connections and reset the open ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            open_sockets, self._open = self._open, set()
        if listener is not None:
            _close(listener)
        for connection in open_sockets:
            _close(connection)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # switched off
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # switched off meanwhile
                    _close(client)
                    _close(server)
                    return
                self._open.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(_CHUNK):
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._open.discard(source)
            self._open.discard(sink)
        _close(source)
        _close(sink)

    def __enter__(self) -> TcpSwitch:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.down()


def _close(connection: socket.socket) -> None:
    """Shut down first: that wakes a thread blocked in accept() or recv() on it, which close() alone may not."""
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()
