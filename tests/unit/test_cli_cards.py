"""`registrum versions card`, `card-diff` and `set-card --merge/--remove` against a
scripted registry: what is asked for, and what is printed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.http_registry import ScriptedRegistry, ok, raw, run_cli, scripted

V = "/api/v1/models/fraud/versions/3"
VERSION = {"model": "fraud", "number": 3, "stage": "development"}


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedRegistry]:
    with scripted(monkeypatch) as fake:
        yield fake


def test_card_prints_the_markdown_with_controls_escaped(registry: ScriptedRegistry) -> None:
    markdown = "# Model card: fraud, version 3\n\n- **Reason:** credit \x1b[2J\n"
    registry.on("GET", f"{V}/card", raw(200, markdown.encode(), "text/markdown; charset=utf-8"))
    done = run_cli("versions", "card", "fraud", "3")
    assert done.exit_code == 0, done.stderr
    assert done.stdout == "# Model card: fraud, version 3\n\n- **Reason:** credit \\x1b[2J\n"
    (request,) = registry.requests
    assert request.url.params["format"] == "markdown"
    # Reads at head, as every CLI read does.
    assert request.headers["X-Registrum-Min-Position"] == "head"


def test_card_of_an_alias_as_json(registry: ScriptedRegistry) -> None:
    answer = {"model": "fraud", "version": 3, "card": {"schema_version": 1}, "completeness": {}}
    registry.on("GET", "/api/v1/models/fraud/aliases/champion", ok({"version": VERSION}))
    registry.on("GET", f"{V}/card", ok(answer))
    done = run_cli("versions", "card", "fraud", "@champion", "--format", "json")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout) == answer
    assert registry.requests[-1].url.params["format"] == "json"


def test_a_reply_that_is_not_markdown_is_not_printed(registry: ScriptedRegistry) -> None:
    registry.on("GET", f"{V}/card", raw(200, b"<html>portal</html>", "text/html"))
    done = run_cli("versions", "card", "fraud", "3", "--format", "md")
    assert done.exit_code == 1
    assert "not text/markdown" in done.stderr and "portal" not in done.stdout


def test_an_unknown_format_is_usage(registry: ScriptedRegistry) -> None:
    done = run_cli("versions", "card", "fraud", "3", "--format", "pdf")
    assert done.exit_code == 2 and "md, html or json" in done.stderr
    assert registry.requests == []


def test_card_diff_asks_for_b_against_a_and_tables_the_changes(
    registry: ScriptedRegistry,
) -> None:
    changes = {
        "model": "fraud",
        "version": 3,
        "against": 2,
        "identical": False,
        "changes": [
            {
                "section": "risk",
                "change": "changed",
                "before": {"class": "high", "reason": "r"},
                "after": {"class": "limited", "reason": "r"},
                "fields": [{"path": "risk.class", "before": "high", "after": "limited"}],
            },
            {"section": "owners", "change": "added", "before": None, "after": [{"a": 1}]},
        ],
    }
    registry.on("GET", f"{V}/card/diff", ok(changes))
    done = run_cli("versions", "card-diff", "fraud", "2", "3")
    assert done.exit_code == 0, done.stderr
    assert registry.requests[0].url.params["against"] == "2"
    rows = [line for line in done.stdout.splitlines() if "risk" in line or "owners" in line]
    assert "risk.class" in rows[0] and "high" in rows[0] and "limited" in rows[0]
    assert "added" in rows[1]


def test_card_diff_of_the_same_cards_says_so(registry: ScriptedRegistry) -> None:
    same = {"model": "fraud", "version": 3, "against": 2, "identical": True, "changes": []}
    registry.on("GET", f"{V}/card/diff", ok(same))
    done = run_cli("versions", "card-diff", "fraud", "2", "3")
    assert "the model cards of versions 2 and 3 are the same" in done.stdout


def test_set_card_merge_and_remove_send_an_amendment(
    registry: ScriptedRegistry, tmp_path: Path
) -> None:
    sections = {"risk": {"class": "high", "reason": "credit"}}
    (tmp_path / "risk.json").write_text(json.dumps(sections))
    registry.on(
        "PATCH",
        f"{V}/model-card",
        lambda request: httpx.Response(200, json={"version": VERSION, "position": 9}),
    )
    done = run_cli(
        "versions", "set-card", "fraud", "3", str(tmp_path / "risk.json"), "--merge",
        "--remove", "legacy",
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    body = json.loads(registry.requests[0].content)
    assert body == {"sections": sections, "remove": ["legacy"], "reason": None}
    assert "changed the model card of fraud version 3" in done.stdout
    # Removing alone needs no file.
    registry.requests.clear()
    assert run_cli("versions", "set-card", "fraud", "3", "--remove", "risk").exit_code == 0
    assert json.loads(registry.requests[0].content)["sections"] == {}


def test_set_card_without_a_file_or_a_removal_is_usage(registry: ScriptedRegistry) -> None:
    done = run_cli("versions", "set-card", "fraud", "3")
    assert done.exit_code == 2 and registry.requests == []
