"""Idempotency keys: one per blob version, stable across processes, safe in any storage name."""

from __future__ import annotations

import hashlib


def normalize_etag(etag: str) -> str:
    """ETags arrive quoted from the storage SDK and bare from Event Grid; keys use the bare form."""
    return etag.strip().strip('"')


def blob_version_key(container: str, blob_name: str, etag: str) -> str:
    """The key of one blob version: container + blob name + ETag, hashed so any blob name fits."""
    material = "\n".join(("blob", container, blob_name, normalize_etag(etag)))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()
