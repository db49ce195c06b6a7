"""The pure layer: settings, the rules file, targets, cron, keys, payloads, record shapes, errors, decisions.

No network, no storage, no clock of its own; it imports nothing from the layers above (tests/app/test_layers.py).
"""
