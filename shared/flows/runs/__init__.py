"""``execute``: claim, check, submit and settle one RunRequest; run-limit gates."""
