"""The catch-up sweep: blob versions and records the events missed."""
