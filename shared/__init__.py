"""The app's logic, free of azure.functions, in four layers, each importing only those below it:
``core`` (pure), ``clients`` (Azure clients and the ledger), ``flows`` (the run flows), ``operations``.

Inside each layer, domain packages carry the same name wherever a domain has a part (``core/quiet_windows``,
``flows/quiet_windows``). Trigger adapters in ``triggers/`` turn host input into calls into this package; everything
here can be driven directly by tests, the local demo and the command line. tests/app/test_layers.py keeps the layering
and docs/module-map.md explains it.
"""
