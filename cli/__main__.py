"""python -m cli: submit, explain, sweep, runs, blobs, watch, backfill, health, import, over the code the Functions run.

Settings come from the environment, or from a local.settings.json-style file (--settings), the way `func start`
reads them; the environment wins where both set a value.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from azure.core.exceptions import AzureError

from cli import backfill as cli_backfill
from cli import imports as cli_imports
from shared.clients.process.services import Services, build_services
from shared.core.common.errors import InvalidInput, NotJson, OperationError, Pending, TriggerError, UnreadableJson
from shared.core.common.json_input import EVENT_FILE, SETTING, SETTINGS_FILE, read_json, read_json_file
from shared.core.config.problems import ConfigError
from shared.core.ledger.decisions import Decision, Outcome
from shared.core.ledger.ledger_record import RunState
from shared.flows.manual.manual_runs import start_run
from shared.flows.sweep.sweep import SweepReport, sweep
from shared.operations.http.explain import explain
from shared.operations.http.health import health
from shared.operations.http.http_api import error_body
from shared.operations.http.records import (
    MAX_LIST_LIMIT,
    RUN_STATUSES,
    follow,
    list_limit,
    list_runs,
    moment,
    stamped_blobs,
)

EXIT_CODES: dict[type[Exception], int] = {Pending: 3, TriggerError: 1, AzureError: 1}
"""The one place an error becomes an exit code: its nearest class here. 3: ``submit`` still failing for now (the
JSON on stdout names the open record, which the sweep finishes); 1: refused, failed or misconfigured (the reason
on stderr); 1 for any other error too. (0 is done; 2 is argparse's, for bad arguments.)"""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.settings:  # into the process environment: the Azure SDKs read their own settings from there
        for name, value in settings_file(args.settings).items():
            os.environ.setdefault(name, value)
    env = dict(os.environ)
    if args.command == "health":
        healthy, report = health(env)
        _print_json(report)
        return 0 if healthy else 1
    if args.command == "import":  # before the app's own configuration exists: settings and identity only
        try:
            code: int = args.run(env, args)
            return code
        except TriggerError as error:  # one line: the reason, never a traceback
            _print_json(error_body(error), file=sys.stderr, indent=None)
            return exit_code(error)
    try:
        services = build_services(env)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    try:
        return _run(args, services)
    except (TriggerError, AzureError) as error:  # said on stderr, except a pending run's JSON: submit's result
        _print_json(error_body(error), file=sys.stdout if isinstance(error, Pending) else sys.stderr)
        return exit_code(error)


def exit_code(error: Exception) -> int:
    return next((EXIT_CODES[kind] for kind in type(error).__mro__ if kind in EXIT_CODES), 1)


def _run(args: argparse.Namespace, services: Services) -> int:
    try:
        code: int = args.run(services, args)
        return code
    except (OSError, ValueError) as error:  # an unreadable or invalid --event file
        raise InvalidInput(str(error)) from None


def _submit(services: Services, args: argparse.Namespace) -> int:
    decision = start_run(services, rule=args.rule, blob=args.blob, experiment=args.experiment,
                                    parameters=dict(args.param) if args.param else None,
                                    request_id=args.request_id, rerun=args.rerun)
    return _print_decision(decision)


def _explain(services: Services, args: argparse.Namespace) -> int:
    if args.event:
        events = read_json_file(Path(args.event), source=f"--event {args.event}", limits=EVENT_FILE)
        for event in events if isinstance(events, list) else [events]:
            _print_json(explain(services, event=event))
    else:
        _print_json(explain(services, blob=args.blob))
    return 0


def _sweep(services: Services, args: argparse.Namespace) -> int:
    report = sweep(services, max_blobs=args.max, progress=_progress_every(args.progress_every),
                   since=moment(args.since, "--since"))
    _print_sweep(report)
    return 0 if not report.errors else 1


def _watch(services: Services, args: argparse.Namespace) -> int:
    """Sweep every --interval seconds: the polling mode, for places without Event Grid."""
    done = 0
    while args.iterations is None or done < args.iterations:
        _print_sweep(sweep(services, max_blobs=args.max, progress=_progress_every(args.progress_every)))
        done += 1
        if args.iterations is None or done < args.iterations:
            services.clock.sleep(args.interval)
    return 0


def _runs(services: Services, args: argparse.Namespace) -> int:
    if args.follow:
        for run in follow(services, args.follow):
            if args.json:
                _print_json(run)
            else:
                print(_run_line(run), flush=True)
        return 0
    listed = list_runs(services, rule=args.rule, schedule=args.schedule, state=args.state, run_status=args.run_status,
                       since=args.since, until=args.until, limit=args.limit, blob=args.blob, etag=args.etag)
    if args.json:
        _print_json(listed.runs)
        return 0
    print(f"{'updated':<25} {'state':<10} {'run status':<14} {'duration':>9} {'run id':<38} record")
    for run in listed.runs:
        print(_run_line(run))
    count = len(listed.runs)
    as_of = "" if listed.index is None else f"; {listed.index.note(services.config)}"
    print(f"{count} record{'s' * (count != 1)}{as_of}")
    return 0


def _blobs(services: Services, args: argparse.Namespace) -> int:
    for found in stamped_blobs(services, rule=args.rule, state=args.state):
        print(f"{found['stamp']:<60} {found['blob']}")
    return 0


def _run_line(run: dict[str, Any]) -> str:
    """One record as ``runs`` prints it: its state, its run's status and duration in Azure ML, what it is about."""
    subject = run.get("subject", {})
    what = subject.get("blob") or subject.get("occurrence") or subject.get("request_id") or ""
    outcome = run.get("run") or {}
    duration = outcome.get("duration_seconds")
    shown = "-" if duration is None else f"{duration:.0f}s"
    error = (outcome.get("error") or {}).get("message") or run.get("reason", "")
    return (f"{run.get('updated_at', ''):<25} {run['state']:<10} {outcome.get('status', '-'):<14} {shown:>9} "
            f"{run.get('run_id', '-'):<38} {run['record']}  {what}  {error}").rstrip()


def _print_decision(decision: Decision) -> int:
    _print_json(decision.fields())
    return 0 if decision.outcome in (Outcome.SUBMITTED, Outcome.DUPLICATE) else 1


def _print_sweep(report: SweepReport) -> None:
    outcomes = ", ".join(f"{count} {outcome}" for outcome, count in sorted(report.outcomes.items())) or "nothing"
    print(f"sweep {report.started_at}: listed {report.blobs_listed} blobs and {report.records_listed} records in "
          f"{report.listing_pages} listing pages; {report.missing} missing; processed {report.processed}: "
          f"{outcomes}; {report.left_for_next_sweep} left for the next sweep", flush=True)
    for error in report.errors:
        print(f"  failed for now: {error}", file=sys.stderr)


def _progress_every(step: int) -> Callable[[int, int], None]:
    def progress(done: int, total: int) -> None:
        if done % step == 0 or done == total:
            print(f"  processed {done}/{total}", file=sys.stderr, flush=True)
    return progress


def _print_json(value: Any, file: TextIO | None = None, indent: int | None = 2) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=indent, default=str), file=file)


def settings_file(path: str) -> dict[str, str]:
    try:
        values = read_json_file(Path(path), source=path, limits=SETTINGS_FILE).get("Values", {})
    except (OSError, UnreadableJson, AttributeError) as error:
        raise SystemExit(f"--settings {path}: not a readable local.settings.json-style file ({error})") from None
    if not isinstance(values, dict):
        raise SystemExit(f"--settings {path}: \"Values\" must be an object of settings")
    return {name: str(value) for name, value in values.items()}


def _positive(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number >= 1")
    return int(text)


def _limit(text: str) -> int:
    try:
        return list_limit(text)
    except OperationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parameter(text: str) -> tuple[str, Any]:
    """NAME=VALUE; VALUE is read as JSON when it is JSON (3, 0.1, true, "3"), else taken as text."""
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE")
    try:
        return name, read_json(value, source=f"--param {name}", limits=SETTING)
    except NotJson:
        return name, value
    except UnreadableJson as error:  # JSON, but too deep, too long or not finite: not quietly sent as text
        raise argparse.ArgumentTypeError(str(error)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cli", description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", metavar="FILE", help="read app settings from a local.settings.json-style file")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    submit = commands.add_parser(
        "submit", help="start a run for a rule now, as an event would (same ledger); exit 3: failing for now, "
                       "the sweep finishes it")
    submit.add_argument("rule")
    submit.add_argument("--blob", help="blob path in the watched container to pass as the run's data")
    submit.add_argument("--experiment", help="override the rule's experiment")
    submit.add_argument("--param", action="append", type=_parameter, metavar="NAME=VALUE",
                        help="override a parameter (repeatable; VALUE as JSON when it parses: 3, true, \"3\")")
    submit.add_argument("--request-id", help="idempotency id: the same id never starts a second run")
    submit.add_argument("--rerun", action="store_true",
                        help="a deliberate extra run of --blob, even if its version already had its run")
    submit.set_defaults(run=_submit)

    explain = commands.add_parser("explain", help="which rules a blob or BlobCreated event matches; sends nothing")
    target = explain.add_mutually_exclusive_group(required=True)
    target.add_argument("--blob", help="blob path in the watched container")
    target.add_argument("--event", metavar="FILE", help="a JSON file with an Event Grid event (or a list of them)")
    explain.set_defaults(run=_explain)

    for name, help_text, run in (("sweep", "submit every watched blob version the ledger has no record of", _sweep),
                                 ("watch", "sweep every --interval seconds (polling, without Event Grid)", _watch)):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--max", type=_positive, default=1000, help="at most this many blob versions a sweep")
        command.add_argument("--progress-every", type=_positive, default=10, metavar="N",
                             help="report progress every N")
        if name == "sweep":
            command.add_argument("--since", metavar="TIME", help="also run what a disabled rule recorded as skipped "
                                 "from this ISO 8601 time on (after turning it back on)")
        if name == "watch":
            command.add_argument("--interval", type=float, default=300, help="seconds between sweeps (300)")
            command.add_argument("--iterations", type=_positive, help="stop after this many sweeps")
        command.set_defaults(run=run)

    runs = commands.add_parser("runs", help="list trigger records, newest first")
    which = runs.add_mutually_exclusive_group()
    which.add_argument("--rule")
    which.add_argument("--schedule")
    runs.add_argument("--state", choices=[state.value for state in RunState])
    runs.add_argument("--run-status", choices=RUN_STATUSES, help="the run's status in Azure ML")
    runs.add_argument("--follow", metavar="RECORD", help="show one record's run until it ends in Azure ML")
    runs.add_argument("--since", help="ISO 8601 time")
    runs.add_argument("--until", help="ISO 8601 time")
    runs.add_argument("--blob", metavar="PATH", help="the records of this blob's current version (a file -> its runs)")
    runs.add_argument("--etag", help="with --blob: the records of the version with this ETag instead")
    runs.add_argument("--limit", type=_limit, default=50, help=f"1 to {MAX_LIST_LIMIT} (50)")
    runs.add_argument("--json", action="store_true", help="print the records as JSON")
    runs.set_defaults(run=_runs)

    blobs = commands.add_parser("blobs", help="the watched blobs a rule stamped, found by their index tags")
    blobs.add_argument("--rule", required=True)
    blobs.add_argument("--state", choices=[state.value for state in RunState])
    blobs.set_defaults(run=_blobs)

    cli_backfill.add_parser(commands, _positive)
    cli_backfill.add_replay_parser(commands)
    commands.add_parser("health", help="configuration, storage and tokens; exit 1 when anything is wrong")
    cli_imports.add_parser(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
