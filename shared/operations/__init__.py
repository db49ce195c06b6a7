"""Operations, the top layer: manual runs, explain, records, retry, health, the sweep, and their HTTP answers.

What the HTTP functions, the timers' sweep and the command line call; nothing in ``shared`` imports it.
"""
