"""A workspace's regional host apart from ARM, as on Azure (``<region>.api.azureml.ms`` beside
``management.azure.com``): it serves run history's run GET for the runs the ARM stand-in holds, and records what it
receives, so a test proves the host came from the workspace's discovery document and not from the target."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from localdev.aml_standin import history
from localdev.aml_standin.routes import route_for
from localdev.aml_standin.server import AmlStandIn
from localdev.aml_standin.state import Received
from localdev.aml_standin.wire import Request, error
from localdev.http_server import LocalServer, QuietHandler


class _Handler(QuietHandler):
    server_owner: RegionalHost

    def do_GET(self) -> None:
        owner = self.server_owner
        url = urlsplit(self.path)
        route, match = route_for("GET", url.path)
        if route.handler is history.get_run:
            status, body = owner.home.status_route(url, self.headers)
        else:
            status, body = 404, error("NotFound", f"{url.path}: only run history's run GET is served here")
        owner.home.record(owner.received, Request("GET", url, self.headers, b"", match), status)
        self.send_json(status, json.dumps(body).encode())


class RegionalHost(LocalServer):
    """Run history for ``home``'s runs on a port of its own; ``received`` lists what it was asked."""

    handler_class = _Handler

    def __init__(self, home: AmlStandIn):
        super().__init__()
        self.home = home
        self.received: list[Received] = []
