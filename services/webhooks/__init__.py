"""Webhooks: the event log delivered over HTTP, in MLflow 3's webhook format and signature
scheme, at least once and in order per model (a follower of the log like the relay)."""
