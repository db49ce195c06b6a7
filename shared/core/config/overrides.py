"""A manual run's overrides of a rule's run spec, checked as strictly as the configuration itself."""

from __future__ import annotations

from typing import Any

from shared.core.config.config_model import RunSpec
from shared.core.config.fields import matching
from shared.core.config.problems import Problems
from shared.core.config.rule_parser import EXPERIMENT_NAME, check_fields_fit_the_target, parse_parameters


def override_run(run: RunSpec, *, experiment: Any = None, parameters: Any = None) -> RunSpec:
    """``run`` with a manual run's overrides, checked as strictly as the configuration; ConfigError if not valid.
    An override is a literal value: it replaces the rule's template for that parameter."""
    problems = Problems.of()
    if experiment is not None:
        matching(experiment, EXPERIMENT_NAME, problems.at("experiment"),
                 "an experiment name: letters, digits, '-' and '_'")
    overrides = parse_parameters(parameters if parameters is not None else {}, problems.at("parameters"))
    merged = {**run.parameters, **overrides}
    check_fields_fit_the_target({}, run.target, merged, run.data_path, problems)
    problems.raise_any()
    templates = {name: template for name, template in run.parameter_templates.items() if name not in overrides}
    return run._replace(experiment=experiment or run.experiment, parameters=merged, parameter_templates=templates)
