"""A stand-in for the Azure CLI on PATH, for running the postdeploy hooks here: it records each call (argv, and
the body of a PUT) as a JSON line in ``$FAKE_AZ_CALLS`` and answers the few commands the hooks use the way az
does, from the state in ``$FAKE_AZ_STATE`` (``{"blobs_extension": <key or null>, "eventgrid_extension": <key or
null>, "resources": {path: body}, "provisioning": [state, ...]}``):

- ``functionapp keys list ... --query systemKeys.<blobs_extension|eventgrid_extension> -o tsv``: the key, or
  nothing (az prints nothing for a missing property under ``--query``) and exit 0;
- ``rest --method get --url U``: the stored resource, or ``Not Found`` on stderr and exit 1, as az rest does; with
  ``--query properties.provisioningState -o tsv`` the next of ``provisioning`` (the last one repeats), as Event Grid
  answers while it validates a new subscription's webhook (``Creating``, then ``Succeeded`` or ``Failed``);
- ``rest --method put --url U --body @FILE``: the body must be JSON; stored under U's path and echoed. An event
  subscription whose name Event Grid does not allow (3-64 letters, digits and '-': Microsoft, "Naming rules and
  restrictions for Azure resources", Microsoft.EventGrid) is refused with a 400 and exit 1, stored nothing (the
  message is this fake's own wording, not Azure's).
Anything else exits 2, so a hook calling a command the fake does not know fails its test.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

EVENT_SUBSCRIPTION_NAME = re.compile(r"[A-Za-z0-9-]{3,64}")


def _option(argv: list[str], *names: str) -> str | None:
    for index, word in enumerate(argv[:-1]):
        if word in names:
            return argv[index + 1]
    return None


def main(argv: list[str]) -> int:
    state_path = Path(os.environ["FAKE_AZ_STATE"])
    state = json.loads(state_path.read_text(encoding="utf-8"))
    call: dict[str, object] = {"argv": argv}
    code = _answer(argv, state, call)
    with open(os.environ["FAKE_AZ_CALLS"], "a", encoding="utf-8") as calls:
        calls.write(json.dumps(call) + "\n")
    state_path.write_text(json.dumps(state), encoding="utf-8")
    return code


def _answer(argv: list[str], state: dict, call: dict[str, object]) -> int:
    query = _option(argv, "--query") or ""
    if argv[:3] == ["functionapp", "keys", "list"] and query in ("systemKeys.blobs_extension",
                                                                 "systemKeys.eventgrid_extension"):
        key = state.get(query.removeprefix("systemKeys."))
        if key:
            print(key)
        return 0
    if argv[:1] == ["rest"]:
        method, url = _option(argv, "--method", "-m"), _option(argv, "--url", "-u")
        path = urlsplit(url or "").path
        if method == "get":
            if path not in state["resources"]:
                print(f"Not Found({{\"error\":{{\"code\":\"ResourceNotFound\",\"message\":\"{path}\"}}}})",
                      file=sys.stderr)
                return 1
            if query == "properties.provisioningState":
                states = state["provisioning"]
                print(states.pop(0) if len(states) > 1 else states[0])
                return 0
            print(json.dumps(state["resources"][path]))
            return 0
        if method == "put":
            _, found, subscription = path.rpartition("/eventSubscriptions/")
            if found and not EVENT_SUBSCRIPTION_NAME.fullmatch(subscription):
                print(f"Bad Request({{\"error\":{{\"code\":\"InvalidRequest\",\"message\":\"(fake az) event "
                      f"subscription name {subscription!r}: 3-64 letters, digits and '-'\"}}}})", file=sys.stderr)
                return 1
            body_arg = _option(argv, "--body", "-b") or ""
            body = json.loads(Path(body_arg[1:]).read_text(encoding="utf-8") if body_arg.startswith("@") else body_arg)
            call["body"] = body
            state["resources"][path] = body
            if _option(argv, "--output", "-o") != "none":
                print(json.dumps(body))
            return 0
    print(f"fake az: unknown command {argv}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
