"""SDK v1 schedules read from a workspace for moving over."""
