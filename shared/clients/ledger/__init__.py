"""The ledger in Blob Storage and the claims taken in it."""
