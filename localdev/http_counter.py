"""Count the HTTP requests this process sends, per host:port: how many round trips an operation really costs.

azure-core's transport and the app's own calls both go through requests' HTTPAdapter, so one patch sees all.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter


@contextmanager
def counting_requests() -> Iterator[Counter]:
    """Within the block, a Counter of requests by ``host:port`` (and by ``METHOD host:port``)."""
    counts: Counter = Counter()
    lock = threading.Lock()
    original = HTTPAdapter.send

    def send(adapter, request, *args, **kwargs):
        netloc = urlsplit(request.url).netloc
        with lock:
            counts[netloc] += 1
            counts[f"{request.method} {netloc}"] += 1
        return original(adapter, request, *args, **kwargs)

    HTTPAdapter.send = send
    try:
        yield counts
    finally:
        HTTPAdapter.send = original
