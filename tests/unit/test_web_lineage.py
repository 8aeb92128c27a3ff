"""The lineage drawing: layering by depth on either side of the start, order within a
column, nodes reached twice, hidden versions, the cap, and the macro's escaping."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import pytest

from services.web import lineage
from services.web.lineage import Box, Graph, layout, shorten
from services.web.render import ENV

TEMPLATES = Path(__file__).resolve().parents[2] / "services" / "web" / "templates"
START = "00000000-0000-0000-0000-000000000001"
COLUMN = lineage.NODE_WIDTH + lineage.COLUMN_GAP


def version(vid: str, model: str | None = None, number: int | None = None) -> dict[str, Any]:
    end: dict[str, Any] = {"kind": "model_version", "id": vid}
    if model is not None:
        end |= {"model": model, "version": number}
    return end


def thing(kind: str, tid: str) -> dict[str, Any]:
    return {"kind": kind, "id": tid}


def edge(src: dict[str, Any], dst: dict[str, Any], relation: str, depth: int) -> dict[str, Any]:
    return {"from": src, "to": dst, "relation": relation, "depth": depth}


def answer(direction: str, *edges: dict[str, Any], start: str = START) -> dict[str, Any]:
    return {
        "start": {"kind": "model_version", "id": start},
        "direction": direction,
        "depth": 3,
        "edges": list(edges),
    }


ME = version(START, "churn", 7)


def box(graph: Graph, kind: str, node_id: str) -> Box:
    return next(b for b in graph.boxes if (b.node.kind, b.node.id) == (kind, node_id))


def column(graph: Graph, depth: int) -> list[str]:
    """The ids of one column, top to bottom."""
    return [b.node.id for b in sorted(graph.boxes, key=lambda b: b.y) if b.node.depth == depth]


def test_upstream_lies_left_of_the_start_one_column_per_depth() -> None:
    parent = version("p", "churn", 6)
    graph = layout(
        answer(
            "upstream",
            edge(thing("dataset", "s3://d/train"), ME, "trained_on", 1),
            edge(parent, ME, "parent", 1),
            edge(thing("code", "git://r@abc"), parent, "input", 2),
        )
    )
    start = box(graph, "model_version", START)
    assert start.node.start and start.node.depth == 0
    assert box(graph, "dataset", "s3://d/train").x == start.x - COLUMN
    assert box(graph, "model_version", "p").x == start.x - COLUMN
    assert box(graph, "code", "git://r@abc").x == start.x - 2 * COLUMN
    assert box(graph, "code", "git://r@abc").node.depth == -2
    # The leftmost column starts at the margin; the viewBox holds every box and a margin.
    assert min(b.x for b in graph.boxes) == lineage.MARGIN
    assert graph.width == start.x + start.width + lineage.MARGIN
    assert graph.height == max(b.y + b.height for b in graph.boxes) + lineage.MARGIN
    assert (graph.left_out, graph.left_out_edges, graph.unlisted) == (0, 0, 0)


def test_downstream_lies_right_and_both_directions_share_the_start() -> None:
    child = version("c", "churn", 8)
    up = answer("upstream", edge(thing("dataset", "d1"), ME, "trained_on", 1))
    down = answer(
        "downstream",
        edge(ME, child, "parent", 1),
        edge(child, thing("deployment", "prod-eu"), "serves", 2),
    )
    graph = layout(up, down)
    start = box(graph, "model_version", START)
    assert box(graph, "dataset", "d1").x == start.x - COLUMN
    assert box(graph, "model_version", "c").x == start.x + COLUMN
    assert box(graph, "deployment", "prod-eu").x == start.x + 2 * COLUMN
    assert [b.node.depth for b in sorted(graph.boxes, key=lambda b: b.x)] == [-1, 0, 1, 2]
    # The start's label comes from an edge that names it; it does not link to itself.
    assert graph.start.label == "churn v7" and graph.start.href is None
    assert box(graph, "model_version", "c").node.href == "/models/churn/versions/8"
    with pytest.raises(ValueError, match="different starts"):
        layout(up, answer("downstream", start="another"))


def test_a_column_goes_by_kind_then_label() -> None:
    edges = [
        edge(thing("run", "r1"), ME, "produced_by", 1),
        edge(version("v-b", "beta", 1), ME, "parent", 1),
        edge(thing("dataset", "zeta"), ME, "trained_on", 1),
        edge(thing("code", "c1"), ME, "input", 1),
        edge(thing("dataset", "alpha"), ME, "trained_on", 1),
        edge(version("v-a", "alpha", 2), ME, "parent", 1),
    ]
    expected = ["alpha", "zeta", "c1", "r1", "v-a", "v-b"]  # dataset, code, run, model_version
    graph = layout(answer("upstream", *edges))
    assert column(graph, -1) == expected
    # Whatever order the answer came in.
    assert column(layout(answer("upstream", *reversed(edges))), -1) == expected
    # Rows one box and a gap apart from the top margin; the lone start centred beside them.
    step = lineage.NODE_HEIGHT + lineage.ROW_GAP
    ys = [box(graph, b.node.kind, b.node.id).y for b in graph.boxes if b.node.depth == -1]
    assert sorted(ys) == [lineage.MARGIN + i * step for i in range(6)]
    assert box(graph, "model_version", START).y == lineage.MARGIN + 5 * step // 2


def test_a_nodes_inputs_sit_beside_it_rather_than_by_kind() -> None:
    # Column -1: versions a (top) and b. Their inputs, alphabetically, would put b's first.
    a, b = version("a", "a", 1), version("b", "b", 1)
    graph = layout(
        answer(
            "upstream",
            edge(a, ME, "parent", 1),
            edge(b, ME, "parent", 1),
            edge(thing("dataset", "a-data"), b, "trained_on", 2),
            edge(thing("dataset", "b-data"), a, "trained_on", 2),
        )
    )
    assert column(graph, -1) == ["a", "b"]
    assert column(graph, -2) == ["b-data", "a-data"]
    # So the two curves do not cross: each input is level with the version it went into.
    assert box(graph, "dataset", "b-data").y == box(graph, "model_version", "a").y
    assert box(graph, "dataset", "a-data").y == box(graph, "model_version", "b").y


def test_a_node_reached_twice_lands_once_at_its_nearest_depth() -> None:
    # A diamond: the dataset fed the start directly and, two steps away, its parent.
    parent = version("p", "churn", 6)
    data = thing("dataset", "shared")
    graph = layout(
        answer(
            "upstream",
            edge(data, ME, "trained_on", 1),
            edge(parent, ME, "parent", 1),
            edge(data, parent, "trained_on", 2),
        )
    )
    shared = [b for b in graph.boxes if b.node.id == "shared"]
    assert len(shared) == 1 and shared[0].node.depth == -1
    assert len(graph.boxes) == 3 and len(graph.edges) == 3
    # Its link to the parent runs within one column: out of the right side and back.
    within = next(e for e in graph.edges if e.link.target.id == "p")
    right = shared[0].x + lineage.NODE_WIDTH
    assert re.fullmatch(rf"M {right} \d+ C {right + lineage.BULGE} .* {right} \d+", within.d)
    assert within.anchor == "middle"


def test_a_cycle_through_the_start_keeps_each_node_once() -> None:
    other = version("o", "churn", 9)
    up = answer("upstream", edge(other, ME, "parent", 1))
    down = answer("downstream", edge(ME, other, "parent", 1))
    graph = layout(up, down)
    assert sorted(b.node.id for b in graph.boxes) == sorted(["o", START])
    # On a tie the node goes upstream, and the link back to it runs right to left.
    assert box(graph, "model_version", "o").node.depth == -1
    back = next(e for e in graph.edges if e.link.source.start)
    start = box(graph, "model_version", START)
    assert back.d.startswith(f"M {start.x} ")
    assert back.d.endswith(f" {lineage.MARGIN + lineage.NODE_WIDTH} {start.y + 20}")


def test_relations_between_the_same_two_nodes_make_one_edge() -> None:
    data = thing("dataset", "d")
    graph = layout(answer("upstream", edge(data, ME, "trained_on", 1), edge(data, ME, "input", 1)))
    assert [e.link.relation for e in graph.edges] == ["input, trained_on"]


def test_an_edge_is_a_curve_from_side_to_side() -> None:
    graph = layout(answer("upstream", edge(thing("dataset", "d"), ME, "trained_on", 1)))
    data, start = box(graph, "dataset", "d"), box(graph, "model_version", START)
    (only,) = graph.edges
    x0, x1, y = data.x + data.width, start.x, data.y + data.height // 2
    mid = (x0 + x1) // 2
    assert only.d == f"M {x0} {y} C {mid} {y} {mid} {y} {x1} {y}"
    # One curve each end: the label goes by the end farther from the start, the source.
    assert (only.label, only.label_x, only.label_y, only.anchor) == (
        "trained_on",
        x0 + 6,
        y - 4,
        "start",
    )


def test_a_label_sits_by_the_end_with_fewer_curves() -> None:
    # Two datasets fan into the start: each label beside its dataset, not at the start.
    # The start has three curves, the child one: that label goes by the child.
    child = version("c", "churn", 8)
    graph = layout(
        answer(
            "upstream",
            edge(thing("dataset", "a"), ME, "trained_on", 1),
            edge(thing("dataset", "b"), ME, "trained_on", 1),
        ),
        answer("downstream", edge(ME, child, "parent", 1)),
    )
    by_source = {e.link.source.id: e for e in graph.edges}
    for name in ("a", "b"):
        data = box(graph, "dataset", name)
        label = by_source[name]
        assert (label.anchor, label.label_x) == ("start", data.x + data.width + 6)
        assert label.label_y == data.y + data.height // 2 - 4
    onward, kid = by_source[START], box(graph, "model_version", "c")
    assert (onward.anchor, onward.label_x, onward.label_y) == ("end", kid.x - 10, kid.y + 16)


def test_hidden_and_unlabelled_versions_show_no_name_nor_link() -> None:
    readable = version("r", "fraud/eu?x", 3)
    unreadable = version("h")  # the query names only the versions the viewer may read
    graph = layout(
        answer("upstream", edge(readable, ME, "parent", 1), edge(unreadable, ME, "parent", 1))
    )
    shown = box(graph, "model_version", "r").node
    assert shown.href == "/models/fraud%2Feu%3Fx/versions/3"
    assert (shown.label, shown.title) == ("fraud/eu?x v3", "fraud/eu?x version 3")
    hidden = box(graph, "model_version", "h").node
    assert hidden.href is None
    assert hidden.label == "unreadable version"
    assert "h" not in hidden.title.split()
    assert hidden.classes == "node node-model_version"
    assert graph.start.classes == "node node-model_version node-start"


def test_a_hidden_versions_ancestors_keep_their_depth() -> None:
    # The query drops the edges touching a hidden parent; its own parent stays two away.
    grand = version("g", "base", 1)
    graph = layout(answer("upstream", edge(thing("code", "c"), grand, "input", 3)))
    assert box(graph, "model_version", "g").node.depth == -2
    assert box(graph, "code", "c").node.depth == -3


def test_the_drawing_is_capped_nearest_first_and_says_how_much_it_left_out() -> None:
    parent = version("p", "churn", 6)
    near = [edge(thing("dataset", f"d{i:02}"), ME, "trained_on", 1) for i in range(5)]
    far = [edge(thing("code", f"c{i:02}"), parent, "input", 2) for i in range(10)]
    graph = layout(
        answer("upstream", *near, edge(parent, ME, "parent", 1), *far), max_nodes=10, max_links=12
    )
    assert len(graph.boxes) == 10
    # The start and all of depth 1 first, then depth 2 in order.
    assert {b.node.depth for b in graph.boxes if b.node.id.startswith("d")} == {-1}
    assert column(graph, -2) == ["c00", "c01", "c02"]
    assert (graph.left_out, graph.left_out_edges) == (7, 7)
    assert len(graph.edges) == 16 - 7
    assert all(e.link.source.id not in {"c03", "c09"} for e in graph.edges)
    # The list goes further than the drawing, to its own cap.
    assert len(graph.links) == 12 and graph.unlisted == 4 and graph.capped


@pytest.mark.parametrize(
    ("uri", "short"),
    [
        ("s3://bucket/d", "s3://bucket/d"),
        ("s3://lake/warehouse/churn/2024/train.parquet", "…/churn/2024/train.parquet"),
        ("git+https://github.com/acme/churn@" + "a1b2c3d4" * 5, "…/acme/churn@a1b2c3d4…"),
        ("0123456789abcdef0123456789abcdef", "01234567…"),
        ("x" * 40, "x" * 12 + "…" + "x" * 13),
    ],
)
def test_ids_are_shortened_to_what_names_them(uri: str, short: str) -> None:
    assert shorten(uri) == short
    assert len(shorten(uri)) <= lineage.LABEL_CHARS


def test_a_long_model_name_keeps_its_version_number() -> None:
    graph = layout(answer("upstream", edge(version("v", "m" * 60, 12), ME, "parent", 1)))
    label = box(graph, "model_version", "v").node.label
    assert label.endswith("… v12") and len(label) == lineage.LABEL_CHARS


PLAIN = jinja2.Environment(
    autoescape=True, loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined
)


def render(graph: Graph, env: jinja2.Environment = PLAIN) -> str:
    page = env.from_string('{% from "lineage.html" import lineage_graph %}{{ lineage_graph(g) }}')
    return page.render(g=graph)


HOSTILE = "<script>alert(1)</script>"


def test_the_macro_escapes_every_label() -> None:
    graph = layout(
        answer(
            "upstream",
            edge(thing("dataset", HOSTILE), ME, HOSTILE, 1),
            edge(version("v", HOSTILE, 2), ME, "parent", 1),
        )
    )
    html = render(graph)
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the dataset's whole id, listed
    assert 'href="/models/%3Cscript%3Ealert%281%29%3C%2Fscript%3E/versions/2"' in html
    # No inline style of any kind, under the console's CSP.
    assert "style" not in html.lower()


def test_the_macro_draws_boxes_links_and_the_list() -> None:
    graph = layout(
        answer(
            "upstream",
            edge(thing("dataset", "s3://d/train"), ME, "trained_on", 1),
            edge(version("p", "churn", 6), ME, "parent", 1),
        )
    )
    html = render(graph)
    # A group, not an image: an image may not hold links (axe's nested-interactive).
    assert 'role="group"' in html and 'aria-labelledby="lineage-title"' in html
    assert '<title id="lineage-title">Lineage of churn version 7' in html
    assert html.count('marker-end="url(#lineage-arrow)"') == 2
    assert html.count('<g class="node ') == 3
    assert html.count("<li>") == 2
    assert '<a href="/models/churn/versions/6" tabindex="-1">' in html  # the box
    assert '<a href="/models/churn/versions/6">churn version 6</a>' in html  # the list
    dataset = box(graph, "dataset", "s3://d/train")
    assert f'<rect x="{dataset.x}" y="{dataset.y}" width="190" height="40"' in html
    assert " open" not in html  # nothing left out: the list starts folded


def test_an_empty_lineage_says_so() -> None:
    html = render(layout(answer("upstream")))
    assert "Nothing recorded." in html and "<svg" not in html


def test_the_consoles_own_environment_prints_the_drawing_once_escaped() -> None:
    # Its finalize makes control characters visible; the macro's markup must pass through.
    graph = layout(
        answer("upstream", edge(thing("dataset", "line\nbreak" + HOSTILE), ME, "trained_on", 1))
    )
    html = render(graph, ENV)
    assert re.match(r'<figure class="lineage-graph">\s*<svg class="lineage"', html)
    assert "&lt;svg" not in html and "&amp;lt;" not in html
    assert "<code>line\\nbreak&lt;script&gt;alert(1)&lt;/script&gt;</code>" in html


def test_a_capped_drawing_says_so_and_opens_its_list() -> None:
    near = [edge(thing("dataset", f"d{i:02}"), ME, "trained_on", 1) for i in range(5)]
    html = render(layout(answer("upstream", *near), max_nodes=3, max_links=4))
    assert html.count('<g class="node ') == 3
    assert "the 3 nodes nearest this version; 3 more nodes and 3 links are not drawn" in html
    assert '<details class="lineage-list" open>' in html
    assert html.count("<li>") == 4 + 1 and "Not listed: 1 more." in html
