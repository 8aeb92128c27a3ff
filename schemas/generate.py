"""Writes the generated contract files: `python -m schemas.generate`.

A unit test fails when a checked-in file differs from what this produces.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent


def openapi() -> str:
    from services.api.app import build_fastapi

    return json.dumps(build_fastapi().openapi(), indent=2, sort_keys=True) + "\n"


GENERATED = {"openapi.json": openapi}


def main() -> None:
    for name, render in GENERATED.items():
        (HERE / name).write_text(render())
        print(f"wrote schemas/{name}")


if __name__ == "__main__":
    main()
