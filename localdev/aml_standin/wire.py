"""What every route shares: the request as a handler sees it, the answer it gives, and the service's checks of
tokens, content types and error bodies."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, parse_qs

from localdev.aml_standin import clock
from localdev.tokens import read_token

ARM_AUDIENCES = frozenset({"https://management.azure.com", "https://management.azure.com/",
                           "https://management.core.windows.net/"})
ML_AUDIENCES = frozenset({"https://ml.azure.com", "https://ml.azure.com/"})
JSON_TYPES = ("application/json", "application/json-patch+json")


@dataclass(frozen=True)
class Request:
    """One request: its method, URL, headers and body, and the route's match of its path."""

    method: str
    url: SplitResult
    headers: Any
    raw: bytes
    match: re.Match[str] | None = None

    @property
    def query(self) -> dict[str, str]:
        return query_params(self.url)


@dataclass(frozen=True)
class Answer:
    """A status, a JSON-able body and extra headers, as one route answers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def error(code: str, message: str, v2: bool = False) -> dict:
    if v2:  # the v2 APIs answer with ARM-style errors
        return {"error": {"code": code, "message": message}}
    return {"Error": {"Code": code, "Message": message, "Target": None, "Details": []},
            "Correlation": {"RequestId": uuid.uuid4().hex}}


def content_type(headers: Any) -> str:
    return (headers.get("Content-Type") or "").split(";")[0].strip().lower()


def json_body(request: Request) -> tuple[Any, Answer | None]:
    """The JSON body of a v1 request, or the 415 / 400 the service answers for another content type or bad JSON."""
    kind = content_type(request.headers)
    if kind not in JSON_TYPES:
        return None, Answer(415, error("UnsupportedMediaType", f"content type {kind!r}"), {})
    try:
        return json.loads(request.raw.decode("utf-8")), None
    except ValueError:
        return None, Answer(400, error("BadRequest", "body is not UTF-8 JSON"), {})


def v2_json_body(request: Request, audiences: frozenset[str]) -> tuple[Any, Answer | None]:
    """The JSON body of a v2 submission (a batch job, a pipeline job), or the 401, 415 or 400 (ARM-style) the
    service answers for a refused token, another content type or bad JSON."""
    refused = refused_token(request.headers, audiences)
    if refused:
        return None, refused
    if content_type(request.headers) != "application/json":
        return None, Answer(415, error("UnsupportedMediaType", "application/json expected", v2=True))
    try:
        return json.loads(request.raw.decode("utf-8")), None
    except ValueError:
        return None, Answer(400, error("BadRequest", "body is not UTF-8 JSON", v2=True))


def refused_token(headers: Any, audiences: frozenset[str], *, challenge: bool = True) -> Answer | None:
    """The 401 the service answers for a missing, expired or wrong-audience token; None when it is fine. Only the
    submissions carry the ``WWW-Authenticate`` challenge (``challenge``); the reads answer without it."""
    claims = read_token(bearer(headers) or "")
    headers_out = {"WWW-Authenticate": "Bearer"} if challenge else {}
    if claims is None:
        return Answer(401, error("Unauthorized", "a bearer token is required"), headers_out)
    if claims.get("aud") not in audiences:
        return Answer(401, error("InvalidAudience", f"token audience {claims.get('aud')!r} is not accepted"),
                      headers_out)
    if claims.get("exp", 0) <= clock.wall():
        return Answer(401, error("ExpiredToken", "the token has expired"), headers_out)
    return None


def bearer(headers: Any) -> str | None:
    value = headers.get("Authorization") or ""
    return value[7:] if value.startswith("Bearer ") else None


def query_params(url: SplitResult) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(url.query).items()}
