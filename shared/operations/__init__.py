"""Operations, the top layer: explain, records and retry, health, and the HTTP answers of every operation.

What the HTTP functions, the timers' sweep and the command line call; nothing in ``shared`` imports it.
"""
