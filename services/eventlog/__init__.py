"""The registry's event log as its followers see it (the read side's projector, the
relay): the stored-event record and its decoding, reading the log after a position,
named lookups over it, the follower base (lock, wake-up, step loop), and an in-memory log
for unit tests. It depends on neither the read side, the relay nor the bus."""
