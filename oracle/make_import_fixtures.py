"""Writes tests/fixtures/importers/v1_schedules.json: v1 schedules as the v1 pipelines API returns them, built and
serialized by azureml-pipeline-core's own REST models (PipelineScheduleEntity, Recurrence, DataStoreTriggerInfo).

Run once in the oracle venv (``./dev oracle`` creates it): ``.venv-oracle/bin/python -m oracle.make_import_fixtures``.
The JSON is checked in, so the app's tests need no SDK.
"""

from __future__ import annotations

import json
from pathlib import Path

from azureml.pipeline.core._restclients.aeva import models as aeva
from msrest import Serializer

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "importers" / "v1_schedules.json"
MODELS = {name: value for name, value in vars(aeva).items() if isinstance(value, type)}
PIPELINE = "5d9e2f4c-0000-4000-8000-00000000a11a"
ENDPOINT = "9a1b2c3d-0000-4000-8000-0000000e1d01"
CREATED = "2021-10-21T00:00:00.0000000+00:00"


def submission(experiment: str, **extra: object) -> aeva.PipelineSubmissionInfo:
    return aeva.PipelineSubmissionInfo(experiment_name=experiment, parameter_assignments={"input_string": "s1"},
                                       properties={"azureml.pipelineComponent": "pipelinerun"}, **extra)


def time_schedule(number: int, name: str, recurrence: aeva.Recurrence, status: str = "Active",
                  **extra: object) -> aeva.PipelineScheduleEntity:
    schedule_id = f"00000000-5c4e-4d00-8000-{number:012d}"
    return aeva.PipelineScheduleEntity(
        name=name, pipeline_id=PIPELINE, provisioning_status="Completed",
        pipeline_submission_info=submission("MyExperiment", schedule_id=schedule_id, **extra),
        recurrence=recurrence, id=schedule_id, etag=f'"etag-{number}"', created_date=CREATED,
        last_modified_date=CREATED, entity_status=status, schedule_type="Recurrence")


def main() -> None:
    schedules = [
        time_schedule(1, "MyRecurringSchedule", aeva.Recurrence(frequency="Minute", interval=15)),
        time_schedule(2, "Every6Hours", aeva.Recurrence(frequency="Hour", interval=6,
                                                       start_time="2021-10-21T01:20:00")),
        time_schedule(3, "Nightly retrain", aeva.Recurrence(
            frequency="Day", interval=1, schedule=aeva.RecurrenceSchedule(hours=[2], minutes=[30])),
            description="nightly", continue_run_on_step_failure=True),
        time_schedule(4, "MondayFriday", aeva.Recurrence(
            frequency="Week", interval=1, time_zone="UTC",
            schedule=aeva.RecurrenceSchedule(hours=[6], minutes=[0], week_days=["Monday", "Friday"])),
            data_path_assignments={"input_datapath": aeva.LegacyDataPath(
                data_store_name="workspaceblobstore", relative_path="Datasets/machineData.csv")}),
        # An older answer: enums as the digits the service used to write (Month, Disabled; weekdays 0 = Monday).
        time_schedule(5, "Monthly", aeva.Recurrence(frequency="0", interval=1, start_time="2021-01-05T03:00:00"),
                      status="2"),
        time_schedule(6, "EveryOtherDay", aeva.Recurrence(frequency="Day", interval=2)),
        time_schedule(7, "TokyoMorning", aeva.Recurrence(
            frequency="Day", interval=1, time_zone="Tokyo Standard Time",
            schedule=aeva.RecurrenceSchedule(hours=[9], minutes=[0]))),
        time_schedule(8, "WeekDigits", aeva.Recurrence(
            frequency="1", interval=1, schedule=aeva.RecurrenceSchedule(hours=[0], minutes=[15], week_days=["6"]))),
        aeva.PipelineScheduleEntity(
            name="MyReactiveSchedule", pipeline_endpoint_id=ENDPOINT, provisioning_status="Completed",
            pipeline_submission_info=submission("MyExperiment", description="Based on input file change.",
                                                continue_run_on_step_failure=False,
                                                schedule_id="00000000-5c4e-4d00-8000-000000000009"),
            id="00000000-5c4e-4d00-8000-000000000009", etag='"etag-9"', created_date=CREATED,
            last_modified_date=CREATED, entity_status="Active", schedule_type="DataStore",
            data_store_trigger_info=aeva.DataStoreTriggerInfo(
                data_store_name="workspaceblobstore", polling_interval=5, data_path_parameter_name="input_data",
                path_on_data_store="Datasets")),
    ]
    body = Serializer(MODELS).body(schedules, "[PipelineScheduleEntity]")
    OUT.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(schedules)} schedules to {OUT.relative_to(OUT.parents[3])}")


if __name__ == "__main__":
    main()
