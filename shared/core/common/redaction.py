"""Masking by value: whatever looks like a key, SAS, connection string or token, or came from a secret-looking
setting, is shown as ``***`` wherever it lands (errors, health, explain, log lines), whatever field carries it.

Names still count (a setting or parameter called ``*KEY*``, ``*SECRET*``, ``*TOKEN*``, ``*PASSWORD*``...), but a
secret in a field with an innocent name is caught by its shape, or because its text is a secret setting's value.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

MASK = "***"
_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|PWD|SAS|SIGNATURE|CREDENTIALS?$|IDENTITY_?HEADER|"
                          r"CONNECTION_?STRING|AUTHORIZATION", re.IGNORECASE)
_NOT_SECRET_NAME = re.compile(r"SCOPE|__CREDENTIAL$|__CLIENTID$|__ACCOUNTNAME$|SERVICEURI$", re.IGNORECASE)
_CONNECTION_SECRET = re.compile(r"((?:AccountKey|SharedAccessKey|SharedAccessSignature|InstrumentationKey|Password|"
                                r"Pwd|ClientSecret)\s*=)[^;\s'\"]*", re.IGNORECASE)
_SHAPES = re.compile(
    r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*)?"  # a JWT (header.payload[.signature])
    r"|(?<![A-Za-z0-9])(?:sig|sv|se|st|sp|spr|srt|ss|skoid|sktid|skt|ske|sks|skv|sr|si)=[^&\s'\"]*"  # SAS fields
    r"|Bearer\s+[A-Za-z0-9._~+/=-]+"
    # A long base64 key (checked for mixed characters below); with '/' in it only when padded, so a URL path is not.
    r"|(?<![A-Za-z0-9+/])(?:[A-Za-z0-9+/]{40,}={1,2}|[A-Za-z0-9+]{40,})(?![A-Za-z0-9+/=])"
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
MIN_SECRET_LENGTH = 6
"""Setting values shorter than this are not searched for: masking ``true`` everywhere would hide, not protect."""


def secret_name(name: str) -> bool:
    """Whether a setting or parameter name says its value is a secret."""
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_NAME.search(name)


def looks_secret(text: str) -> bool:
    """Whether ``text`` is, or carries, a key, SAS, connection string secret or token by its shape."""
    return bool(_CONNECTION_SECRET.search(text)) or any(_is_secret_shape(m.group(0)) for m in _SHAPES.finditer(text))


def secret_values(env: Mapping[str, str]) -> frozenset[str]:
    """Values of secret-named settings: masked wherever they land (after %SETTING% substitution, too). A value
    secret by its shape needs no list: its shape masks it anywhere."""
    return frozenset(value for name, value in env.items() if isinstance(value, str)
                     and len(value) >= MIN_SECRET_LENGTH and secret_name(name))


def mask_text(text: str, secrets: Collection[str] = (), *, urls: bool = True) -> str:
    """``text`` with secret values and secret shapes masked; with ``urls``, every URL without query or user info."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _CONNECTION_SECRET.sub(lambda found: found.group(1) + MASK, text)
    if urls:
        text = _URL.sub(lambda found: redact_url(found.group(0)), text)
    return _SHAPES.sub(lambda found: MASK if _is_secret_shape(found.group(0)) else found.group(0), text)


def masked(value: Any, secrets: Collection[str] = (), *, name: str = "") -> Any:
    """``value`` with every string in it masked, inside lists and objects too; under a secret name, wholly."""
    if isinstance(value, dict):
        return {key: masked(item, secrets, name=f"{name}.{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [masked(item, secrets, name=name) for item in value]
    if isinstance(value, str):
        return MASK if secret_name(name) and value else mask_text(value, secrets)
    return value


def _is_secret_shape(found: str) -> bool:
    if found.startswith(("eyJ", "Bearer")) or "=" in found[:8]:
        return True
    # A base64 key mixes cases and digits; a SHA-256 in hex (record keys) or a word run does not.
    return bool(re.search(r"[a-z]", found) and re.search(r"[A-Z]", found) and re.search(r"[0-9]", found))


def redact_url(url: str) -> str:
    """The URL without query, fragment or user info: safe to show in an error or a log line."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or not parts.scheme:  # not parseable: cut by hand, user info included
        without_query = url.split("?", 1)[0].split("#", 1)[0]
        return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/]*@", r"\1", without_query)
    host_and_port = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host_and_port}{parts.path}"
