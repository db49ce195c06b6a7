"""The app's logic, free of azure.functions: configuration, rules, payloads, auth, retry, ledger, validation.

Trigger adapters in ``triggers/`` turn host input into calls into this package; everything here can be
driven directly by tests, the local demo and the command line.
"""
