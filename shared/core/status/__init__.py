"""The status page's HTML."""
