"""A relay to Azurite that evaluates ``x-ms-blob-if-match`` on Set Blob Tags as Azure does (x-ms-version
2026-02-06 and later) and Azurite does not: a tag write whose ETag is no longer the blob's gets 412
ConditionNotMet and changes nothing. Every other request is passed through untouched (the shared-key signature
does not cover the host or port)."""

from __future__ import annotations

import http.client
from urllib.parse import parse_qs, unquote, urlsplit

from azure.storage.blob import BlobServiceClient

from localdev.http_server import LocalServer, QuietHandler

CONDITION_NOT_MET = (b'<?xml version="1.0" encoding="utf-8"?><Error><Code>ConditionNotMet</Code>'
                     b"<Message>The condition specified using HTTP conditional header(s) is not met.</Message></Error>")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding"}


class _Relay(QuietHandler):
    server_owner: TagConditions

    def do_GET(self) -> None:
        self._relay()

    def do_HEAD(self) -> None:
        self._relay()

    def do_PUT(self) -> None:
        self._relay()

    def do_DELETE(self) -> None:
        self._relay()

    def _relay(self) -> None:
        body = self.read_body()
        if self._stale_tag_write():
            self.server_owner.refused += 1
            self.send_response(412)
            self.send_header("x-ms-error-code", "ConditionNotMet")
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(CONDITION_NOT_MET)))
            self.end_headers()
            self.wfile.write(CONDITION_NOT_MET)
            return
        upstream = http.client.HTTPConnection("127.0.0.1", self.server_owner.azurite_port, timeout=30)
        upstream.request(self.command, self.path, body, dict(self.headers.items()))
        answer = upstream.getresponse()
        content = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP_BY_HOP | {"content-length"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)
        upstream.close()

    def _stale_tag_write(self) -> bool:
        wanted = self.headers.get("x-ms-blob-if-match")
        url = urlsplit(self.path)
        if self.command != "PUT" or wanted is None or parse_qs(url.query).get("comp") != ["tags"]:
            return False
        _account, container, blob = url.path.lstrip("/").split("/", 2)
        current = self.server_owner.storage.get_blob_client(container, unquote(blob)).get_blob_properties().etag
        return current.strip('"') != wanted.strip('"')


class TagConditions(LocalServer):
    """Relays to the Azurite whose connection string it is given; ``connection_string`` points through it."""

    handler_class = _Relay

    def __init__(self, azurite_connection_string: str) -> None:
        super().__init__()
        self.storage = BlobServiceClient.from_connection_string(azurite_connection_string)
        self.azurite_port = urlsplit(self.storage.url).port or 80
        self._azurite_connection_string = azurite_connection_string
        self.refused = 0

    @property
    def connection_string(self) -> str:
        return self._azurite_connection_string.replace(f"127.0.0.1:{self.azurite_port}", self.url.removeprefix(
            "http://"))
