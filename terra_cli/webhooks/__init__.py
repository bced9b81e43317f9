"""The webhook engine: signatures, the receiver, the event log, forwarding, samples."""
