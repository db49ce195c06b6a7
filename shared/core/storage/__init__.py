"""Storage connections checked before any client exists."""
