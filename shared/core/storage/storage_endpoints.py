"""Storage connections, checked before any client exists: the account's key, SAS or bearer token goes only to a
storage host of a known Azure cloud (or one the operator allowed by name), never wherever a setting points.

A connection is a connection string (``<NAME>``) or identity-based settings (``<NAME>__blobServiceUri``,
``__serviceUri``, ``__queueServiceUri``, ``__accountName``), read the way the Functions host reads them. Loopback
and Azurite (path-style ``http://127.0.0.1:10000/devstoreaccount1``, ``UseDevelopmentStorage=true``) need the
local-development flag, AML_ALLOW_LOCAL_TARGETS=true.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from urllib3.util import parse_url

from shared.core.aml.targets import is_loopback
from shared.core.common.errors import InvalidValue

CLOUD_SUFFIXES = ("core.windows.net", "core.chinacloudapi.cn", "core.usgovcloudapi.net")
"""Storage endpoint suffixes of Azure's public, China (21Vianet) and US Government clouds."""
ACCOUNT_NAME = re.compile(r"[a-z0-9]{3,24}")
_STANDARD_HOST = re.compile(
    r"(?P<account>[a-z0-9]{3,24})\.(?P<service>blob|queue|dfs|table|file)\.(?:"
    + "|".join(re.escape(suffix) for suffix in CLOUD_SUFFIXES) + r")")
_DNS_ZONE_HOST = re.compile(r"(?P<account>[a-z0-9]{3,24})\.z[0-9]{2}\.(?P<service>blob|queue|dfs|table|file)"
                            r"\.storage\.azure\.net")


def azure_storage_host(hostname: str) -> re.Match[str] | None:
    """``hostname`` as an Azure Storage endpoint's (groups ``account`` and ``service``), or None: another host
    (a custom domain, the emulator)."""
    return _STANDARD_HOST.fullmatch(hostname) or _DNS_ZONE_HOST.fullmatch(hostname)


DEVELOPMENT_ENDPOINTS = {"blob": "http://127.0.0.1:10000/devstoreaccount1",
                         "queue": "http://127.0.0.1:10001/devstoreaccount1"}
"""Where ``UseDevelopmentStorage=true`` points: Azurite's default ports, as the storage SDKs resolve it."""
DEVELOPMENT_ACCOUNT = ("devstoreaccount1",
                       "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
"""Azurite's well-known account and key (public, in Microsoft's docs)."""


@dataclass(frozen=True)
class StorageAccount:
    """A checked connection: where its Blob service is, and how to sign (key, SAS, or managed identity)."""

    connection: str
    blob_url: str
    account_key: tuple[str, str] | None = None
    """(account name, key) of a connection string with AccountKey=."""
    sas: str | None = None
    client_id: str | None = None
    """A user-assigned identity for this connection (``<NAME>__clientId`` with ``__credential=managedidentity``)."""

    def __repr__(self) -> str:  # never the key or SAS
        return f"StorageAccount({self.connection!r}, {self.blob_url!r})"

    @property
    def account_name(self) -> str | None:
        """The account's name, which an event's ``topic`` names: its key's, its host's, or the path-style
        emulator's; None on a custom domain (STORAGE_ALLOWED_HOSTS) signed without a key."""
        if self.account_key is not None:
            return self.account_key[0]
        parts = urlsplit(self.blob_url)
        host = azure_storage_host(parts.hostname or "")
        return host.group("account") if host else parts.path.strip("/") or None


class EndpointRules(NamedTuple):
    allow_local: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    """Custom domains (STORAGE_ALLOWED_HOSTS) a connection may name besides Azure's storage hosts."""


class StorageSettingError(InvalidValue, ValueError):
    """Settings of one connection that must not be used: ``problems`` lists (setting, value, expected)."""

    def __init__(self, problems: list[tuple[str, str | None, str]]):
        super().__init__("; ".join(f"{setting}: {expected}" for setting, _, expected in problems))
        self.problems = problems


def allowed_hosts(raw: str | None) -> tuple[frozenset[str], list[str]]:
    """STORAGE_ALLOWED_HOSTS (comma-separated host names) and the entries that are not host names."""
    hosts = [host.strip().lower() for host in (raw or "").split(",") if host.strip()]
    wrong = [host for host in hosts if not re.fullmatch(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
                                                          r"[a-z]{2,63}", host)]
    return frozenset(host for host in hosts if host not in wrong), wrong


def storage_account(env: Mapping[str, str], connection: str, rules: EndpointRules) -> StorageAccount:
    """The checked account behind ``connection``; StorageSettingError listing every problem otherwise."""
    problems: list[tuple[str, str | None, str]] = []
    if env.get(connection):
        account = _from_connection_string(connection, env[connection], rules, problems)
    else:
        account = _from_identity_settings(env, connection, rules, problems)
    if problems or account is None:
        raise StorageSettingError(problems or [(connection, None, "a storage connection (not configured)")])
    return account


def _from_connection_string(connection: str, text: str, rules: EndpointRules,
                            problems: list[tuple[str, str | None, str]]) -> StorageAccount | None:
    """Parsed as the storage SDK parses it (keys case-insensitive, ``;``-separated, the first ``=`` splits)."""
    pairs = [part.split("=", 1) for part in text.strip().rstrip(";").split(";")]
    if any(len(pair) != 2 for pair in pairs):
        problems.append((connection, text, "a connection string of Key=Value pairs separated by ';'"))
        return None
    fields = {key.strip().upper(): value.strip() for key, value in pairs}
    if fields.get("USEDEVELOPMENTSTORAGE", "").lower() == "true":
        if not rules.allow_local:
            problems.append((connection, text, "UseDevelopmentStorage=true (Azurite) only with "
                                               "AML_ALLOW_LOCAL_TARGETS=true, for local development"))
            return None
        return StorageAccount(connection, DEVELOPMENT_ENDPOINTS["blob"], account_key=DEVELOPMENT_ACCOUNT)
    name = fields.get("ACCOUNTNAME")
    if name is not None and not ACCOUNT_NAME.fullmatch(name):  # Azurite's devstoreaccount1 is a valid name too
        problems.append((f"{connection} (AccountName)", name,
                         "a storage account name: 3-24 lowercase letters and digits"))
        return None
    endpoints = {}
    for service in ("blob", "queue"):
        endpoint = fields.get(f"{service.upper()}ENDPOINT")
        if endpoint is None and name:  # as the SDK derives it: the protocol counts only beside an EndpointSuffix
            suffix = fields.get("ENDPOINTSUFFIX")
            protocol = fields.get("DEFAULTENDPOINTSPROTOCOL", "https") if suffix else "https"
            endpoint = f"{protocol}://{name}.{service}.{suffix or CLOUD_SUFFIXES[0]}"
        if endpoint is not None:
            given = f"{service.capitalize()}Endpoint" if f"{service.upper()}ENDPOINT" in fields else "AccountName"
            endpoints[service] = _checked_endpoint(endpoint, service, f"{connection} ({given})", rules, problems)
    if "blob" not in endpoints:
        problems.append((connection, text, "a connection string with AccountName (and EndpointSuffix) or BlobEndpoint"))
        return None
    key, sas = fields.get("ACCOUNTKEY"), fields.get("SHAREDACCESSSIGNATURE")
    account_key = (name, key) if key and name else None
    if account_key is None and not sas:
        problems.append((connection, text, "a connection string that signs: AccountName with AccountKey, or "
                                           "SharedAccessSignature (or use managed identity settings)"))
    if problems or endpoints["blob"] is None:
        return None
    return StorageAccount(connection, endpoints["blob"], account_key=account_key,
                          sas=sas.lstrip("?") if sas and account_key is None else None)


def _from_identity_settings(env: Mapping[str, str], connection: str, rules: EndpointRules,
                            problems: list[tuple[str, str | None, str]]) -> StorageAccount | None:
    blob_url = None
    for suffix, service in (("__blobServiceUri", "blob"), ("__serviceUri", "blob"), ("__queueServiceUri", "queue")):
        value = env.get(f"{connection}{suffix}")
        if value:
            checked = _checked_endpoint(value, service, f"{connection}{suffix}", rules, problems)
            blob_url = blob_url or (checked if service == "blob" else None)
    name = env.get(f"{connection}__accountName")
    if name and not blob_url:
        if ACCOUNT_NAME.fullmatch(name):
            blob_url = f"https://{name}.blob.{CLOUD_SUFFIXES[0]}"
        else:
            problems.append((f"{connection}__accountName", name,
                             "a storage account name: 3-24 lowercase letters and digits (it names "
                             "https://<name>.blob.core.windows.net)"))
    credential = env.get(f"{connection}__credential")
    if credential and credential.lower() != "managedidentity":
        problems.append((f"{connection}__credential", credential, "managedidentity (or unset)"))
    if problems or blob_url is None:
        return None
    client_id = env.get(f"{connection}__clientId") if credential else None
    return StorageAccount(connection, blob_url, client_id=client_id or None)


def _checked_endpoint(url: str, service: str, where: str, rules: EndpointRules,
                      problems: list[tuple[str, str | None, str]]) -> str | None:
    """``url`` as the account root to send requests to, or None with the problem added."""
    problem = _endpoint_problem(url, service, rules)
    if problem:
        problems.append((where, url, problem))
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def _endpoint_problem(url: str, service: str, rules: EndpointRules) -> str | None:
    if "\\" in url or any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        return "must not contain backslashes, spaces or control characters"
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or ""), parts.port
        sent_to = (parse_url(url).host or "").lower()
    except ValueError:
        return f"not a URL: expected https://<account>.{service}.core.windows.net"
    if "%" in parts.netloc or sent_to.strip("[]") != host:
        return "host is ambiguous (percent-encoding, or a host HTTP clients would read differently)"
    if "@" in parts.netloc:
        return "must not carry user info"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return ("must not carry a query string or fragment "
                "(a SAS belongs in the connection string's SharedAccessSignature)")
    if rules.allow_local and is_loopback(host):
        if parts.scheme not in ("http", "https") or not re.fullmatch(r"/[a-z0-9]{3,24}/?", parts.path):
            return "a local emulator endpoint: http://127.0.0.1:<port>/<account> (path-style, as Azurite serves)"
        return None
    if parts.scheme != "https":
        return ("must be https (http and loopback hosts such as Azurite are allowed only with "
                "AML_ALLOW_LOCAL_TARGETS=true, for local development)")
    if parts.path not in ("", "/"):
        return f"must be the account's root (no path): https://<account>.{service}.core.windows.net"
    if port not in (None, 443):
        return "must use the default https port"
    if host in rules.allowed_hosts:
        return None
    match = azure_storage_host(host)
    if match is None:
        return (f"host {host!r} is not an Azure Storage host (<account>.{service}.core.windows.net, or "
                f".core.chinacloudapi.cn / .core.usgovcloudapi.net, or <account>.zNN.{service}.storage.azure.net); "
                "a custom domain must be listed in STORAGE_ALLOWED_HOSTS")
    if match.group("service") != service:
        return f"is the account's {match.group('service')} endpoint; this setting takes its {service} endpoint"
    return None
