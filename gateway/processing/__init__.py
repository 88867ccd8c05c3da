"""The worker's side of an operation: dispatch a stored message to its processor (``dispatch``), decode,
run the use case and build the answer (``operations``)."""
