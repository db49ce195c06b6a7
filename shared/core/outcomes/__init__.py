"""Run events from Event Grid, parsed into what became of a run."""
