"""The security log: refusals (401, 403) and credential changes, one JSON object a line on
the `registrum.security` logger. Not domain events: a refused request changed nothing, and
an attacker's noise has no place in the record auditors verify. Never holds a secret."""

from __future__ import annotations

import json
import logging
from typing import Any

_log = logging.getLogger("registrum.security")


def record(event: str, *, level: int = logging.WARNING, **fields: Any) -> None:
    """Logs one security event (forbidden, unauthenticated, token_issued, ...)."""
    entry = {"event": event, **{k: v for k, v in fields.items() if v is not None}}
    _log.log(level, json.dumps(entry, sort_keys=True, default=str), extra={"security": entry})
