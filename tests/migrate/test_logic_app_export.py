"""Reading a Logic App export, in process: the code view, ``az logic workflow show``, a bare definition and an ARM
template (its ``[parameters('x')]`` resolved to defaults, any other ARM expression named where it sits)."""

from __future__ import annotations

import pytest

from cli.migrate.import_findings import Finding
from cli.migrate.logic_app_export import ExportedWorkflow, LogicAppError, workflow_definitions

DEFINITION = {"triggers": {"t": {}}, "actions": {}}


def resource(name: object, definition: object, kind: str = "Microsoft.Logic/workflows") -> dict[str, object]:
    return {"type": kind, "name": name, "properties": {"definition": definition}}


def test_a_finding_prints_where_then_what():
    assert str(Finding("actions.HTTP", "left out")) == "actions.HTTP: left out"


@pytest.mark.parametrize("document, name", [
    ({"name": "wf", "definition": DEFINITION}, "wf"),  # az logic workflow show
    ({"definition": DEFINITION}, "logic-app"),  # the code view
    ({"name": 7, "definition": DEFINITION}, "logic-app"),
])
def test_an_object_with_a_definition_gives_that_definition_under_its_name(document, name):
    assert workflow_definitions(document) == [ExportedWorkflow(name, DEFINITION, "definition", [])]


def test_anything_else_is_the_bare_definition_itself_which_names_no_workflow():
    bare = {**DEFINITION, "name": "ignored", "definition": "not an object"}
    assert workflow_definitions(bare) == [ExportedWorkflow("logic-app", bare, "definition", [])]


@pytest.mark.parametrize("document", [[], "workflow", None])
def test_a_document_that_is_no_object_is_refused_saying_the_forms_expected(document):
    with pytest.raises(LogicAppError) as refused:
        workflow_definitions(document)
    assert str(refused.value) == ("a workflow is a JSON object: {\"definition\": {...}}, the definition itself, or an "
                                  "ARM template with a Microsoft.Logic/workflows resource")


def test_each_workflow_resource_of_a_template_is_read_with_its_parameters_resolved_and_others_skipped():
    template = {
        "parameters": {"name": {"type": "string", "defaultValue": "retrain"}, "uri": {"defaultValue": "https://u"},
                       "none": {"type": "string"}, "odd": "text"},
        "resources": [
            {"type": "Microsoft.Web/connections", "name": "blob"},
            "not a resource",
            resource("[parameters('name')]", {**DEFINITION, "uri": "[parameters('uri')]"},
                     "MICROSOFT.LOGIC/WORKFLOWS"),
            resource("second", {**DEFINITION, "list": ["[parameters('uri')]", 1, {"n": None}]}),
        ],
    }

    assert workflow_definitions(template) == [
        ExportedWorkflow("retrain", {**DEFINITION, "uri": "https://u"}, "resources[2]", []),
        ExportedWorkflow("second", {**DEFINITION, "list": ["https://u", 1, {"n": None}]}, "resources[3]", []),
    ]


def test_an_arm_expression_without_a_default_is_named_where_it_sits_and_left_as_written():
    template = {"parameters": {"none": {"type": "string"}}, "resources": [
        resource("[concat('a', 'b')]", {"actions": {"HTTP": {"inputs": ["x", "[parameters('none')]"]}}})]}

    (exported,) = workflow_definitions(template)

    assert exported.name == "logic-app"  # a name still an expression is no name
    assert exported.definition == {"actions": {"HTTP": {"inputs": ["x", "[parameters('none')]"]}}}
    assert [str(finding) for finding in exported.unsupported] == [
        "resources[0].name: ARM expression \"[concat('a', 'b')]\" without a default: give the deployed value",
        "resources[0].properties.definition.actions.HTTP.inputs[1]: ARM expression \"[parameters('none')]\" without "
        "a default: give the deployed value"]


def test_a_doubled_bracket_is_arms_escape_for_a_literal_one():
    template = {"resources": [resource("wf", {"expression": "[[not ARM]", "plain": "[parameters('x')] and more"})]}

    (exported,) = workflow_definitions(template)

    assert exported.definition == {"expression": "[not ARM]", "plain": "[parameters('x')] and more"}
    assert [finding.where for finding in exported.unsupported] == ["resources[0].properties.definition.plain"]


def test_a_resource_without_properties_gives_no_definition():
    (exported,) = workflow_definitions({"resources": [{"type": "Microsoft.Logic/workflows", "name": "wf"}]})
    assert (exported.name, exported.definition, exported.where) == ("wf", None, "resources[0]")


@pytest.mark.parametrize("resources", [[], [{"type": "Microsoft.Web/connections"}, {"name": "untyped"}]])
def test_a_template_without_a_workflow_resource_is_refused(resources):
    with pytest.raises(LogicAppError) as refused:
        workflow_definitions({"resources": resources})
    assert str(refused.value) == "the ARM template has no Microsoft.Logic/workflows resource"
