"""Refusals land in the security log (not in the event log), one JSON object a line, with
who and what, and never the credential."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from schemas import commands as c
from services.auth.authenticate import Authenticator
from services.auth.identity import Unauthenticated
from services.auth.tokens import MemoryTokenStore
from services.registry.domain.errors import Forbidden
from tests.fakes.registry import memory_registry
from tests.people import stranger


def entries(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "registrum.security"]


def test_a_forbidden_command_is_logged_and_appends_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = memory_registry()
    head = registry.head_position()
    with caplog.at_level(logging.INFO, "registrum.security"), pytest.raises(Forbidden):
        registry.handle(c.RegisterModel(name="sneaky", command_id="try-1"), stranger("Eve"))
    assert entries(caplog) == [
        {
            "event": "forbidden",
            "subject": "eve",
            "via": "token",
            "command": "RegisterModel",
            "command_id": "try-1",
            "permission": "contribute",
            "target": "model sneaky",
        }
    ]
    assert registry.head_position() == head


def test_a_bad_credential_is_logged_without_its_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "rgm_abcdefghijkl_ThisIsTheSecretPartNobodyMaySee"
    with caplog.at_level(logging.INFO, "registrum.security"), pytest.raises(Unauthenticated):
        asyncio.run(Authenticator(MemoryTokenStore()).authenticate(secret, "kafka"))
    (entry,) = entries(caplog)
    assert entry == {
        "event": "unauthenticated",
        "entrypoint": "kafka",
        "reason": "unknown_token",
        "token": "rgm_abcdefghijkl",
    }
    assert "ThisIsTheSecret" not in caplog.text
