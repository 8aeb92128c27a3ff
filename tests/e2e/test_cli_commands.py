"""The CLI's commands for what was only reachable over REST before (rename, describe, tag,
untag, delete, metrics, lineage, model card), and its paging, against `registrum serve`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.e2e.conftest import Server, cli, cli_json


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_describe_tag_rename_and_delete_a_model(server: Server, unique: str) -> None:
    url, name = server.url, f"cmd-model-{unique}"
    ok(cli(url, "models", "create", name, "--description", "first try"))
    ok(cli(url, "models", "describe", name, "[bold]Flags[/bold] card fraud"))
    ok(cli(url, "models", "tag", name, "team", "risk"))
    ok(cli(url, "models", "tag", name, "tier", "1"))
    ok(cli(url, "models", "untag", name, "tier"))
    shown = cli_json(url, "models", "show", name)
    assert shown["description"] == "[bold]Flags[/bold] card fraud"
    assert shown["tags"] == {"team": "risk"}
    # Stored text is shown as typed, not as markup.
    assert "[bold]Flags[/bold] card fraud" in ok(cli(url, "models", "show", name))

    renamed = f"{name}-v2"
    assert f"renamed model {name} to {renamed}" in ok(cli(url, "models", "rename", name, renamed))
    gone = cli(url, "models", "show", name)
    assert gone.returncode == 1 and "no model named" in gone.stderr
    assert cli_json(url, "models", "show", renamed)["tags"] == {"team": "risk"}

    ok(cli(url, "models", "create", name))  # the old name is free again
    assert f"deleted model {renamed}" in ok(cli(url, "models", "delete", renamed))
    assert cli(url, "models", "show", renamed).returncode == 1


def test_describe_tag_measure_link_card_and_delete_a_version(
    server: Server, tmp_path: Path, unique: str
) -> None:
    url, name = server.url, f"cmd-version-{unique}"
    ok(cli(url, "models", "create", name))
    for i in (1, 2):
        ok(cli(url, "versions", "register", name, f"s3://models/{name}/{i}", "--metric", "auc=0.9"))

    ok(cli(url, "versions", "describe", name, "1", "baseline, trained on October"))
    ok(cli(url, "versions", "tag", name, "1", "reviewed", "yes"))
    ok(cli(url, "versions", "tag", name, "1", "draft", "true"))
    ok(cli(url, "versions", "untag", name, "1", "draft"))
    ok(cli(url, "versions", "record-metrics", name, "1", "auc=0.93", "f1=0.8"))
    linked = cli(
        url,
        "versions",
        "link-lineage",
        name,
        "1",
        "dataset=s3://data/transactions/2026-10",
        "code=git:abc123",
    )
    assert "linked 2 references" in ok(linked)
    card = {
        "intended_purpose": "flag card fraud",
        "risk": {"class": "high", "reason": "blocks payments"},
        "owners": [{"subject": "risk-team", "role": "accountable"}],
    }
    (tmp_path / "card.json").write_text(json.dumps(card))
    ok(cli(url, "versions", "set-card", name, "1", str(tmp_path / "card.json")))
    # One section more, one less; the others kept.
    (tmp_path / "plan.json").write_text(json.dumps({"monitoring_plan": {"frequency": "daily"}}))
    merged = cli(
        url, "versions", "set-card", name, "1", str(tmp_path / "plan.json"), "--merge",
        "--remove", "owners",
    )  # fmt: skip
    assert "changed the model card of" in ok(merged)
    card = {k: v for k, v in card.items() if k != "owners"}
    card = {"schema_version": 1, **card, "monitoring_plan": {"frequency": "daily"}}

    version = cli_json(url, "versions", "show", name, "1")
    assert version["description"] == "baseline, trained on October"
    assert version["tags"] == {"reviewed": "yes"}
    assert version["metrics"] == {"auc": 0.93, "f1": 0.8}
    assert {(r["kind"], r["id"]) for r in version["lineage"]} == {
        ("dataset", "s3://data/transactions/2026-10"),
        ("code", "git:abc123"),
    }
    assert version["model_card"] == card
    assert "flag card fraud" in ok(cli(url, "versions", "show", name, "1"))
    shown = ok(cli(url, "versions", "card", name, "1"))
    assert "## Intended purpose\n\nflag card fraud" in shown
    assert "missing: model_details" in shown
    assert cli_json(url, "versions", "card", name, "1", "--format", "json")["card"] == card
    assert "are the same" in ok(cli(url, "versions", "card-diff", name, "1", "1"))

    assert f"deleted {name} version 2" in ok(cli(url, "versions", "delete", name, "2"))
    assert cli(url, "versions", "show", name, "2").returncode == 1
    assert [v["number"] for v in cli_json(url, "versions", "list", name)] == [1]

    # Refusals are the server's, one line, exit 1; a bad card file is usage, exit 2.
    refused = cli(url, "versions", "tag", name, "2", "k", "v")
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
    missing = cli(url, "versions", "set-card", name, "1", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "nope.json" in missing.stderr


def test_lists_say_when_more_exist_and_all_pages_through(server: Server, unique: str) -> None:
    url, prefix = server.url, f"paged-{unique}"
    for i in range(3):
        ok(cli(url, "models", "create", f"{prefix}-{i}"))
    where = f"name LIKE '{prefix}%'"

    first = cli(url, "models", "list", "--filter", where, "--limit", "2")
    assert f"{prefix}-1" in ok(first) and f"{prefix}-2" not in first.stdout
    assert first.stderr.strip() == "showing 2 of more; use --all to list every one"

    every = cli_json(url, "models", "list", "--filter", where, "--limit", "2", "--all")
    assert [m["name"] for m in every] == [f"{prefix}-{i}" for i in range(3)]

    unknown = cli(url, "versions", "list", f"{prefix}-0", "--stage", "prod")
    assert unknown.returncode == 2
    assert "stages: development, staging, production, archived" in unknown.stderr
