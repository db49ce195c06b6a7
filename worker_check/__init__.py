"""The library-worker check: Microsoft's Python 3.13 worker indexes and invokes the app (run by ./dev worker)."""
