"""The clock, the credential and telemetry every client shares."""
