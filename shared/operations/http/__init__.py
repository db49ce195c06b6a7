"""The HTTP answers: health, records and retry, explain, manual runs."""
