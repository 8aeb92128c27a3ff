"""Writes the generated contract files into schemas/: `python -m services.contracts.generate`.

A unit test fails when a checked-in file differs from what this produces.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path

import schemas

HERE = Path(schemas.__file__).parent


def openapi() -> str:
    from services.api.app import build_fastapi

    return json.dumps(build_fastapi().openapi(), indent=2, sort_keys=True) + "\n"


def message_schema(name: str) -> str:
    from schemas.intake import INTAKE_MESSAGES, command_message_schema
    from schemas.messages import MESSAGES

    if name == "command":
        schema = command_message_schema()
    else:
        schema = {**MESSAGES, **INTAKE_MESSAGES}[name].json_schema()
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def asyncapi() -> str:
    from services.contracts.asyncapi import render

    return render()


GENERATED: dict[str, Callable[[], str]] = {
    "openapi.json": openapi,
    "asyncapi.yaml": asyncapi,
    **{
        f"json/{name}.schema.json": functools.partial(message_schema, name)
        for name in (
            "stage-change",
            "alias-change",
            "domain-event",
            "audit-checkpoint",
            "signing-key",
            "command",
            "command-result",
            "dead-letter",
        )
    },
}


def main() -> None:
    for name, render in GENERATED.items():
        (HERE / name).parent.mkdir(exist_ok=True)
        (HERE / name).write_text(render())
        print(f"wrote schemas/{name}")


if __name__ == "__main__":
    main()
