"""The app's HTTP functions behind a real local HTTP server, as the Functions host serves them: ``/api/<route>``,
the function key checked before the function runs (``code`` in the query string or the ``x-functions-key``
header, else 401), then the user function called with the HttpRequest the worker builds. For the browser tests,
the screenshots and trying the status page by hand."""

from __future__ import annotations

import hmac
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from localdev.host import indexed_functions
from localdev.http_server import LocalServer, QuietHandler


def _routes() -> dict[tuple[str, str], Any]:
    """(method, route) -> the indexed function, for every HTTP-triggered function of the app."""
    routes = {}
    for function in indexed_functions().values():
        trigger = json.loads(function.get_function_json())["bindings"][0]
        if trigger["type"] == "httpTrigger":
            for method in trigger["methods"]:
                routes[(method, trigger["route"])] = function
    return routes


class _FunctionsHandler(QuietHandler):
    server_owner: FunctionsHttp

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        function = self.server_owner.routes.get((self.command, parts.path.removeprefix("/api/")))
        body = self.read_body()
        if function is None:
            self.send_json(404, b'{"error": "no such function"}')
            return
        given = params.get("code") or self.headers.get("x-functions-key") or ""
        if not hmac.compare_digest(given.encode(), self.server_owner.key.encode()):
            self.send_json(401, b"")
            return
        request = func.HttpRequest(method=self.command, url=f"{self.server_owner.url}{self.path}",
                                   headers=dict(self.headers.items()), params=params, body=body)
        response = function.get_user_function()(request)
        payload = response.get_body()
        self.send_response(response.status_code)
        self.send_header("Content-Type", f"{response.mimetype}; charset={response.charset}")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            if name.lower() not in ("content-type", "content-length"):
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class FunctionsHttp(LocalServer):
    """Serves the app's HTTP functions on loopback; requests must carry ``key`` as the host requires."""

    handler_class = _FunctionsHandler

    def __init__(self, key: str, port: int = 0) -> None:
        super().__init__(port)
        self.key = key
        self.routes = _routes()
