"""The run flows: a blob version or a schedule occurrence through claim, check, submit and settle.

Built on ``shared.rules`` and ``shared.clients``; operations call into it, never the reverse (tests/test_layers.py).
"""
