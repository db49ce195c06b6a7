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
  restrictions for Azure resources", Microsoft.EventGrid) is refused with a 400 (``ERROR: Bad Request(...)`` on
  stderr, as az prints an error) and exit 1, stored nothing (the message is this fake's own wording, not Azure's).
  With ``--debug``, stderr also carries the response's headers as azure-cli logs them (``send_raw_request``'s
  ``_log_response``), among them Event Grid's ``Azure-AsyncOperation``: the put's operation,
  ``.../providers/Microsoft.EventGrid/locations/<region>/operationsStatus/<id>``;
- ``rest --method get --url <that operation>``: its status as Event Grid answers it, ``{id, name, status, error}``:
  ``InProgress`` while ``provisioning``'s last state is not final, then that state; when ``Failed``, the error
  Event Grid gives for a webhook that fails validation (``Url validation``, "Webhook validation handshake failed
  for <endpoint without its query>. Http POST request failed with response code Unknown. ...", Azure's wording
  as observed in MicrosoftDocs/azure-docs#107285 and Azure/azure-cli#21006, typo included); with
  ``--query error.message -o tsv`` only that message.
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
OPERATION = "00000000-0000-4000-8000-00000000a51c"  # the put's asynchronous operation, one id is enough here
FINAL_STATES = ("Succeeded", "Failed", "Canceled")


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
            if "/operationsStatus/" in path:
                return _operation_status(url or "", state, query)
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
                print(f"ERROR: Bad Request({{\"error\":{{\"code\":\"InvalidRequest\",\"message\":\"(fake az) event "
                      f"subscription name {subscription!r}: 3-64 letters, digits and '-'\"}}}})", file=sys.stderr)
                return 1
            body_arg = _option(argv, "--body", "-b") or ""
            body = json.loads(Path(body_arg[1:]).read_text(encoding="utf-8") if body_arg.startswith("@") else body_arg)
            call["body"] = body
            state["resources"][path] = body
            if "--debug" in argv:
                _log_response_headers(path, body, state)
            if _option(argv, "--output", "-o") != "none":
                print(json.dumps(body))
            return 0
    print(f"fake az: unknown command {argv}", file=sys.stderr)
    return 2


def _log_response_headers(path: str, body: dict, state: dict) -> None:
    """The headers of a put's answer on stderr, as ``az rest --debug`` logs them; the put's endpoint is kept for
    the operation's error."""
    subscription = path.split("/")[2]
    operation = (f"https://management.azure.com:443/subscriptions/{subscription}/providers/Microsoft.EventGrid/"
                 f"locations/eastus/operationsStatus/{OPERATION.upper()}?api-version=2025-02-15")
    state["endpoint"] = body["properties"]["destination"]["properties"]["endpointUrl"]
    print("INFO: cli.azure.cli.core.util: Response status: 201", file=sys.stderr)
    print("INFO: cli.azure.cli.core.util: Response headers:", file=sys.stderr)
    for header, value in (("Cache-Control", "no-cache"), ("Azure-AsyncOperation", operation),
                          ("x-ms-request-id", OPERATION)):
        print(f"INFO: cli.azure.cli.core.util:     {header!r}: {value!r}", file=sys.stderr)


def _operation_status(url: str, state: dict, query: str) -> int:
    final = state["provisioning"][-1]
    error = None
    if final == "Failed":
        endpoint = state["endpoint"].partition("?")[0]
        error = {"code": "Url validation", "message": (
            f"Webhook validation handshake failed for {endpoint}. Http POST request failed with response code "
            f"Unknown. For troublehooting, visit https://aka.ms/esvalidation. Activity id:{OPERATION}, "
            "timestamp: 12/7/2026 6:00:00 AM (UTC).")}
    if query == "error.message":
        if error:
            print(error["message"])
        return 0
    status = {"id": url.replace(":443", ""), "name": OPERATION,
              "status": final if final in FINAL_STATES else "InProgress"}
    print(json.dumps({**status, "error": error} if error else status))
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
