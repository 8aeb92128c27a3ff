"""The audit export: the log, its links and its checkpoints as JSON Lines, written and read
as a stream (a log of any size in constant memory).

    {"format": "registrum.audit-export.v1", "head": ..., "checkpoints": [...], "keys": {...}}
    {"position": 1, "event": {...} | null, "link": {...} | null}
    ...
    {"end": true, "rows": N}

An event's state is its stored bytes as UTF-8 text (JSON), so the file can be read by
eye and the bytes hashed exactly as stored. The keys are those the log names; an auditor
verifies with a public key obtained elsewhere (`audit verify --file --public-key`).
The last line makes a cut-short file detectable.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterable, Iterable, Iterator
from typing import IO, Any
from uuid import UUID

import orjson

from services.audit.signing import Checkpoint
from services.audit.verify import EventRow, LinkRow

FORMAT = "registrum.audit-export.v1"


class ExportInvalid(ValueError):
    """A file that is not a whole audit export."""


def header(head: int, checkpoints: Iterable[Checkpoint], keys: dict[str, bytes]) -> bytes:
    return _line(
        {
            "format": FORMAT,
            "head": head,
            "checkpoints": [c.as_json() for c in checkpoints],
            "keys": {k: base64.b64encode(v).decode() for k, v in sorted(keys.items())},
        }
    )


def row_line(event: EventRow | None, chained: LinkRow | None) -> bytes:
    position = event.position if event is not None else chained.position if chained else 0
    return _line(
        {
            "position": position,
            "event": _event(event) if event is not None else None,
            "link": _link(chained) if chained is not None else None,
        }
    )


def footer(rows: int) -> bytes:
    return _line({"end": True, "rows": rows})


async def write(
    out: IO[bytes],
    head: int,
    checkpoints: list[Checkpoint],
    keys: dict[str, bytes],
    rows: AsyncIterable[tuple[EventRow | None, LinkRow | None]],
) -> int:
    out.write(header(head, checkpoints, keys))
    count = 0
    async for event, chained in rows:
        out.write(row_line(event, chained))
        count += 1
    out.write(footer(count))
    return count


class Reader:
    """An export read back: header() first, then rows() to the end (checked whole)."""

    def __init__(self, lines: Iterator[bytes]) -> None:
        self._lines = lines
        first = next(self._lines, None)
        meta = _load(first) if first else None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ExportInvalid(f"not a {FORMAT} file")
        try:
            self.head = int(meta["head"])
            self.checkpoints = [Checkpoint.from_json(c) for c in meta["checkpoints"]]
            self.keys = {str(k): base64.b64decode(v) for k, v in meta["keys"].items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ExportInvalid(f"the header is malformed: {exc}") from None

    def rows(self) -> Iterator[tuple[EventRow | None, LinkRow | None]]:
        for number, line in enumerate(self._lines, start=2):
            data = _load(line)
            if not isinstance(data, dict):
                raise ExportInvalid(f"line {number} is not an object")
            if data.get("end") is True:
                count = number - 2  # the rows between the header and this line
                if data.get("rows") != count:
                    raise ExportInvalid(f"the file says {data.get('rows')} rows, holds {count}")
                if next(self._lines, None) is not None:
                    raise ExportInvalid(f"lines follow the end, at line {number + 1}")
                return
            try:
                yield _parse_event(data), _parse_link(data)
            except (KeyError, TypeError, ValueError) as exc:
                raise ExportInvalid(f"line {number} is malformed: {exc}") from None
        raise ExportInvalid("the file is cut short: no end line")


def _event(event: EventRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stream_id": str(event.stream_id),
        "stream_version": event.stream_version,
        "topic": event.topic,
    }
    try:
        out["state"] = event.state.decode()
    except UnicodeDecodeError:
        out["state_b64"] = base64.b64encode(event.state).decode()
    return out


def _link(chained: LinkRow) -> dict[str, str]:
    return {
        "head": chained.head.hex(),
        "payload": chained.payload.hex(),
        "link": chained.link.hex(),
    }


def _parse_event(data: dict[str, Any]) -> EventRow | None:
    e = data["event"]
    if e is None:
        return None
    state = e["state"].encode() if "state" in e else base64.b64decode(e["state_b64"])
    return EventRow(
        position=int(data["position"]),
        stream_id=UUID(e["stream_id"]),
        stream_version=int(e["stream_version"]),
        topic=str(e["topic"]),
        state=state,
    )


def _parse_link(data: dict[str, Any]) -> LinkRow | None:
    c = data["link"]
    if c is None:
        return None
    return LinkRow(
        position=int(data["position"]),
        head=bytes.fromhex(c["head"]),
        payload=bytes.fromhex(c["payload"]),
        link=bytes.fromhex(c["link"]),
    )


def _line(value: Any) -> bytes:
    return orjson.dumps(value) + b"\n"


def _load(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ExportInvalid(f"not JSON: {exc}") from None
