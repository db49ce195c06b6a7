"""Run events to records: status merged, slots freed, data released, waiting triggers admitted."""
