"""Calling the app's HTTP functions as the worker does, with a real HttpRequest, and the Event Grid events they take."""

from __future__ import annotations

import json

import azure.functions as func

from localdev.host import indexed_function


def call(function: str, method: str = "POST", body: object = None, *, raw: bytes | None = None,
         params: dict | None = None, content_type: str | None = "application/json") -> tuple[int, dict]:
    """Call HTTP function ``function`` the way the worker does; its status and its JSON body (always JSON)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    headers = {"Content-Type": content_type} if content_type is not None else {}
    request = func.HttpRequest(method=method, url=f"https://app/api/{function}", headers=headers,
                               params=params or {}, body=data)
    response = indexed_function(function).get_user_function()(request)
    assert response.mimetype == "application/json"
    return response.status_code, json.loads(response.get_body())


def event(container: str, blob: str, etag: str | None, event_type: str = "Microsoft.Storage.BlobCreated") -> dict:
    """An Event Grid BlobCreated (or ``event_type``) event for one blob, as the explain endpoint takes it."""
    return {"topic": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/devstoreaccount1",
            "subject": f"/blobServices/default/containers/{container}/blobs/{blob}", "eventType": event_type,
            "id": "1", "eventTime": "2026-11-22T02:00:00Z", "dataVersion": "", "metadataVersion": "1",
            "data": {"api": "PutBlob", "eTag": etag, "contentLength": 90, "blobType": "BlockBlob"}}
