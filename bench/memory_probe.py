"""One fresh process handling one blob event; prints how much its peak RSS grew (python -m bench.memory_probe)."""

import json
import resource
import sys

from localdev.host import deliver_blob


def peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


if __name__ == "__main__":
    container, blob = sys.argv[1], sys.argv[2]
    deliver_blob(container, "warm.csv")  # imports, clients, token: everything but the event itself
    before = peak_kib()
    deliver_blob(container, blob)
    print(json.dumps({"growth_kib": peak_kib() - before}))
