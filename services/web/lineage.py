"""Lineage laid out for drawing: the answers of services.catalogue.queries.lineage turned
into boxes and curves of an SVG, without IO and without a template.

Columns are depths: the start in one column, what it was made from to its left (upstream),
what was made from it to its right (downstream). Within a column nodes go by kind then
label, after one barycentre sweep outward from the start so that a node sits near what it
is linked to. The drawing is capped; the list of links the template prints beside it is
capped more loosely, and both say how much they left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from schemas.rules import LINEAGE_KINDS

NODE_WIDTH = 190
NODE_HEIGHT = 40
COLUMN_GAP = 110  # room for a curve and its relation label between two columns
ROW_GAP = 14
MARGIN = 40  # also room for the bulge of a curve between two nodes of one column
BULGE = 30
LABEL_CHARS = 26  # what fits in NODE_WIDTH at the stylesheet's 12px
RELATION_CHARS = 16  # what fits in COLUMN_GAP at 10px, beside an arrowhead
MAX_NODES = 60
MAX_LINKS = 200

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HEX = re.compile(r"[0-9a-fA-F]{16,}")


@dataclass(frozen=True)
class Node:
    """One dataset, code, run, version... of the graph. depth is signed: negative
    upstream of the start, positive downstream, 0 for the start itself."""

    kind: str
    id: str
    label: str  # short, for the box
    title: str  # whole, for a tooltip and the list
    href: str | None  # a readable model version's page
    depth: int
    start: bool = False

    @property
    def classes(self) -> str:
        """The class names the stylesheet styles a box by."""
        kind = self.kind if self.kind in LINEAGE_KINDS else "other"
        return f"node node-{kind}" + (" node-start" if self.start else "")


@dataclass(frozen=True)
class Box:
    """Where a node is drawn."""

    node: Node
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Link:
    """What was used (source) for what was made (target), by one or more relations."""

    source: Node
    target: Node
    relation: str  # the relations between the two, joined with ", "


@dataclass(frozen=True)
class Edge:
    """A drawn link: an SVG path from one box's side to another's, and where its relation
    label goes."""

    link: Link
    d: str
    label: str  # the relation, shortened
    label_x: int
    label_y: int
    anchor: str  # the label's text-anchor: start, middle or end


@dataclass(frozen=True)
class Graph:
    """The drawing (boxes, edges, a width x height viewBox) and the list (links)."""

    start: Node
    boxes: tuple[Box, ...]
    edges: tuple[Edge, ...]
    links: tuple[Link, ...]
    width: int
    height: int
    left_out: int  # nodes not drawn, for the cap
    left_out_edges: int  # links not drawn, an end of theirs being left out
    unlisted: int  # links not in links, for MAX_LINKS

    @property
    def capped(self) -> bool:
        return bool(self.left_out or self.unlisted)


def layout(
    *answers: Mapping[str, Any], max_nodes: int = MAX_NODES, max_links: int = MAX_LINKS
) -> Graph:
    """Lay out one or more lineage answers around the same start (typically its upstream
    and its downstream answers) for drawing. A node reached more than once lands once,
    at its smallest distance from the start (upstream when both sides tie)."""
    if not answers:
        raise ValueError("no lineage answer to lay out")
    if max_nodes < 1:
        raise ValueError("max_nodes must leave room for the start")
    starts = {(a["start"]["kind"], str(a["start"]["id"])) for a in answers}
    if len(starts) != 1:
        raise ValueError("the answers are about different starts")
    start_key = starts.pop()
    ends, relations = _collect(answers)
    nodes = {
        key: _node(key, ends.get(key, {}), depth, key == start_key)
        for key, depth in _depths(answers, start_key).items()
    }
    links = [
        Link(nodes[s], nodes[t], ", ".join(sorted(rels))) for (s, t), rels in relations.items()
    ]
    links.sort(key=_link_order)
    kept = _keep(nodes, start_key, max_nodes)
    boxes = _place(kept, [(s, t) for s, t in relations if s in kept and t in kept])
    drawn = [lk for lk in links if _key(lk.source) in boxes and _key(lk.target) in boxes]
    width, height = _extent(boxes)
    return Graph(
        start=nodes[start_key],
        boxes=tuple(sorted(boxes.values(), key=lambda b: (b.x, b.y))),
        edges=tuple(_edge(lk, boxes, _degrees(drawn)) for lk in drawn),
        links=tuple(links[:max_links]),
        width=width,
        height=height,
        left_out=len(nodes) - len(kept),
        left_out_edges=len(links) - len(drawn),
        unlisted=max(0, len(links) - max_links),
    )


Key = tuple[str, str]


def _key(node: Node) -> Key:
    return (node.kind, node.id)


def _end_key(end: Mapping[str, Any]) -> Key:
    return (str(end["kind"]), str(end["id"]))


def _collect(
    answers: Iterable[Mapping[str, Any]],
) -> tuple[dict[Key, Mapping[str, Any]], dict[tuple[Key, Key], set[str]]]:
    """Every node's fullest description, and the relations of each (source, target)."""
    ends: dict[Key, Mapping[str, Any]] = {}
    relations: dict[tuple[Key, Key], set[str]] = {}
    for answer in answers:
        for edge in answer["edges"]:
            pair = (_end_key(edge["from"]), _end_key(edge["to"]))
            for key, end in zip(pair, (edge["from"], edge["to"]), strict=True):
                # A version's label comes with some of its appearances only: keep one.
                if key not in ends or ("model" in end and "model" not in ends[key]):
                    ends[key] = end
            relations.setdefault(pair, set()).add(str(edge["relation"]))
    return ends, relations


def _depths(answers: Iterable[Mapping[str, Any]], start_key: Key) -> dict[Key, int]:
    """Each node's signed depth. An edge's depth is how far its far end lies; its near
    end lies one step nearer. The answer's own depths are used rather than a walk of the
    edges: with a hidden version's edges taken out, what lies behind it keeps its place."""
    best: dict[Key, int] = {start_key: 0}
    for answer in answers:
        sign = -1 if answer["direction"] == "upstream" else 1
        for edge in answer["edges"]:
            depth = int(edge["depth"])
            source, target = _end_key(edge["from"]), _end_key(edge["to"])
            far, near = (source, target) if sign < 0 else (target, source)
            for key, steps in ((far, depth), (near, depth - 1)):
                if key == start_key:
                    continue
                steps = max(steps, 1)  # only the start is at 0
                held = best.get(key)
                # Nearest wins; on a tie between sides, upstream (negative) does.
                if held is None or (steps, sign) < (abs(held), _sign(held)):
                    best[key] = sign * steps
    return best


def _sign(depth: int) -> int:
    return -1 if depth < 0 else 1


def _node(key: Key, end: Mapping[str, Any], depth: int, start: bool) -> Node:
    kind, node_id = key
    if kind == "model_version":
        model, version = end.get("model"), end.get("version")
        if model is not None and isinstance(version, int):
            return Node(
                kind=kind,
                id=node_id,
                label=_version_label(str(model), version),
                title=f"{model} version {version}",
                # The start's page is the one showing the graph: no link to itself.
                href=None if start else f"/models/{quote(str(model), safe='')}/versions/{version}",
                depth=depth,
                start=start,
            )
        # Hidden from this viewer (or gone): neither its name nor its id is shown.
        label = "this version" if start else "unreadable version"
        return Node(kind, node_id, label, "a version you may not read", None, depth, start)
    return Node(kind, node_id, shorten(node_id), f"{kind} {node_id}", None, depth, start)


def _version_label(model: str, version: int) -> str:
    suffix = f" v{version}"
    room = LABEL_CHARS - len(suffix)
    if len(model) > room:
        model = model[: max(room - 1, 1)] + "…"
    return model + suffix


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    """A dataset, code or run id short enough for a box: the scheme dropped, long hashes
    cut to a prefix, a path's last segments kept, and failing that both ends."""
    if len(text) <= limit:
        return text
    bare = _SCHEME.sub("", text)  # the box already says what kind of thing it is
    bare = _HEX.sub(lambda m: m.group()[:8] + "…", bare)  # how people quote a hash
    bare = bare.rstrip("/") or bare
    if len(bare) <= limit:
        return bare
    parts = [p for p in bare.split("/") if p]
    tail = parts[-1] if parts else bare
    for part in reversed(parts[:-1]):
        if len(part) + 1 + len(tail) + 2 > limit:
            break
        tail = f"{part}/{tail}"
    if len(parts) > 1 and len(tail) + 2 <= limit:
        return "…/" + tail  # a path's end names the thing
    head = (limit - 1) // 2
    return bare[:head] + "…" + bare[len(bare) - (limit - 1 - head) :]


def _kind_rank(kind: str) -> tuple[int, str]:
    return (LINEAGE_KINDS.index(kind) if kind in LINEAGE_KINDS else len(LINEAGE_KINDS), kind)


def _node_order(node: Node) -> tuple[Any, ...]:
    return (_kind_rank(node.kind), node.label, node.id)


def _link_order(link: Link) -> tuple[Any, ...]:
    nearest = min(abs(link.source.depth), abs(link.target.depth))
    return (nearest, _node_order(link.source), link.relation, _node_order(link.target))


def _keep(nodes: Mapping[Key, Node], start_key: Key, max_nodes: int) -> dict[Key, Node]:
    """The max_nodes nodes nearest the start (the start first of all)."""
    ranked = sorted(
        nodes.values(),
        key=lambda n: (not n.start, abs(n.depth), _sign(n.depth), *_node_order(n)),
    )
    return {_key(n): n for n in ranked[:max_nodes]}


def _place(nodes: Mapping[Key, Node], pairs: list[tuple[Key, Key]]) -> dict[Key, Box]:
    """Boxes column by column, outward from the start: each column ordered by where its
    neighbours in the column nearer the start sit (a barycentre, which keeps most curves
    from crossing), then by kind and label; each column centred on the tallest."""
    columns: dict[int, list[Node]] = {}
    for node in nodes.values():
        columns.setdefault(node.depth, []).append(node)
    neighbours: dict[Key, list[Key]] = {}
    for source, target in pairs:
        neighbours.setdefault(source, []).append(target)
        neighbours.setdefault(target, []).append(source)
    tallest = max(len(c) for c in columns.values())
    first = min(columns)
    boxes: dict[Key, Box] = {}
    for depth in sorted(columns, key=lambda d: (abs(d), d)):
        inner = depth - _sign(depth) if depth else None

        def centre(node: Node, inner: int | None = inner) -> float:
            ys = [
                boxes[k].y
                for k in neighbours.get(_key(node), [])
                if k in boxes and boxes[k].node.depth == inner
            ]
            # Nothing nearer the start to be near: below those that have.
            return sum(ys) / len(ys) if ys else float("inf")

        column = sorted(columns[depth], key=lambda n: (centre(n), *_node_order(n)))
        top = MARGIN + (tallest - len(column)) * (NODE_HEIGHT + ROW_GAP) // 2
        x = MARGIN + (depth - first) * (NODE_WIDTH + COLUMN_GAP)
        for row, node in enumerate(column):
            y = top + row * (NODE_HEIGHT + ROW_GAP)
            boxes[_key(node)] = Box(node, x, y, NODE_WIDTH, NODE_HEIGHT)
    return boxes


def _extent(boxes: Mapping[Key, Box]) -> tuple[int, int]:
    right = max(b.x + b.width for b in boxes.values())
    bottom = max(b.y + b.height for b in boxes.values())
    return right + MARGIN, bottom + MARGIN


def _degrees(links: Iterable[Link]) -> dict[Key, int]:
    counts: dict[Key, int] = {}
    for link in links:
        for key in (_key(link.source), _key(link.target)):
            counts[key] = counts.get(key, 0) + 1
    return counts


def _edge(link: Link, boxes: Mapping[Key, Box], degrees: Mapping[Key, int]) -> Edge:
    """A cubic curve from the source's side to the target's, leaving and arriving level
    so that the arrowhead meets the box square on. Its label sits beside the end with
    fewer curves (where curves fan in, labels at their middles would pile up), the end
    farther from the start when both have as many."""
    a, b = boxes[_key(link.source)], boxes[_key(link.target)]
    ay, by = a.y + a.height // 2, b.y + b.height // 2
    if a.x < b.x:  # the usual way: used on the left, made on the right
        x0, x1 = a.x + a.width, b.x
        bend = (x1 - x0) // 2
        c0, c1 = x0 + bend, x1 - bend
    elif a.x > b.x:  # made before what it was made from (a cycle): right to left
        x0, x1 = a.x, b.x + b.width
        bend = (x0 - x1) // 2
        c0, c1 = x0 - bend, x1 + bend
    else:  # one column: out of the right side and back in
        x0 = x1 = a.x + a.width
        c0 = c1 = x0 + BULGE
        if a is b:  # a node linked to itself: a small loop
            ay, by = ay - 8, by + 8
    d = f"M {x0} {ay} C {c0} {ay} {c1} {by} {x1} {by}"
    label = shorten(link.relation, RELATION_CHARS)
    if a.x < b.x:
        fewer = degrees[_key(link.source)], degrees[_key(link.target)]
        outer_is_source = abs(link.source.depth) >= abs(link.target.depth)
        if fewer[0] < fewer[1] or (fewer[0] == fewer[1] and outer_is_source):
            return Edge(link, d, label, x0 + 6, ay - 4, "start")
        return Edge(link, d, label, x1 - 10, by - 4, "end")  # clear of the arrowhead
    # Otherwise the curve's midpoint (t = 1/2), the label just above it.
    mid_x = (x0 + 3 * c0 + 3 * c1 + x1) // 8
    mid_y = (ay + 3 * ay + 3 * by + by) // 8
    return Edge(link, d, label, mid_x, mid_y - 4, "middle")
