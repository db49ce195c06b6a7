"""A local managed-identity endpoint speaking the App Service protocol (IDENTITY_ENDPOINT / IDENTITY_HEADER).

azure-identity's real ManagedIdentityCredential code path fetches and caches tokens from it.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from localdev.http_server import LocalServer, QuietHandler
from localdev.tokens import make_token

TOKEN_PATH = "/msi/token"


@dataclass(frozen=True)
class TokenRequest:
    resource: str
    client_id: str | None
    status: int


class _Handler(QuietHandler):
    server_owner: IdentityEndpoint

    def do_GET(self) -> None:
        owner = self.server_owner
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        status, body = owner.answer(url.path, query, self.headers.get("X-IDENTITY-HEADER"))
        self.send_json(status, json.dumps(body).encode())


class IdentityEndpoint(LocalServer):
    """Issues tokens for any resource; ``fail_next`` makes the next requests fail like the real endpoint can."""

    handler_class = _Handler

    def __init__(self, *, client_id: str = "00000000-0000-0000-0000-00000000c11d",
                 require_client_id: bool = False, lifetime: int = 3600, port: int = 0, secret: str | None = None):
        super().__init__(port)
        self.secret = secret or secrets.token_hex(16)
        self.client_id = client_id
        self.require_client_id = require_client_id
        self.lifetime = lifetime
        self.requests: list[TokenRequest] = []
        self.issued: list[str] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()

    def environment(self) -> dict[str, str]:
        """The variables the platform sets in a Function app with managed identity."""
        return {"IDENTITY_ENDPOINT": self.url + TOKEN_PATH, "IDENTITY_HEADER": self.secret}

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def answer(self, path: str, query: dict[str, str], header: str | None) -> tuple[int, dict]:
        resource, client_id = query.get("resource", ""), query.get("client_id")
        with self._lock:
            status = self._failures.pop(0) if self._failures else 200
            if status == 200:
                if path != TOKEN_PATH or query.get("api-version") != "2019-08-01" or not resource:
                    status = 400
                elif header != self.secret:
                    status = 401
                elif self.require_client_id and client_id != self.client_id:
                    status = 400
            self.requests.append(TokenRequest(resource, client_id, status))
            if status != 200:
                return status, {"statusCode": status, "message": "Unable to issue a token (local identity endpoint)"}
            token, expires = make_token(resource, self.client_id, self.lifetime)
            self.issued.append(token)
        return 200, {"access_token": token, "expires_on": str(expires), "resource": resource,
                     "token_type": "Bearer", "client_id": self.client_id}
