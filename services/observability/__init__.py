"""What an operator sees of a running process: Prometheus metrics, JSON logs with the
request and command they belong to, and OpenTelemetry traces (when an OTLP endpoint is
set). A leaf package: it imports nothing of the registry, so every layer may use it."""
