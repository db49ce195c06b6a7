"""The run index: a summary of the ledger's run records (recent rows, counts per day) kept beside them."""
