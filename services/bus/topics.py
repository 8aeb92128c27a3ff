"""The registry's Kafka topics (DESIGN.md, Message bus)."""

PROMOTIONS = "registry.promotions"
EVENTS = "registry.events"
AUDIT_CHECKPOINTS = "registry.audit-checkpoints"
COMMANDS = "registry.commands"
RESULTS = "registry.command-results"
DEAD_LETTERS = "registry.commands.dlq"
INTAKE_GROUP = "registry-intake"
