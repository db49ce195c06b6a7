"""NCRONTAB as the host evaluates it, and SDK v1 recurrences converted to it."""
