"""Verifying the chain: fed the events and the chain's rows in position order (from the
database or an export), it recomputes every digest and link, checks the checkpoints'
signatures and what they signed, and names what it finds. Pure: no IO.

What each finding means:
- payload_altered: the event's stored bytes are not those it was linked with.
- metadata_altered: its stream, stream version or type are not those it was linked with.
- deleted: a linked event is gone from the events table.
- inserted: an event is there that the registry never linked.
- reordered: an event sits at another position than the one it was linked at.
- truncated: the log ends before events that were linked or signed for.
- link_broken: a link does not follow from the one before it: rows were removed from both
  tables, or the chain's table itself was edited.
- checkpoint_mismatch: the chain at a checkpoint's position is not what was signed there:
  the log was rewritten at or before that position (links recomputed to hide it).
- checkpoint_forged: a checkpoint whose signature does not hold.
- checkpoint_unknown_key: a checkpoint signed by a key not among those trusted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from uuid import UUID

from services.audit.chain import GENESIS, HEAD_PREFIX, head_digest, link, payload_digest
from services.audit.signing import Checkpoint, signature_holds


class EventRow(NamedTuple):
    position: int
    stream_id: UUID | str
    stream_version: int
    topic: str
    state: bytes


class LinkRow(NamedTuple):
    position: int
    head: bytes
    payload: bytes
    link: bytes


@dataclass(frozen=True)
class Finding:
    kind: str
    position: int | None
    detail: str

    def as_json(self) -> dict[str, object]:
        return {"kind": self.kind, "position": self.position, "detail": self.detail}


@dataclass
class Report:
    events: int = 0
    links: int = 0
    head: int = 0
    head_link: bytes = GENESIS
    checkpoints: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, object]:
        return {
            "clean": self.clean,
            "events": self.events,
            "links": self.links,
            "head": self.head,
            "head_link": self.head_link.hex(),
            "checkpoints": self.checkpoints,
            "findings": [f.as_json() for f in self.findings],
        }


class Verifier:
    """Feed it (event, link row) pairs by position (either may be missing at a position),
    then call finish(). keys are the trusted public keys (raw Ed25519) by key id."""

    def __init__(self, checkpoints: Iterable[Checkpoint], keys: dict[str, bytes]) -> None:
        self.report = Report()
        self._keys = keys
        self._checkpoints = sorted(set(checkpoints), key=lambda c: c.position)
        self._signed: dict[int, list[Checkpoint]] = {}
        for cp in self._checkpoints:
            self._signed.setdefault(cp.position, []).append(cp)
        self._seen_links: dict[int, bytes] = {}
        self._previous = GENESIS
        self._repaired: bytes | None = None
        self._previous_position = 0
        # Rows that do not match at their own position, kept to pair moved events.
        self._stray_events: dict[int, tuple[bytes, bytes]] = {}
        self._stray_links: dict[int, tuple[bytes, bytes]] = {}
        self._last_event = 0

    def feed(self, event: EventRow | None, chained: LinkRow | None) -> None:
        if chained is not None:
            self._follow(chained)
        if event is None:
            if chained is not None:
                self._stray_links[chained.position] = (chained.head, chained.payload)
            return
        position = event.position
        self.report.events += 1
        self._last_event = position
        digests = (
            head_digest(event.stream_id, event.stream_version, event.topic),
            payload_digest(event.state),
        )
        if chained is None or digests != (chained.head, chained.payload):
            self._stray_events[position] = digests
            if chained is not None:
                self._stray_links[position] = (chained.head, chained.payload)

    def feed_many(self, pairs: Iterable[tuple[EventRow | None, LinkRow | None]]) -> None:
        for event, chained in pairs:
            self.feed(event, chained)

    def feed_batch(self, events: Sequence[Sequence[Any]], links: Sequence[Sequence[Any]]) -> None:
        """Events (position, stream id, stream version, type, state) and links (position,
        head, payload, link) of one span of positions, each in position order: what feed()
        does, with the rows that match at their position checked inline (the common case;
        a log of any size is mostly them) and every other row handed to feed()."""
        sha, signed, seen = hashlib.sha256, self._signed, self._seen_links
        report = self.report
        previous, at, last = self._previous, self._previous_position, self._last_event
        i = j = 0
        while i < len(events) or j < len(links):
            e = events[i] if i < len(events) else None
            c = links[j] if j < len(links) else None
            if e is not None and c is not None and e[0] == c[0] and self._repaired is None:
                stream = e[1] if isinstance(e[1], UUID) else UUID(e[1])
                kind = e[3].encode()
                head = sha(
                    HEAD_PREFIX
                    + stream.bytes
                    + e[2].to_bytes(8, "big")
                    + len(kind).to_bytes(4, "big")
                    + kind
                ).digest()
                if (
                    head == c[1]
                    and sha(e[4]).digest() == c[2]
                    and sha(previous + e[0].to_bytes(8, "big") + head + c[2]).digest() == c[3]
                ):
                    at = last = c[0]
                    previous = c[3]
                    report.events += 1
                    report.links += 1
                    if at in signed:
                        seen[at] = previous
                    i += 1
                    j += 1
                    continue
            # Anything else takes the general path, one position at a time.
            self._previous, self._previous_position, self._last_event = previous, at, last
            if e is not None and (c is None or e[0] < c[0]):
                self.feed(EventRow(*e), None)
                i += 1
            elif c is not None and (e is None or c[0] < e[0]):
                self.feed(None, LinkRow(*c))
                j += 1
            else:
                self.feed(EventRow(*e), LinkRow(*c))  # type: ignore[misc]
                i += 1
                j += 1
            previous, at, last = self._previous, self._previous_position, self._last_event
        self._previous, self._previous_position, self._last_event = previous, at, last

    def _follow(self, chained: LinkRow) -> None:
        self.report.links += 1
        expected = link(self._previous, chained.position, chained.head, chained.payload)
        repaired, self._repaired = self._repaired, expected
        # After a break, the row that follows may follow from what the broken link should
        # have been: then that link alone was edited, one finding.
        if expected != chained.link and (
            repaired is None
            or link(repaired, chained.position, chained.head, chained.payload) != chained.link
        ):
            self._find(
                "link_broken",
                chained.position,
                f"the link at {chained.position} does not follow from the one at "
                f"{self._previous_position}: rows were removed from both tables between "
                "them, or the chain's table was edited",
            )
        if expected == chained.link:
            self._repaired = None
        self._previous, self._previous_position = chained.link, chained.position
        if chained.position in self._signed:
            self._seen_links[chained.position] = chained.link

    def finish(self) -> Report:
        self._classify()
        self._check_checkpoints()
        self.report.head = max(self._last_event, self._previous_position)
        self.report.head_link = self._previous
        self.report.findings.sort(key=lambda f: (f.position or 0, f.kind))
        return self.report

    def _classify(self) -> None:
        moved: dict[tuple[bytes, bytes], list[int]] = {}
        for position, digests in self._stray_links.items():
            moved.setdefault(digests, []).append(position)
        for position, digests in sorted(self._stray_events.items()):
            recorded = self._stray_links.get(position)
            elsewhere = [p for p in moved.get(digests, []) if p != position]
            if elsewhere:
                self._find(
                    "reordered",
                    position,
                    f"the event at {position} was linked at position {elsewhere[0]}",
                )
                moved[digests].remove(elsewhere[0])
                continue
            if recorded is None:
                self._find("inserted", position, f"the event at {position} was never linked")
                continue
            if digests[0] != recorded[0]:
                self._find(
                    "metadata_altered",
                    position,
                    f"the stream, stream version or type of the event at {position} changed",
                )
            if digests[1] != recorded[1]:
                self._find(
                    "payload_altered", position, f"the payload of the event at {position} changed"
                )
        gone = sorted(
            p
            for digests, positions in moved.items()
            for p in positions
            if p not in self._stray_events
        )
        tail = [p for p in gone if p > self._last_event]
        for position in gone:
            if position <= self._last_event:
                self._find("deleted", position, f"the event linked at {position} is gone")
        if tail:
            self._find(
                "truncated",
                tail[0],
                f"the log ends at {self._last_event} but {len(tail)} later events were "
                f"linked, up to {tail[-1]}",
            )

    def _check_checkpoints(self) -> None:
        end = max(self._last_event, self._previous_position)
        for cp in self._checkpoints:
            self.report.checkpoints += 1
            public = self._keys.get(cp.key_id)
            if public is None:
                self._find(
                    "checkpoint_unknown_key",
                    cp.position,
                    f"the checkpoint at {cp.position} is signed by key {cp.key_id}, not trusted",
                )
                continue
            if not signature_holds(public, cp):
                self._find(
                    "checkpoint_forged",
                    cp.position,
                    f"the signature of the checkpoint at {cp.position} does not hold",
                )
                continue
            if cp.position > end:
                self._find(
                    "truncated",
                    cp.position,
                    f"a checkpoint signed the log up to {cp.position}, but it ends at {end}",
                )
            elif self._seen_links.get(cp.position) != cp.link:
                self._find(
                    "checkpoint_mismatch",
                    cp.position,
                    f"the chain at {cp.position} is not what the checkpoint signed: the log "
                    "was rewritten at or before it",
                )

    def _find(self, kind: str, position: int | None, detail: str) -> None:
        self.report.findings.append(Finding(kind, position, detail))


def verify(
    rows: Iterable[tuple[EventRow | None, LinkRow | None]],
    checkpoints: Iterable[Checkpoint] = (),
    keys: dict[str, bytes] | None = None,
) -> Report:
    """The report on rows, in position order."""
    verifier = Verifier(checkpoints, keys or {})
    for event, chained in rows:
        verifier.feed(event, chained)
    return verifier.finish()
