"""The run flows: a blob version, a schedule occurrence, a manual run or the sweep's catch-up, each a RunRequest
through one protocol (claim, check, submit, settle: ``run_steps.execute``).

Built on ``shared.core`` and ``shared.clients``; operations call into it, never the reverse (tests/app/test_layers.py).
"""
