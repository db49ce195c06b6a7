"""The app's logic, free of azure.functions, in four layers, each importing only those below it:
``rules`` (pure), ``clients`` (Azure clients and the ledger), ``flows`` (the run flows), ``operations``.

Trigger adapters in ``triggers/`` turn host input into calls into this package; everything here can be
driven directly by tests, the local demo and the command line. tests/test_layers.py keeps the layering.
"""
