"""Keep the local stand-ins up on the fixed ports local.settings.sample.json names, for `func start` by hand.

Azurite on its default ports (so ``UseDevelopmentStorage=true`` works), the Azure ML stand-in on 8765 and the
managed-identity endpoint on 8766. Stop with Ctrl-C. Run it with ``./dev serve``.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import ExitStack

from localdev.aml_standin import AmlStandIn
from localdev.azurite import Azurite
from localdev.identity_endpoint import TOKEN_PATH, IdentityEndpoint

AML_PORT, IDENTITY_PORT = 8765, 8766
IDENTITY_HEADER = "local-development-only"
"""The local endpoint's shared header; it guards nothing of value (tokens are unsigned and local)."""


def main() -> int:
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ExitStack() as stack:
        stack.enter_context(Azurite({"blob": 10000, "queue": 10001, "table": 10002}))
        aml = stack.enter_context(AmlStandIn(announce=True, port=AML_PORT))
        identity = stack.enter_context(IdentityEndpoint(port=IDENTITY_PORT, secret=IDENTITY_HEADER))
        print("Azurite on 127.0.0.1:10000-10002 (UseDevelopmentStorage=true), in memory")
        print(f"Azure ML stand-in: {aml.published_pipeline_url()}")
        print(f"identity endpoint: IDENTITY_ENDPOINT={identity.url}{TOKEN_PATH} IDENTITY_HEADER={IDENTITY_HEADER}")
        print("Copy local.settings.sample.json to local.settings.json, run `func start`, upload a CSV to "
              "training-data/incoming/. Ctrl-C stops everything.", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
