"""HTTP functions (function-key auth): start a run, explain, list and retry records, backfill, health (JSON in and out);
the status page (HTML)."""

import json
import os
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

import azure.functions as func

from shared.clients.common.clock import SYSTEM_CLOCK
from shared.clients.process.services import process_services

if TYPE_CHECKING:
    from shared.core.ledger.decisions import Decision
    from shared.operations.http.http_api import Answer

# The operations below (and the manual-run flow under them) are imported in their handlers, on the first HTTP
# call: the blob trigger's cold start does not pay for them (docs/benchmarks.md).

bp = func.Blueprint()


def _respond(result: "Answer") -> func.HttpResponse:
    status, payload = result
    return func.HttpResponse(json.dumps(payload, ensure_ascii=False), status_code=status,
                             mimetype="application/json", charset="utf-8")


def _body(req: func.HttpRequest, route: str, schema: dict, required: tuple[str, ...] = ()) -> dict:
    from shared.operations.http.http_api import json_body

    return json_body(req.get_body(), req.headers.get("Content-Type"), schema, required,
                     source=f"{req.method} /api/{route} body")


def _starts_a_run(req: func.HttpRequest, route: str, operation: Callable[..., "Decision"], schema: dict,
                  required: tuple[str, ...]) -> func.HttpResponse:
    """An operation that may POST to Azure ML, bounded by the HTTP deadline: 202 beats the front end's 230 s."""
    from shared.flows.manual.manual_runs import http_deadline
    from shared.operations.http.http_api import answer, decision_answer

    def run() -> "Answer":
        services = process_services()
        return decision_answer(operation(services, deadline=http_deadline(services),
                                         **_body(req, route, schema, required)))

    return _respond(answer(run))


@bp.function_name("http_start_run")
@bp.route(route="runs", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def start_run(req: func.HttpRequest) -> func.HttpResponse:
    from shared.flows.manual.manual_runs import start_run as start_manual_run
    from shared.operations.http.http_api import START_SCHEMA

    return _starts_a_run(req, "runs", start_manual_run, START_SCHEMA, ("rule",))


@bp.function_name("http_list_runs")
@bp.route(route="runs", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def list_runs(req: func.HttpRequest) -> func.HttpResponse:
    from shared.operations.http.http_api import answer, runs_query
    from shared.operations.http.records import list_runs as list_records

    return _respond(answer(lambda: (200, list_records(process_services(), **runs_query(dict(req.params))).to_json())))


@bp.function_name("http_retry_run")
@bp.route(route="runs/retry", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def retry_run(req: func.HttpRequest) -> func.HttpResponse:
    from shared.operations.http.http_api import RETRY_SCHEMA
    from shared.operations.http.records import retry as retry_record

    return _starts_a_run(req, "runs/retry", retry_record, RETRY_SCHEMA, ("record",))


@bp.function_name("http_explain")
@bp.route(route="explain", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def explain(req: func.HttpRequest) -> func.HttpResponse:
    from shared.operations.http.explain import explain as explain_blob
    from shared.operations.http.http_api import EXPLAIN_SCHEMA, answer

    def explained() -> "Answer":
        body = _body(req, "explain", EXPLAIN_SCHEMA)
        events = body.get("event")
        if isinstance(events, list):  # Event Grid delivers arrays: explain each
            return 200, {"events": [explain_blob(process_services(), event=event) for event in events]}
        return 200, explain_blob(process_services(), blob=body.get("blob"), event=events)

    return _respond(answer(explained))


@bp.function_name("http_backfill")
@bp.route(route="backfill", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
def backfill(req: func.HttpRequest) -> func.HttpResponse:
    """A dry run unless ``run`` is true; bounded by the HTTP deadline: send it again to continue."""
    from shared.operations.backfill.backfill import BACKFILL_SCHEMA, backfill_answer
    from shared.operations.http.http_api import answer
    return _respond(answer(lambda: backfill_answer(process_services(), _body(req, "backfill", BACKFILL_SCHEMA,
                                                                             ("rule", "since", "until")))))


@bp.function_name("http_health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def health(req: func.HttpRequest) -> func.HttpResponse:
    from shared.operations.http.health import health as health_report

    healthy, report = health_report(os.environ)
    return _respond((200 if healthy else 503, report))


@bp.function_name("http_status_page")
@bp.route(route="status", methods=["GET", "POST"], auth_level=func.AuthLevel.FUNCTION)
def status_page(req: func.HttpRequest) -> func.HttpResponse:
    """The HTML status page; imported here, on its first request, so other functions' cold start is unchanged."""
    from shared.operations.status import status_page as status

    shown = status.respond(
        status.PageRequest(method=req.method, url=req.url, params=dict(req.params), body=req.get_body(),
                           cookie=req.headers.get("Cookie")),
        env=os.environ, services=process_services, now=SYSTEM_CLOCK.now(), new_session=lambda: secrets.token_hex(16))
    return func.HttpResponse(shown.body, status_code=shown.status, headers=shown.headers, mimetype="text/html",
                             charset="utf-8")
