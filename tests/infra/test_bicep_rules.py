"""Bicep's deploy-time-constant rules (BCP120, BCP177, BCP178, BCP182) over infra/, and the checker itself on small
templates: a value the deployment needs at its start (a resource's name or location, an if condition, a for
expression) may not read what Azure knows only once it runs. pycep and checkov cannot see these compile errors."""

from __future__ import annotations

import pytest

from tests.support.bicep_rules import Template
from tests.support.infra import INFRA, bicep_files

pytestmark = pytest.mark.unit

HEADER = """param names array
param region string
var prefix = 'st-${region}'
var runtimeNames = [ store.properties.primaryEndpoints.blob ]
resource store 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'store'
  location: region
}
resource other 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: names[0]
}
module child 'child.bicep' = {
  name: 'child'
}
"""


def violations(body: str) -> list[str]:
    return [str(found) for found in Template(HEADER + body, "main.bicep").violations()]


@pytest.mark.parametrize("path", bicep_files(), ids=lambda path: str(path.relative_to(INFRA)))
def test_every_template_in_infra_keeps_biceps_deploy_time_constant_rules(path):
    assert [str(found) for found in Template.from_file(path, str(path.relative_to(INFRA.parent))).violations()] == []


def test_a_for_over_parameters_and_constant_variables_passes():
    assert violations("""
resource many 'Microsoft.Storage/storageAccounts@2023-05-01' = [for (name, index) in union(names, [ prefix ]): {
  name: '${prefix}${name}${index}'
  location: region
  tags: { source: other.id, store: store.name, module: child.name }
}]
var listed = [for name in names: { name: name, id: other.id }]
""") == []


def test_a_for_over_a_variable_that_reads_a_resources_properties_fails_with_bcp178():
    assert violations("""
resource many 'Microsoft.Storage/storageAccounts@2023-05-01' = [for name in runtimeNames: {
  name: name
  location: region
}]
""") == ["main.bicep:16: BCP178: resource many: the for expression needs a value known at the start of the deployment "
         "but reads runtimeNames -> store.properties"]


def test_an_existing_resources_location_fails_with_bcp120_and_its_id_and_name_pass():
    assert violations("""
resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: '${other.name}-topic'
  location: other.location
  properties: { source: other.id }
}
""") == ["main.bicep:18: BCP120: resource topic: property location needs a value known at the start of the "
         "deployment but reads other.location"]


def test_an_existing_resource_named_by_a_runtime_value_has_no_constant_id():
    assert violations("""
resource late 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: child.outputs.name
}
resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: late.name
  location: region
}
""") == ["main.bicep:20: BCP120: resource topic: property name needs a value known at the start of the deployment "
         "but reads late.name"]


def test_an_if_condition_on_a_module_output_fails_with_bcp177_and_on_a_parameter_passes():
    assert violations("""
module late 'child.bicep' = if (!empty(child.outputs.name)) {
  name: 'late'
}
module early 'child.bicep' = if (!empty(region)) {
  name: 'early'
}
""") == ["main.bicep:16: BCP177: module late: the if condition needs a value known at the start of the deployment "
         "but reads child.outputs"]


def test_a_variable_loop_whose_body_reads_a_runtime_value_fails_with_bcp182():
    assert violations("""
var endpoints = [for name in names: reference(name).primaryEndpoints]
""") == ["main.bicep:16: BCP182: the for-body of var endpoints needs a value known at the start of the deployment "
         "but reads reference()"]


def test_a_property_loop_in_a_resource_body_may_read_runtime_values_but_not_loop_over_them():
    assert violations("""
resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: 'site'
  location: region
  properties: {
    fromParameters: [for name in names: { name: name, value: store.properties.primaryEndpoints.blob }]
    fromRuntime: [for name in runtimeNames: name]
  }
}
""") == ["main.bicep:21: BCP178: resource site: the for expression needs a value known at the start of the "
         "deployment but reads runtimeNames -> store.properties"]


def test_a_whole_resource_is_a_scope_or_parent_but_not_a_name():
    assert violations("""
resource role 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(store.id, region)
  scope: store
}
resource wrong 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: string(store)
  location: region
}
""") == ["main.bicep:21: BCP120: resource wrong: property name needs a value known at the start of the deployment "
         "but reads store"]


def test_a_module_for_over_a_resources_properties_fails_with_bcp178_and_over_a_parameter_passes():
    assert violations("""
module late 'child.bicep' = [for name in store.properties.primaryEndpoints: {
  name: 'late-${name}'
}]
module early 'child.bicep' = [for name in names: {
  name: 'early-${name}'
}]
""") == ["main.bicep:16: BCP178: module late: the for expression needs a value known at the start of the "
         "deployment but reads store.properties"]


def test_a_resource_if_condition_on_a_resources_properties_fails_with_bcp177_and_on_its_name_passes():
    assert violations("""
resource late 'Microsoft.Storage/storageAccounts@2023-05-01' = if (!empty(store.properties.primaryEndpoints.blob)) {
  name: 'late'
  location: region
}
resource early 'Microsoft.Storage/storageAccounts@2023-05-01' = if (!empty(store.name)) {
  name: 'early'
  location: region
}
""") == ["main.bicep:16: BCP177: resource late: the if condition needs a value known at the start of the "
         "deployment but reads store.properties"]
