"""Event store -> Kafka: the relay (promotions and domain events as CloudEvents)."""
