"""Where Azurite answers, as the request counters of localdev.http_counter key it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit


def storage_netloc(azurite) -> str:
    endpoint = re.search(r"BlobEndpoint=([^;]+)", azurite.connection_string)[1]
    return urlsplit(endpoint).netloc
