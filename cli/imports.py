"""python -m cli import logic-app | v1-schedules: move over from a Logic App or SDK v1 schedules.

They need the app's settings (WATCH_CONTAINER, AML_ALLOW_LOCAL_TARGETS, the identity) but no rules yet: the rules
file is what they write.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cli.migrate import imports
from cli.migrate.import_v1_schedules import STATUS_DIGITS
from cli.migrate.v1_schedules import DISABLED, V1ScheduleClient
from shared.clients.common.auth import TokenProvider, build_credential
from shared.core.aml.workspace_discovery import DEFAULT_ARM_ENDPOINT
from shared.core.common.errors import InvalidInput
from shared.core.config import settings


def add_parser(commands: Any) -> None:
    command = commands.add_parser("import", help="write a rules file from a Logic App or SDK v1 schedules, with a "
                                                 "parity check of each imported request")
    kinds = command.add_subparsers(dest="kind", required=True, metavar="SOURCE")

    logic_app = kinds.add_parser("logic-app", help="a Logic App workflow (code view, az logic workflow show, or an "
                                                   "ARM template)")
    logic_app.add_argument("workflow", metavar="WORKFLOW.json")
    logic_app.add_argument("--name", help="the rule's name (default: the workflow's)")
    logic_app.add_argument("--keep-logic-app-value", action="store_true",
                           help="send RelativePath as the Logic App did (the file name alone, for a folder)")
    _common(logic_app)
    logic_app.set_defaults(run=_logic_app)

    v1 = kinds.add_parser("v1-schedules", help="SDK v1 schedules, from a file or live from the workspace; "
                                               "--disable ... --yes disables them (the cut-over)")
    where = v1.add_mutually_exclusive_group(required=True)
    where.add_argument("--workspace", metavar="RESOURCE_ID",
                       help="the workspace's resource id, /subscriptions/<sub>/resourceGroups/<rg>/providers/"
                            "Microsoft.MachineLearningServices/workspaces/<name>: its regional host is found as "
                            "the SDK finds it (ARM, then the workspace's discovery document)")
    where.add_argument("--workspace-url", metavar="URL",
                       help="or its v1 API URL: https://<region>.api.azureml.ms/pipelines/v1.0/subscriptions/<sub>"
                            "/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<name>")
    v1.add_argument("--arm-endpoint", default=DEFAULT_ARM_ENDPOINT, metavar="URL",
                    help=f"ARM, for --workspace (default {DEFAULT_ARM_ENDPOINT}; another cloud's ARM endpoint)")
    v1.add_argument("--file", metavar="SCHEDULES.json",
                    help="a JSON list of PipelineScheduleEntity objects (default: list them from the workspace)")
    v1.add_argument("--disable", action="append", metavar="SCHEDULE_ID",
                    help="disable this v1 schedule once its imported entry is live (repeatable)")
    v1.add_argument("--yes", action="store_true", help="confirm --disable: without it nothing is changed")
    _common(v1)
    v1.set_defaults(run=_v1_schedules)


def _common(command: argparse.ArgumentParser) -> None:
    command.add_argument("--blob", action="append", metavar="PATH",
                         help="a sample blob path in the container for the parity check (repeatable)")
    command.add_argument("--output", metavar="FILE", help="write the rules file here (default: print it)")


def _logic_app(env: Mapping[str, str], args: argparse.Namespace) -> int:
    document = imports.read_json_file(args.workflow, "Logic App workflow")
    report = imports.logic_app(document, env, blobs=args.blob or (), name=args.name,
                               keep_logic_app_value=args.keep_logic_app_value)
    return _print_report(report, args.output)


def _v1_schedules(env: Mapping[str, str], args: argparse.Namespace) -> int:
    if args.workspace:
        workspace_url = imports.workspace_url_from_id(args.workspace, env, _tokens(env), arm_endpoint=args.arm_endpoint)
    else:
        workspace_url = imports.checked_workspace_url(args.workspace_url, env)
    if args.disable:
        return _disable(V1ScheduleClient(workspace_url, _tokens(env)), args.disable, args.yes)
    if args.file:
        entities = imports.read_json_file(args.file, "v1 schedules file")
    else:
        entities = V1ScheduleClient(workspace_url, _tokens(env)).list()
    return _print_report(imports.v1_schedules(entities, workspace_url, env, blobs=args.blob or ()), args.output)


def _disable(client: V1ScheduleClient, schedule_ids: list[str], confirmed: bool) -> int:
    """Print what will change; change it only with the confirmation flag."""
    schedules = [client.get(schedule_id) for schedule_id in schedule_ids]
    for schedule in schedules:
        status = _status(schedule)
        change = "already disabled, unchanged" if status == DISABLED else f"EntityStatus {status} -> {DISABLED}"
        print(f"v1 schedule {schedule.get('Name')!r} ({schedule.get('Id')}): {change}")
    if not confirmed:
        print("nothing changed: make sure the imported rules and schedules are live, then add --yes")
        return 0
    for schedule in schedules:
        if _status(schedule) != DISABLED:
            done = client.disable(str(schedule["Id"]))
            print(f"disabled v1 schedule {done.get('Name')!r} ({done.get('Id')}): it starts no more runs")
    return 0


def _status(schedule: dict[str, Any]) -> str:
    status = str(schedule.get("EntityStatus"))
    return STATUS_DIGITS.get(status, status)


def _tokens(env: Mapping[str, str]) -> TokenProvider:
    """The identity the other commands use: managed identity in Azure, DefaultAzureCredential locally."""
    return TokenProvider(build_credential(env, settings.MANAGED_IDENTITY_CLIENT_ID.read(env) or None))


def _print_report(report: imports.ImportReport, output: str | None) -> int:
    text = json.dumps(report.document, ensure_ascii=False, indent=2)
    if output:
        try:
            Path(output).write_text(text + "\n", encoding="utf-8")
        except OSError as error:
            raise InvalidInput(f"--output {output}: cannot write ({error.strerror})") from None
    else:
        print(text)
    print(report.text)
    done = f"wrote the rules file to {output}" if output else "printed the rules file"
    print(f"{done}; set TRIGGER_RULES_FILE to it" + (
        "" if report.ok else " once the PROBLEM and DIFFERENT lines above are resolved"))
    return 0 if report.ok else 1
