"""Dead-lettered Event Grid events: their blobs read, each event named with the live path it takes."""
