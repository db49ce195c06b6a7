"""A Logic App that starts a v1 pipeline ("When a blob is added or modified (properties only)", then an HTTP POST
with managed identity) -> one rules-file entry; whatever has no equivalent is listed with its reason.

The workflow is read in any of its export forms by ``logic_app_export``; an ARM template's workflows each become
their own entry, and one that cannot is named with why.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from cli.migrate.import_findings import Finding
from cli.migrate.logic_app_export import ExportedWorkflow, LogicAppError, workflow_definitions
from cli.migrate.logic_app_expressions import NOW_NOTE, left_out_reason, template_of, uses_now
from cli.migrate.parity import flat_body
from cli.migrate.secret_settings import withhold_secrets
from shared.core.aml.targets import ARM_SCOPE
from shared.core.common.redaction import redact_url
from shared.core.config.rule_names import RULE_NAME_EXPECTED, RULE_NAME_LENGTH, fitted_name
from shared.core.templates.templates import TemplateContext, TemplateError, blob_values, parse_template, render

BLOB_TRIGGER_PATH = "/triggers/batch/onupdatedfile"
"""The API path of the blob connector's "When a blob is added or modified (properties only)" trigger (V1 and V2)."""
_TRIGGER_FIELD = re.compile(r"@\{?triggerBody\(\)\??\['(?P<field>Name|Path)'\]\}?")
_WHOLE_TRIGGER_FIELD = re.compile(r"^@\{?triggerBody\(\)\??\['(?P<field>Name|Path)'\]\}?$")
_CONTAINER_ACTIONS = ("actions", "else")
_BODY_KEYS = ("ExperimentName", "ParameterAssignments", "DataPathAssignments", "RunSource", "Description",
              "ContinueRunOnStepFailure")


@dataclass
class LogicAppImport:
    """The rules-file entry, what the Logic App sent, and what could not be carried over."""

    name: str
    container: str
    folder: str
    """The watched folder inside the container, '' or ending in '/'."""
    rule: dict[str, Any]
    body: dict[str, Any]
    """The HTTP action's body as written (expressions unevaluated)."""
    sends: str
    """What the Logic App put in RelativePath: "name" (triggerBody()?['Name']), "path" (['Path']), a folder-prefixed
    name ("folder_name"), another expression a template says ("template"), one it cannot ("other") or "" (no
    DataPath)."""
    notes: list[Finding] = field(default_factory=list)
    unsupported: list[Finding] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    """The app settings the rule names as %SETTING% in place of a secret-looking value, with that value: for the
    import's own load check, never written or shown."""

    def legacy_body(self, blob: str, at: datetime | None = None) -> dict[str, Any]:
        """The body the Logic App would have POSTed for ``blob`` (its path inside the container), ``utcNow()`` being
        ``at`` (the blob's last-modified time, as the rule writes it)."""
        evaluated: dict[str, Any] = _evaluate(self.body, self.container, TemplateContext(blob_values(blob, "", at)))
        return evaluated

    def clock_keys(self) -> frozenset[str]:
        """The body's keys, dotted as the parity table names them, whose value reads utcNow(): the time the Logic
        App ran, which the import can only stand in for."""
        return frozenset(key for key, value in flat_body(self.body).items()
                         if isinstance(value, str) and uses_now(value))

    def relative_path_note(self, blob: str) -> str:
        """Which RelativePath the pipeline receives for ``blob``, against what the Logic App sent."""
        legacy = _data_path_values(self.legacy_body(blob))
        relative_path = self.rule.get("data_path", {}).get("relative_path")
        imported = _rendered(relative_path, blob) if self.sends == "template" else \
            blob.rsplit("/", 1)[-1] if relative_path == "file_name" else blob
        if not legacy:
            return "the Logic App passed no DataPath; neither does the rule"
        if legacy == [imported]:
            return f"RelativePath {imported!r}, exactly as the Logic App sent it"
        return (f"RelativePath {imported!r} (the blob's path in the container) where the Logic App sent "
                f"{legacy[0]!r}")


def import_logic_apps(document: Any, *, keep_logic_app_value: bool = False) -> tuple[list[LogicAppImport],
                                                                                      list[Finding]]:
    """Every workflow of an export translated (an ARM template may hold several), and each one that cannot be,
    named with why: nothing is dropped unnamed. LogicAppError when none can be (a lone workflow's own error)."""
    workflows = workflow_definitions(document)
    imported, refused, taken = [], [], set[str]()
    for workflow in workflows:
        try:
            imported.append(import_logic_app(workflow, keep_logic_app_value=keep_logic_app_value, taken=taken))
        except LogicAppError as error:
            if len(workflows) == 1:
                raise
            refused.append(Finding(f"{workflow.where} (workflow {workflow.name!r})", f"not imported: {error}"))
    if not imported:
        raise LogicAppError("no workflow of the ARM template can be imported: " + "; ".join(map(str, refused)))
    return imported, refused


def import_logic_app(workflow: ExportedWorkflow, *, keep_logic_app_value: bool = False,
                     taken: set[str] | None = None) -> LogicAppImport:
    """Translate one workflow; ``keep_logic_app_value`` makes a rule send the file name alone where the Logic App
    sent ``triggerBody()?['Name']`` for blobs in a folder (a pipeline that relied on it keeps working); ``taken``:
    the setting names the import's other workflows already reference."""
    name, definition, unsupported = workflow.name, workflow.definition, list(workflow.unsupported)
    if not isinstance(definition, dict) or "triggers" not in definition:
        raise LogicAppError("no workflow definition (an object with triggers and actions) found")
    triggers = definition.get("triggers")
    if not isinstance(triggers, dict) or not triggers:
        raise LogicAppError("the workflow has no triggers; expected the blob connector's \"When a blob is added or "
                            "modified (properties only)\" trigger")
    trigger_name, trigger = next(iter(triggers.items()))
    for other in list(triggers)[1:]:
        unsupported.append(Finding(f"triggers.{other}", "a second trigger: import it as its own rule"))
    notes: list[Finding] = []
    container, folder = _blob_trigger(trigger_name, trigger, notes)
    actions = list(_actions(definition.get("actions") or {}, "actions"))
    posts = [(where, action) for where, action in actions
             if str(action.get("type", "")).lower() == "http"
             and str((action.get("inputs") or {}).get("method", "")).upper() == "POST"]
    if not posts:
        raise LogicAppError("the workflow has no HTTP action with method POST to a pipeline")
    where, action = posts[0]
    for other_where, other in actions:
        if other_where == where:
            continue
        kind = str(other.get("type", ""))
        reason = ("a condition decides whether the POST happens: a rule filters by folder and file ending only "
                  "(prefix, suffix; required_columns checks a CSV's header); keep such logic in the pipeline"
                  if kind.lower() in ("if", "switch") else
                  "another POST: one rule per pipeline, import it separately" if (other_where, other) in posts else
                  f"an action of type {kind or '(none)'} has no rule equivalent; the app only starts the pipeline")
        unsupported.append(Finding(other_where, reason))
    inputs = action.get("inputs") or {}
    rule: dict[str, Any] = {"name": _rule_name(name, notes), "prefix": folder, "suffix": "",
                            "include_subfolders": False}
    notes.append(Finding(f"triggers.{trigger_name}", "the Logic App started for every file: suffix '' does too"))
    rule["target"] = _target(inputs, where, notes, unsupported)
    body = inputs.get("body")
    if not isinstance(body, dict):
        raise LogicAppError(f"{where}.inputs.body must be a JSON object (PipelineSubmissionInfo)")
    sends = _body(body, f"{where}.inputs.body", rule, (container, folder), (notes, unsupported))
    if keep_logic_app_value and sends == "name" and folder:
        rule["data_path"]["relative_path"] = "file_name"
    result = LogicAppImport(name=name, container=container, folder=folder, rule=rule, body=body, sends=sends,
                            notes=notes, unsupported=unsupported)
    unsupported.extend(withhold_secrets(rule, "rule", result.settings, set() if taken is None else taken))
    if sends == "name" and folder and not keep_logic_app_value:
        notes.append(Finding(f"{where}.inputs.body.DataPathAssignments",
                             "triggerBody()?['Name'] is the file name without its folder; the rule sends the path "
                             "in the container (run with --keep-logic-app-value to send the file name alone, if the "
                             "pipeline relied on it)"))
    if sends == "path":
        notes.append(Finding(f"{where}.inputs.body.DataPathAssignments",
                             "triggerBody()?['Path'] is '/<container>/<path>'; the rule sends the path in the "
                             "container, which is what a datastore over the container resolves (no exact form)"))
    return result


def _blob_trigger(name: str, trigger: Any, notes: list[Finding]) -> tuple[str, str]:
    """The container and folder the trigger polled; its polling and batch size, reported."""
    inputs = trigger.get("inputs") if isinstance(trigger, dict) else None
    path = str((inputs or {}).get("path", ""))
    if not isinstance(inputs, dict) or str(trigger.get("type", "")).lower() != "apiconnection" or \
            not path.endswith(BLOB_TRIGGER_PATH):
        raise LogicAppError(f"trigger {name!r} is not the blob connector's \"When a blob is added or modified "
                            f"(properties only)\" trigger (an ApiConnection trigger on ...{BLOB_TRIGGER_PATH})")
    queries = inputs.get("queries") or {}
    folder_path = _folder_path(queries.get("folderId"), trigger.get("metadata") or {})
    if folder_path is None:
        raise LogicAppError(f"triggers.{name}.inputs.queries.folderId: expected the watched folder "
                            f"('/<container>[/<folder>]', or an id its metadata names)")
    container, _, folder = folder_path.strip("/").partition("/")
    where = f"triggers.{name}"
    recurrence = trigger.get("recurrence") or {}
    notes.append(Finding(f"{where}.recurrence", f"polled every {recurrence.get('interval', '?')} "
                         f"{recurrence.get('frequency', '?')}: Event Grid events replace polling (the catch-up sweep "
                         f"covers missed events)"))
    if "maxFileCount" in queries:
        notes.append(Finding(f"{where}.inputs.queries.maxFileCount", f"{queries['maxFileCount']} blobs a poll: each "
                             f"blob is its own event, so no batch limit applies"))
    notes.append(Finding(where, "the Logic App did not look into subfolders: include_subfolders false keeps that"))
    return container, f"{folder}/" if folder else ""


def _folder_path(folder_id: Any, metadata: dict[str, Any]) -> str | None:
    """'/container/folder' from a folderId: a path, an id the trigger's metadata names, or the connector's
    base64 of the URL-encoded path."""
    if not isinstance(folder_id, str) or not folder_id:
        return None
    if folder_id.startswith("/"):
        return folder_id
    if isinstance(metadata.get(folder_id), str) and metadata[folder_id].startswith("/"):
        return str(metadata[folder_id])
    try:
        decoded = unquote(base64.b64decode(folder_id + "=" * (-len(folder_id) % 4), validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded if decoded.startswith("/") else None


def _actions(actions: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every action, nested ones (conditions, scopes, loops, switch cases) included, with its JSON path."""
    if not isinstance(actions, dict):
        return
    for name, action in actions.items():
        if not isinstance(action, dict):
            continue
        here = f"{where}.{name}"
        yield here, action
        for key in _CONTAINER_ACTIONS:
            nested = action.get(key)
            if key == "else" and isinstance(nested, dict):
                yield from _actions(nested.get("actions"), f"{here}.else.actions")
            elif key == "actions":
                yield from _actions(nested, f"{here}.actions")
        for case_name, case in (action.get("cases") or {}).items():
            if isinstance(case, dict):
                yield from _actions(case.get("actions"), f"{here}.cases.{case_name}.actions")


def _target(inputs: dict[str, Any], where: str, notes: list[Finding], unsupported: list[Finding]) -> dict[str, Any]:
    """The rule's target: the URI, and the token scope from the managed identity's audience."""
    uri = inputs.get("uri")
    if not isinstance(uri, str) or "@" in uri:
        raise LogicAppError(f"{where}.inputs.uri must be the pipeline's REST endpoint as text, not an expression")
    target: dict[str, Any] = _url_fields(uri, f"{where}.inputs.uri", notes, unsupported)
    authentication = inputs.get("authentication") or {}
    kind = authentication.get("type") if isinstance(authentication, dict) else None
    if kind != "ManagedServiceIdentity":
        unsupported.append(Finding(f"{where}.inputs.authentication", f"type {kind!r} is not carried over: the app "
                                   f"calls with its own managed identity (grant it access to the workspace)"))
    else:
        audience = str(authentication.get("audience") or "https://management.azure.com/")
        scope = audience.rstrip("/") + "/.default"
        if scope != ARM_SCOPE:
            target["scope"] = scope
        notes.append(Finding(f"{where}.inputs.authentication", f"managed identity, audience {audience}: the app's "
                             f"own managed identity gets a token for {scope}"))
        if authentication.get("identity"):
            notes.append(Finding(f"{where}.inputs.authentication.identity", "a user-assigned identity: set "
                                 "MANAGED_IDENTITY_CLIENT_ID to its client id"))
    for header in inputs.get("headers") or {}:
        if str(header).lower() != "content-type":
            unsupported.append(Finding(f"{where}.inputs.headers.{header}", "the app sends its own headers only"))
    for key in sorted(set(inputs) - {"method", "uri", "authentication", "headers", "body"}):
        unsupported.append(Finding(f"{where}.inputs.{key}", "no rule equivalent"))
    return target


def _url_fields(uri: str, where: str, notes: list[Finding], unsupported: list[Finding]) -> dict[str, Any]:
    """The target's url without query or fragment: they may carry a secret (a Logic App's or Function's
    ``sig``/``code``, a SAS), and Azure ML takes the app's managed identity token instead. Only the
    names of what was removed are reported, never the values; a pipeline endpoint's ``pipelineVersion`` moves to
    ``pipeline_version``."""
    parts = urlsplit(uri)
    fields: dict[str, Any] = {"url": redact_url(uri)}
    removed = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name.lower() == "pipelineversion" and value:
            fields["pipeline_version"] = value
            notes.append(Finding(where, "query parameter pipelineVersion: written as target.pipeline_version"))
        else:  # a bare item's name may be the secret itself: only a name=value pair's name is shown
            removed.append(repr(name[:40]) if value else "an item without '='")
    if removed:
        unsupported.append(Finding(where, f"query {', '.join(removed)} removed from the URL and not written (a "
                                   f"query may carry a secret; the app calls Azure ML with its own managed identity "
                                   f"token)"))
    if parts.fragment:
        unsupported.append(Finding(where, "a fragment removed from the URL and not written (it may carry a secret)"))
    return fields


def _body(body: dict[str, Any], where: str, rule: dict[str, Any], watched: tuple[str, str],
          findings: tuple[list[Finding], list[Finding]]) -> str:
    """Fill the rule's run keys from PipelineSubmissionInfo (``watched``: container and folder; ``findings``:
    notes and what is not carried over); what RelativePath the Logic App sent."""
    (container, _), (notes, unsupported) = watched, findings
    for key in body:
        if key not in _BODY_KEYS:
            reason = "the app writes its own trigger tags" if key == "tags" else "not carried over"
            unsupported.append(Finding(f"{where}.{key}", reason))
    experiment = body.get("ExperimentName")
    if not isinstance(experiment, str) or "@" in experiment:
        raise LogicAppError(f"{where}.ExperimentName must be a fixed experiment name")
    rule["experiment"] = experiment
    parameters = body.get("ParameterAssignments") or {}
    rule["parameters"] = {}
    for name, value in parameters.items() if isinstance(parameters, dict) else ():
        here = f"{where}.ParameterAssignments.{name}"
        template = template_of(value if isinstance(value, str) else str(value), container)
        if template is None:
            unsupported.append(Finding(here, f"expression {value!r}: {left_out_reason(str(value))}; left out"))
            continue
        rule["parameters"][name] = template
        if "@" in str(value):
            notes.append(_translated(here, value, template))
    rule["run_source"] = body.get("RunSource")  # None: send none, as the Logic App did
    for key, rule_key in (("Description", "description"), ("ContinueRunOnStepFailure", "continue_on_step_failure")):
        if key in body:
            rule[rule_key] = body[key]
    return _data_path(body.get("DataPathAssignments"), f"{where}.DataPathAssignments", rule, watched, findings)


def _translated(where: str, value: Any, template: str) -> Finding:
    """The note for an expression carried over as a template."""
    return Finding(where, f"expression {value!r} written as {template!r}" + (f" ({NOW_NOTE})" if uses_now(value)
                                                                              else ""))


def _data_path(assignments: Any, where: str, rule: dict[str, Any], watched: tuple[str, str],
               findings: tuple[list[Finding], list[Finding]]) -> str:
    (container, folder), (notes, unsupported) = watched, findings
    if not isinstance(assignments, dict) or not assignments:
        return ""
    (parameter, assignment), *others = assignments.items()
    for other, _ in others:
        unsupported.append(Finding(f"{where}.{other}", "a rule passes the blob to one DataPath parameter"))
    if not isinstance(assignment, dict):
        raise LogicAppError(f"{where}.{parameter} must be {{\"DataStoreName\": ..., \"RelativePath\": ...}}")
    relative = str(assignment.get("RelativePath", ""))
    rule["data_path"] = {"parameter": parameter, "datastore": assignment.get("DataStoreName")}
    whole = _WHOLE_TRIGGER_FIELD.match(relative)
    if whole:
        return whole["field"].lower()
    prefixed = _TRIGGER_FIELD.search(relative)
    if prefixed and prefixed["field"] == "Name" and relative[:prefixed.start()] == folder and \
            prefixed.end() == len(relative):
        return "folder_name"  # '<folder>/@{triggerBody()?['Name']}' is the path in the container
    template = template_of(relative, container)
    if template is not None and template != relative:
        rule["data_path"]["relative_path"] = template
        notes.append(_translated(f"{where}.{parameter}.RelativePath", relative, template))
        return "template"
    unsupported.append(Finding(f"{where}.{parameter}.RelativePath", f"expression {relative!r}: "
                               f"{left_out_reason(relative)}; the rule sends the blob's path in the container"))
    return "other"


def _evaluate(value: Any, container: str, blob: TemplateContext) -> Any:
    """``value`` with the expressions a template says evaluated for ``blob``; triggerBody()?['Name'] / ['Path']
    replaced inside any other."""
    if isinstance(value, dict):
        return {key: _evaluate(item, container, blob) for key, item in value.items()}
    if not isinstance(value, str):
        return value
    template = template_of(value, container)
    if template is not None:
        try:
            return render(parse_template(template), blob)
        except TemplateError:  # a date, and no time given
            return value
    fields = {"Name": blob.values["blob.name"], "Path": f"/{container}/{blob.values['blob.path']}"}
    return _TRIGGER_FIELD.sub(lambda match: str(fields[match["field"]]), value)


def _rendered(template: str, blob: str) -> str:
    return render(parse_template(template), TemplateContext(blob_values(blob, "", None)))


def _data_path_values(body: dict[str, Any]) -> list[str]:
    return [str(item.get("RelativePath")) for item in (body.get("DataPathAssignments") or {}).values()
            if isinstance(item, dict)]


def _rule_name(name: str, notes: list[Finding]) -> str:
    """The workflow's name as a rule name, said in a note when it had to change."""
    rule_name = fitted_name(name, r"[^A-Za-z0-9_-]+", "-", RULE_NAME_LENGTH)
    if rule_name != name:
        notes.append(Finding("name", f"{name!r} is not a rule name ({RULE_NAME_EXPECTED}): imported as "
                                     f"{rule_name!r}"))
    return rule_name
