"""A local Application Insights ingestion endpoint: records the envelopes the Azure Monitor exporter posts."""

from __future__ import annotations

import gzip
import json
import threading
from typing import Any

from localdev.http_server import LocalServer, QuietHandler

INSTRUMENTATION_KEY = "00000000-0000-4000-8000-0000000000a1"
"""Made up: the exporter only needs one of the right shape; nothing checks it here."""
QUIET_EXPORTER = {
    "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",  # the exporter's own usage reports go to Microsoft
    "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "azure_app_service",  # no Azure VM metadata request (169.254.169.254)
}
"""Environment that keeps an exporter's traffic on the ingestion endpoint it is given (loopback in the tests)."""


class _Handler(QuietHandler):
    server_owner: IngestionEndpoint

    def do_POST(self) -> None:
        body = self.read_body()
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        envelopes = json.loads(body)
        self.server_owner.record(self.path, envelopes)
        self.send_json(200, json.dumps({"itemsReceived": len(envelopes), "itemsAccepted": len(envelopes),
                                        "errors": []}).encode())


class IngestionEndpoint(LocalServer):
    """Answers every track POST as accepted; ``envelopes`` are what arrived, ``paths`` where."""

    handler_class = _Handler

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()

    def record(self, path: str, envelopes: list[dict[str, Any]]) -> None:
        with self._lock:
            self.paths.append(path)
            self.envelopes.extend(envelopes)

    @property
    def connection_string(self) -> str:
        return f"InstrumentationKey={INSTRUMENTATION_KEY};IngestionEndpoint={self.url}/"
