"""Record names and keys, a ledger record's shape and state, what became of a run, decisions, run limits."""
