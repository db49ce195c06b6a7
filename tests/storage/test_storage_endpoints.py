"""Storage connections point only at Azure storage hosts (or allowed custom domains), checked at load, so no key,
SAS or bearer token is ever sent where a setting steers it."""

from __future__ import annotations

import json
import socketserver
import threading

import pytest

from shared.core.config.config_loader import load_config
from shared.core.config.problems import ConfigError
from shared.core.storage.storage_endpoints import (
    DEVELOPMENT_ACCOUNT,
    DEVELOPMENT_ENDPOINTS,
    EndpointRules,
    StorageSettingError,
    storage_account,
)
from tests.support.http import call
from tests.support.settings import LOADED_AT, NO_APP_ROOT, minimal_env


class RecordingListener(socketserver.ThreadingTCPServer):
    """A loopback TCP server that records every connection and the bytes it got: HTTP, TLS or anything."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.received: list[bytes] = []
        listener = self

        class Record(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(2)
                try:
                    listener.received.append(self.request.recv(65536))
                except (TimeoutError, OSError):
                    listener.received.append(b"")

        super().__init__(("127.0.0.1", 0), Record)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]


@pytest.fixture
def listener():
    server = RecordingListener()
    yield server
    server.shutdown()
    server.server_close()


def test_the_issues_ledger_steering_is_refused_at_load_and_the_server_sees_nothing(app_env, listener, monkeypatch):
    monkeypatch.setenv("LEDGER_STORAGE", "EVIL")
    monkeypatch.setenv("EVIL__accountName", f"127.0.0.1:{listener.port}/steal#")

    code, answer = call("http_start_run", body={"rule": "default"})

    assert listener.received == []  # main sent it the ledger's requests (with the bearer token, over TLS)
    assert code == 503 and answer["error"] == "the app's configuration is invalid"
    assert answer["problems"] == [f"EVIL__accountName = '127.0.0.1:{listener.port}/steal#': a storage account name: "
                                  "3-24 lowercase letters and digits (it names https://<name>.blob.core.windows.net)"]


def test_a_watched_blob_service_uri_on_another_host_is_refused():
    problems = caught(minimal_env(WATCH_STORAGE=None, WATCH_STORAGE__blobServiceUri="https://evil.example")).problems
    assert [str(problem) for problem in problems] == [
        "WATCH_STORAGE__blobServiceUri = 'https://evil.example': host 'evil.example' is not an Azure Storage host "
        "(<account>.blob.core.windows.net, or .core.chinacloudapi.cn / .core.usgovcloudapi.net, or "
        "<account>.zNN.blob.storage.azure.net); a custom domain must be listed in STORAGE_ALLOWED_HOSTS"]


def test_a_custom_domain_is_accepted_once_listed_in_storage_allowed_hosts():
    env = minimal_env(WATCH_STORAGE=None, WATCH_STORAGE__blobServiceUri="https://data.example.com",
                      STORAGE_ALLOWED_HOSTS="Data.Example.com")
    assert load_config(env, NO_APP_ROOT, now=LOADED_AT).watch_storage.blob_url == "https://data.example.com"


def caught(env: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        load_config(env, NO_APP_ROOT, now=LOADED_AT)
    return error.value


AZURITE = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;" \
          "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1"


@pytest.mark.parametrize("settings, where, expected", [
    ({"WATCH_STORAGE": "BlobEndpoint=https://evil.example;SharedAccessSignature=sv=2022&sig=abc"},
     "WATCH_STORAGE (BlobEndpoint)", "host 'evil.example' is not an Azure Storage host"),
    ({"WATCH_STORAGE": "AccountName=acct;AccountKey=a2V5;EndpointSuffix=evil.example"},
     "WATCH_STORAGE (AccountName)", "host 'acct.blob.evil.example' is not an Azure Storage host"),
    ({"WATCH_STORAGE": "AccountName=acct;AccountKey=a2V5;QueueEndpoint=https://evil.example"},
     "WATCH_STORAGE (QueueEndpoint)", "host 'evil.example' is not an Azure Storage host"),
    ({"WATCH_STORAGE": "BlobEndpoint=https://u:p@acct.blob.core.windows.net;SharedAccessSignature=sig=a"},
     "WATCH_STORAGE (BlobEndpoint)", "must not carry user info"),
    ({"WATCH_STORAGE": "BlobEndpoint=https://acct.blob.core.windows.net/c;SharedAccessSignature=sig=a"},
     "WATCH_STORAGE (BlobEndpoint)", "must be the account's root (no path)"),
    ({"WATCH_STORAGE": "BlobEndpoint=https://acct.blob.core.windows.net?sig=a"},
     "WATCH_STORAGE (BlobEndpoint)", "must not carry a query string or fragment"),
    ({"WATCH_STORAGE": "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5;"
                       "EndpointSuffix=core.windows.net"},
     "WATCH_STORAGE (AccountName)", "must be https"),
    ({"WATCH_STORAGE": AZURITE}, "WATCH_STORAGE (BlobEndpoint)", "allowed only with AML_ALLOW_LOCAL_TARGETS=true"),
    ({"WATCH_STORAGE": "UseDevelopmentStorage=true"}, "WATCH_STORAGE",
     "UseDevelopmentStorage=true (Azurite) only with AML_ALLOW_LOCAL_TARGETS=true"),
    ({"WATCH_STORAGE": "AccountName=Not_An_Account;AccountKey=a2V5"}, "WATCH_STORAGE (AccountName)",
     "a storage account name: 3-24 lowercase letters and digits"),
    ({"WATCH_STORAGE": "BlobEndpoint=https://acct.blob.core.windows.net"}, "WATCH_STORAGE",
     "a connection string that signs"),
    ({"WATCH_STORAGE": "not a connection string"}, "WATCH_STORAGE", "Key=Value pairs separated by ';'"),
    ({"WATCH_STORAGE": None, "WATCH_STORAGE__blobServiceUri": "https://acct.queue.core.windows.net"},
     "WATCH_STORAGE__blobServiceUri", "is the account's queue endpoint; this setting takes its blob endpoint"),
    ({"WATCH_STORAGE": None, "WATCH_STORAGE__serviceUri": "https://acct.blob.core.windows.net:8443"},
     "WATCH_STORAGE__serviceUri", "must use the default https port"),
    ({"WATCH_STORAGE": None, "WATCH_STORAGE__blobServiceUri": "https://acct.blob.core.windows.net",
      "WATCH_STORAGE__queueServiceUri": "https://evil.example"},
     "WATCH_STORAGE__queueServiceUri", "host 'evil.example' is not an Azure Storage host"),
    ({"WATCH_STORAGE": None, "WATCH_STORAGE__blobServiceUri": "https://acct.blob.core.windows.net\\@evil.example"},
     "WATCH_STORAGE__blobServiceUri", "must not contain backslashes"),
    ({"WATCH_STORAGE": None, "WATCH_STORAGE__blobServiceUri": "https://acct.blob.core.windows.net",
      "WATCH_STORAGE__credential": "connectionstring"}, "WATCH_STORAGE__credential", "managedidentity (or unset)"),
    ({"AzureWebJobsStorage": None, "AzureWebJobsStorage__accountName": "evil.example#"},
     "AzureWebJobsStorage__accountName", "a storage account name"),
    ({"STORAGE_ALLOWED_HOSTS": "data.example.com, not a host"}, "STORAGE_ALLOWED_HOSTS", "comma-separated host names"),
])
def test_a_storage_connection_that_points_elsewhere_is_a_config_error(settings, where, expected):
    problems = caught(minimal_env(**settings)).problems  # the queue endpoint, when derived too, is a second one
    assert problems[0].where == where and expected in problems[0].expected, problems
    assert all(problem.where.startswith(where.split(" ")[0]) for problem in problems)


@pytest.mark.parametrize("settings, blob_url", [
    ({"Conn": "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net"},
     "https://acct.blob.core.windows.net"),
    ({"Conn": "AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn"},
     "https://acct.blob.core.chinacloudapi.cn"),
    ({"Conn": "BlobEndpoint=https://acct.blob.core.usgovcloudapi.net/;SharedAccessSignature=?sv=1&sig=a"},
     "https://acct.blob.core.usgovcloudapi.net"),
    ({"Conn__blobServiceUri": "https://acct.z12.blob.storage.azure.net"}, "https://acct.z12.blob.storage.azure.net"),
    ({"Conn__serviceUri": "https://ACCT.blob.core.windows.net/"}, "https://acct.blob.core.windows.net"),
    ({"Conn__accountName": "acct"}, "https://acct.blob.core.windows.net"),
    ({"Conn__blobServiceUri": "https://data.example.com"}, "https://data.example.com"),
    ({"Conn": "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5"}, "https://acct.blob.core.windows.net"),
])
def test_azure_storage_hosts_of_each_cloud_and_allowed_custom_domains_are_accepted(settings, blob_url):
    rules = EndpointRules(allowed_hosts=frozenset({"data.example.com"}))
    assert storage_account(settings, "Conn", rules).blob_url == blob_url


def test_azurite_and_development_storage_need_the_local_development_flag():
    local = EndpointRules(allow_local=True)
    assert storage_account({"Conn": AZURITE}, "Conn", local).blob_url == "http://127.0.0.1:10000/devstoreaccount1"
    assert storage_account({"Conn": "UseDevelopmentStorage=true"}, "Conn", local).blob_url == \
        DEVELOPMENT_ENDPOINTS["blob"]
    with pytest.raises(StorageSettingError):
        storage_account({"Conn": AZURITE}, "Conn", EndpointRules())
    with pytest.raises(StorageSettingError) as refused:  # loopback, but not path-style: no account in the path
        storage_account({"Conn__blobServiceUri": "http://127.0.0.1:10000/a/b"}, "Conn", local)
    assert "path-style" in str(refused.value)


def test_a_storage_account_never_shows_its_key_or_sas():
    account = storage_account({"Conn": "AccountName=acct;AccountKey=S3cr3tKey=="}, "Conn", EndpointRules())
    assert "S3cr3t" not in repr(account) and "S3cr3t" not in str(account)
    assert "S3cr3t" not in json.dumps({"account": account}, default=str)  # as the CLI writes what it cannot encode
    with pytest.raises(TypeError):  # not a tuple, which JSON would write out field by field, key included
        json.dumps(account)


@pytest.mark.parametrize(("settings", "connection", "blob_url", "client_id"), [
    ({"Conn__serviceUri": "https://acct.blob.core.windows.net/", "Conn__credential": "ManagedIdentity",
      "Conn__clientId": "cid-1"}, "Conn", "https://acct.blob.core.windows.net", "cid-1"),
    ({"Conn__queueServiceUri": "https://acct.queue.core.windows.net", "Conn__accountName": "acct"}, "Conn",
     "https://acct.blob.core.windows.net", None),
    ({"Conn__blobServiceUri": "https://acct.blob.core.windows.net", "Conn__accountName": "Not A Name"}, "Conn",
     "https://acct.blob.core.windows.net", None),
    ({"Conn__accountName": "acct", "Conn__clientId": "cid-1"}, "Conn", "https://acct.blob.core.windows.net", None),
    ({"Conn__accountName": "acct", "Conn__credential": "managedidentity", "Conn__clientId": ""}, "Conn",
     "https://acct.blob.core.windows.net", None),
])
def test_identity_settings_name_the_blob_service_and_a_client_id_counts_only_beside_a_credential(
        settings, connection, blob_url, client_id):
    account = storage_account(settings, connection, EndpointRules())
    assert (account.connection, account.blob_url, account.client_id) == (connection, blob_url, client_id)


@pytest.mark.parametrize(("settings", "message"), [
    ({"Conn__queueServiceUri": "https://acct.queue.core.windows.net"}, "Conn: a storage connection (not configured)"),
    ({}, "Conn: a storage connection (not configured)"),
    ({"Conn__accountName": "Acct!"}, "Conn__accountName: a storage account name: 3-24 lowercase letters and digits "
                                     "(it names https://<name>.blob.core.windows.net)"),
    ({"Conn__accountName": "acct", "Conn__credential": "clientsecret"}, "Conn__credential: managedidentity (or unset)"),
    ({"Conn__blobServiceUri": "https://acct.queue.core.windows.net",
      "Conn__queueServiceUri": "https://acct.blob.core.windows.net"},
     "Conn__blobServiceUri: is the account's queue endpoint; this setting takes its blob endpoint; "
     "Conn__queueServiceUri: is the account's blob endpoint; this setting takes its queue endpoint"),
])
def test_identity_settings_that_cannot_be_used_are_refused_each_by_name(settings, message):
    with pytest.raises(StorageSettingError) as caught:
        storage_account(settings, "Conn", EndpointRules())
    assert str(caught.value) == message


@pytest.mark.parametrize(("url", "expected"), [
    ("https://u%40x@acct.blob.core.windows.net", "host is ambiguous (percent-encoding, or a host HTTP clients would "
                                                 "read differently)"),  # a '%' anywhere in the host part
    ("https://", "host '' is not an Azure Storage host (<account>.blob.core.windows.net, or .core.chinacloudapi.cn / "
                 ".core.usgovcloudapi.net, or <account>.zNN.blob.storage.azure.net); a custom domain must be listed "
                 "in STORAGE_ALLOWED_HOSTS"),
    ("https://acct.blob.core.windows.net#", "must not carry a query string or fragment (a SAS belongs in the "
                                            "connection string's SharedAccessSignature)"),  # an empty fragment too
])
def test_an_endpoint_with_an_unclear_host_or_an_empty_fragment_is_refused_saying_why(url, expected):
    with pytest.raises(StorageSettingError) as refused:
        storage_account({"Conn__blobServiceUri": url}, "Conn", EndpointRules())
    assert str(refused.value) == f"Conn__blobServiceUri: {expected}"


@pytest.mark.parametrize("url", ["http://[::1]:10000/devstoreaccount1", "https://127.0.0.1:10000/devstoreaccount1"])
def test_a_local_emulator_may_be_reached_over_ipv6_loopback_or_https(url):
    local = EndpointRules(allow_local=True)
    assert storage_account({"Conn__blobServiceUri": url}, "Conn", local).blob_url == url


def test_development_storage_is_azurites_well_known_account_under_the_connections_name():
    account = storage_account({"Conn": "UseDevelopmentStorage=true"}, "Conn", EndpointRules(allow_local=True))
    assert (account.connection, account.blob_url, account.account_key) == (
        "Conn", DEVELOPMENT_ENDPOINTS["blob"], DEVELOPMENT_ACCOUNT)


def test_a_connection_strings_key_and_sas_are_kept_as_written_but_a_sas_leading_question_mark():
    keyed = storage_account({"Conn": "AccountName=acct;AccountKey=a2VX;"}, "Conn", EndpointRules())
    assert (keyed.account_key, keyed.sas) == (("acct", "a2VX"), None)
    for sas, kept in (("?sv=1&sig=a", "sv=1&sig=a"), ("Xsv=1&sig=a", "Xsv=1&sig=a")):
        signed = storage_account({"Conn": f"BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature={sas}"},
                                 "Conn", EndpointRules())
        assert (signed.account_key, signed.sas) == (None, kept)


@pytest.mark.parametrize("name", ["Not_An_Account", DEVELOPMENT_ACCOUNT[1]])  # Azurite's key is no account's name
def test_an_account_name_is_checked_with_local_development_allowed_too(name):
    text = f"AccountName={name};AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1"
    with pytest.raises(StorageSettingError) as refused:
        storage_account({"Conn": text}, "Conn", EndpointRules(allow_local=True))
    assert str(refused.value) == "Conn (AccountName): a storage account name: 3-24 lowercase letters and digits"


@pytest.mark.parametrize(("settings", "account_name"), [
    ({"Conn": "AccountName=keyed;AccountKey=a2V5;BlobEndpoint=https://data.example.com"}, "keyed"),
    ({"Conn": "BlobEndpoint=https://acct.blob.core.usgovcloudapi.net/;SharedAccessSignature=sv=1&sig=a"}, "acct"),
    ({"Conn__blobServiceUri": "https://zoned.z12.blob.storage.azure.net"}, "zoned"),
    ({"Conn__blobServiceUri": "http://127.0.0.1:10000/devstoreaccount1/"}, "devstoreaccount1"),
    ({"Conn__blobServiceUri": "https://data.example.com"}, None),
])
def test_an_accounts_name_is_its_keys_its_hosts_or_the_emulators_path_and_unknown_on_a_custom_domain(
        settings, account_name):
    rules = EndpointRules(allow_local=True, allowed_hosts=frozenset({"data.example.com"}))
    assert storage_account(settings, "Conn", rules).account_name == account_name
