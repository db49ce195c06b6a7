"""A manual run's overrides of a rule's run spec: merged over the rule's own parameters, checked as strictly as the
configuration, every problem reported at once under the field it is in."""

from __future__ import annotations

import pytest

from shared.core.aml.targets import parse_target
from shared.core.config.config_model import DataPathBinding, RunSpec
from shared.core.config.overrides import override_run
from shared.core.config.problems import ConfigError

pytestmark = pytest.mark.unit

PIPELINE_URL = ("https://eastus.api.azureml.ms/pipelines/v1.0/subscriptions/sub/resourceGroups/rg/providers/"
                "Microsoft.MachineLearningServices/workspaces/ws/PipelineRuns/PipelineSubmit/pipe-1")
RUN = RunSpec(target=parse_target(PIPELINE_URL), experiment="retrain", parameters={"alpha": "1", "beta": "2"})


def test_no_override_leaves_the_rules_run_as_it_is():
    assert override_run(RUN) == RUN


def test_overrides_replace_the_experiment_and_are_merged_over_the_rules_parameters():
    overridden = override_run(RUN, experiment="retrain-now", parameters={"beta": "3", "gamma": 4})

    assert (overridden.experiment, overridden.parameters) == ("retrain-now", {"alpha": "1", "beta": "3", "gamma": 4})
    assert overridden.target == RUN.target and RUN.parameters == {"alpha": "1", "beta": "2"}


def test_every_bad_override_is_reported_at_once_under_its_field():
    with pytest.raises(ConfigError) as caught:
        override_run(RUN, experiment="bad name", parameters={"x": {"y": 1}})
    assert str(caught.value) == (
        "invalid configuration (2 problems):\n"
        "  - experiment = 'bad name': an experiment name: letters, digits, '-' and '_'\n"
        "  - parameters.x = {'y': 1}: a string, number or boolean")


def test_parameters_that_are_not_an_object_are_refused():
    with pytest.raises(ConfigError) as caught:
        override_run(RUN, parameters=["alpha"])
    assert str(caught.value) == ("invalid configuration (1 problem):\n"
                                 "  - parameters = ['alpha']: an object of pipeline parameters: {\"name\": \"value\"}")


def test_overrides_are_checked_against_the_rules_target_and_data_path():
    no_datastore = RUN._replace(data_path=DataPathBinding("input_datapath", None))
    with pytest.raises(ConfigError) as caught:
        override_run(no_datastore, parameters={"flag": True})
    assert str(caught.value) == (
        "invalid configuration (2 problems):\n"
        "  - parameters.flag = True: a string or number; write booleans as strings (\"True\"), as the v1 SDK sends "
        "them\n"
        "  - data_path.datastore = (not set): the datastore over the watched container (v1 needs one)")
