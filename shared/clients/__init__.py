"""Azure clients and the ledger: credentials, Blob Storage, the Azure ML client, the ledger and their assembly.

Built on ``shared.core``; it knows nothing of the flows or the operations above it (tests/app/test_layers.py).
"""
