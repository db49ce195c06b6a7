"""Each refusal of a storage connection in full (setting, value, what it must be), each accepted one whole (where it
signs and how), and STORAGE_ALLOWED_HOSTS read, in process (shared/core/storage/storage_endpoints.py)."""

from __future__ import annotations

import pytest

from shared.core.storage.storage_endpoints import (
    DEVELOPMENT_ACCOUNT,
    EndpointRules,
    StorageAccount,
    StorageSettingError,
    allowed_hosts,
    storage_account,
)

pytestmark = pytest.mark.unit

SIGNS = ("a connection string that signs: AccountName with AccountKey, or SharedAccessSignature (or use managed "
         "identity settings)")
KEYED = ";AccountName=acct;AccountKey=k"
LOCAL = "a local emulator endpoint: http://127.0.0.1:<port>/<account> (path-style, as Azurite serves)"
CHARACTERS = "must not contain backslashes, spaces or control characters"


def problems(env: dict[str, str], *, allow_local: bool = False) -> list[tuple[str, str | None, str]]:
    with pytest.raises(StorageSettingError) as refused:
        storage_account(env, "Conn", EndpointRules(allow_local=allow_local))
    return refused.value.problems


@pytest.mark.parametrize(("endpoint", "expected"), [
    ("https://acct.blob.core.windows.net\\x", CHARACTERS),
    ("https://acct.blob.core.windows.net/ x", CHARACTERS),
    ("https://acct.blob.core.windows.net/\x7f", CHARACTERS),
    ("https://acct\x1f.blob.core.windows.net", CHARACTERS),
    ("https://[::1", "not a URL: expected https://<account>.blob.core.windows.net"),
    ("https://acct%2eblob.core.windows.net",
     "host is ambiguous (percent-encoding, or a host HTTP clients would read differently)"),
    ("https://u@acct.blob.core.windows.net", "must not carry user info"),
    ("https://acct.blob.core.windows.net?",
     "must not carry a query string or fragment (a SAS belongs in the connection string's SharedAccessSignature)"),
    ("https://acct.blob.core.windows.net#f",
     "must not carry a query string or fragment (a SAS belongs in the connection string's SharedAccessSignature)"),
    ("http://acct.blob.core.windows.net", "must be https (http and loopback hosts such as Azurite are allowed only "
                                          "with AML_ALLOW_LOCAL_TARGETS=true, for local development)"),
    ("https://acct.blob.core.windows.net/c", "must be the account's root (no path): "
                                             "https://<account>.blob.core.windows.net"),
    ("https://acct.blob.core.windows.net:444", "must use the default https port"),
    ("https://evil.example", "host 'evil.example' is not an Azure Storage host (<account>.blob.core.windows.net, or "
                             ".core.chinacloudapi.cn / .core.usgovcloudapi.net, or <account>.zNN.blob.storage.azure"
                             ".net); a custom domain must be listed in STORAGE_ALLOWED_HOSTS"),
    ("https://acct.file.core.windows.net", "is the account's file endpoint; this setting takes its blob endpoint"),
])
def test_a_blob_endpoint_that_cannot_be_used_is_refused_saying_why_in_full(endpoint, expected):
    assert problems({"Conn": f"BlobEndpoint={endpoint}{KEYED}"}) == [("Conn (BlobEndpoint)", endpoint, expected)]


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:10000/a/b", "ftp://127.0.0.1:10000/acct",
                                      "http://127.0.0.1:10000/"])
def test_a_local_endpoint_is_path_style_http_or_https_only(endpoint):
    connection = f"BlobEndpoint={endpoint};AccountName=devstoreaccount1;AccountKey=k"
    assert problems({"Conn": connection}, allow_local=True) == [("Conn (BlobEndpoint)", endpoint, LOCAL)]


@pytest.mark.parametrize(("connection", "expected"), [
    ("UseDevelopmentStorage=true", [("Conn", "UseDevelopmentStorage=true", "UseDevelopmentStorage=true (Azurite) "
                                     "only with AML_ALLOW_LOCAL_TARGETS=true, for local development")]),
    ("AccountName=Not_An_Account;AccountKey=k",
     [("Conn (AccountName)", "Not_An_Account", "a storage account name: 3-24 lowercase letters and digits")]),
    ("AccountKey=k", [("Conn", "AccountKey=k",
                       "a connection string with AccountName (and EndpointSuffix) or BlobEndpoint")]),
    ("BlobEndpoint=https://acct.blob.core.windows.net", [("Conn", "BlobEndpoint=https://acct.blob.core.windows.net",
                                                          SIGNS)]),
    ("AccountName=acct;AccountKey=", [("Conn", "AccountName=acct;AccountKey=", SIGNS)]),
    ("a=b;c", [("Conn", "a=b;c", "a connection string of Key=Value pairs separated by ';'")]),
    ("AccountName=acct;AccountKey=k;QueueEndpoint=https://acct.blob.core.windows.net",
     [("Conn (QueueEndpoint)", "https://acct.blob.core.windows.net",
       "is the account's blob endpoint; this setting takes its queue endpoint")]),
    ("AccountName=acct;AccountKey=k;EndpointSuffix=core.windows.net;DefaultEndpointsProtocol=http",
     [("Conn (AccountName)", "http://acct.blob.core.windows.net", "must be https (http and loopback hosts such as "
       "Azurite are allowed only with AML_ALLOW_LOCAL_TARGETS=true, for local development)"),
      ("Conn (AccountName)", "http://acct.queue.core.windows.net", "must be https (http and loopback hosts such as "
       "Azurite are allowed only with AML_ALLOW_LOCAL_TARGETS=true, for local development)")]),
])
def test_a_connection_string_that_cannot_be_used_is_refused_naming_the_part(connection, expected):
    assert problems({"Conn": connection}) == expected


@pytest.mark.parametrize(("connection", "account"), [
    ("AccountName=acct;AccountKey=k", StorageAccount("Conn", "https://acct.blob.core.windows.net",
                                                     account_key=("acct", "k"))),
    (" accountname = acct ; accountkey = k= ;", StorageAccount("Conn", "https://acct.blob.core.windows.net",
                                                               account_key=("acct", "k="))),
    ("BlobEndpoint=https://ACCT.blob.core.windows.net/;SharedAccessSignature=?sv=1&sig=a",
     StorageAccount("Conn", "https://acct.blob.core.windows.net", sas="sv=1&sig=a")),
    ("AccountName=acct;AccountKey=k;SharedAccessSignature=sig=a",
     StorageAccount("Conn", "https://acct.blob.core.windows.net", account_key=("acct", "k"))),
    ("AccountName=acct;SharedAccessSignature=sig=a;EndpointSuffix=core.usgovcloudapi.net",
     StorageAccount("Conn", "https://acct.blob.core.usgovcloudapi.net", sas="sig=a")),
])
def test_an_accepted_connection_string_signs_with_its_key_else_its_sas(connection, account):
    found = storage_account({"Conn": connection}, "Conn", EndpointRules())
    assert (found, found.account_key, found.sas, found.client_id) == (account, account.account_key, account.sas,
                                                                       None)


def test_development_storage_is_azurites_well_known_account_with_the_local_flag():
    found = storage_account({"Conn": "UseDevelopmentStorage=TRUE"}, "Conn", EndpointRules(allow_local=True))
    assert (found.blob_url, found.account_key) == ("http://127.0.0.1:10000/devstoreaccount1", DEVELOPMENT_ACCOUNT)


def test_azurites_account_name_is_taken_only_with_the_local_flag():
    connection = "AccountName=devstoreaccount1;AccountKey=k;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1"
    found = storage_account({"Conn": connection}, "Conn", EndpointRules(allow_local=True))
    assert (found.blob_url, found.account_key) == ("http://127.0.0.1:10000/devstoreaccount1", ("devstoreaccount1", "k"))


def test_identity_settings_take_the_blob_service_before_the_account_name():
    env = {"Conn__serviceUri": "https://one.blob.core.windows.net", "Conn__blobServiceUri":
           "https://two.blob.core.windows.net", "Conn__accountName": "three"}
    assert storage_account(env, "Conn", EndpointRules()).blob_url == "https://two.blob.core.windows.net"


def test_every_identity_setting_that_cannot_be_used_is_refused_together():
    assert problems({"Conn__blobServiceUri": "https://evil.example", "Conn__credential": "secret"}) == [
        ("Conn__blobServiceUri", "https://evil.example", "host 'evil.example' is not an Azure Storage host "
         "(<account>.blob.core.windows.net, or .core.chinacloudapi.cn / .core.usgovcloudapi.net, or "
         "<account>.zNN.blob.storage.azure.net); a custom domain must be listed in STORAGE_ALLOWED_HOSTS"),
        ("Conn__credential", "secret", "managedidentity (or unset)")]


def test_the_message_joins_each_setting_with_what_it_must_be():
    with pytest.raises(StorageSettingError) as refused:
        storage_account({"Conn": "a=b;c"}, "Conn", EndpointRules())
    assert str(refused.value) == "Conn: a connection string of Key=Value pairs separated by ';'"


@pytest.mark.parametrize(("raw", "hosts", "wrong"), [
    ("Data.Example.com,b.example.org , ,", {"data.example.com", "b.example.org"}, []),
    ("data.example.com, not a host,localhost", {"data.example.com"}, ["not a host", "localhost"]),
    (None, set(), []),
    ("a" * 64 + ".com", set(), ["a" * 64 + ".com"]),
])
def test_storage_allowed_hosts_is_comma_separated_host_names(raw, hosts, wrong):
    assert allowed_hosts(raw) == (frozenset(hosts), wrong)
