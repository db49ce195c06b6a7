"""Manual runs and reruns."""
