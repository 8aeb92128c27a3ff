"""The registry's domain: aggregates, events and rules. No IO."""
