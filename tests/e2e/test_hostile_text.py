"""Hostile text stored in the registry comes out of every CLI listing inert: rich markup is
shown as typed, never interpreted, and terminal escapes, bells, carriage returns and bidi
overrides never reach the terminal (they are shown escaped)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx

from tests.e2e.conftest import REGISTRUM, Server, admin_token, bearer, clean_env, cli

MARKUP = "[bold red]APPROVED BY CISO[/bold red]"
HOSTILE = f"{MARKUP} \x1b[2J\x1b[31mred\x1b[0m\x07 \rover\u202eesrever"
RAW = ("\x1b", "\x07", "\r", "\u202e")


def inert(done: subprocess.CompletedProcess[str]) -> str:
    """The command's whole output, once shown to hold no raw control character."""
    shown = done.stdout + done.stderr
    for raw in RAW:
        assert raw not in shown, (done.args, repr(raw), shown[:400])
    return shown


def test_every_listing_shows_stored_text_inert(server: Server, unique: str, tmp_path: Path) -> None:
    url = server.url
    model = f"[blink]hostile-{unique}"
    assert cli(url, "models", "create", model, "--description", HOSTILE).returncode == 0
    assert cli(url, "models", "tag", model, "team", HOSTILE).returncode == 0
    registered = cli(url, "versions", "register", model, "s3://m/1", "--run-id", HOSTILE)
    assert registered.returncode == 0, registered.stderr
    assert cli(url, "versions", "describe", model, "1", HOSTILE).returncode == 0
    assert cli(url, "versions", "tag", model, "1", "note", HOSTILE).returncode == 0
    asked = cli(url, "request-approval", model, "1", "production", "--reason", HOSTILE)
    assert asked.returncode == 0, asked.stderr
    approved = cli(url, "approve", model, "1", "--comment", HOSTILE, actor="bob")
    assert approved.returncode == 0, approved.stderr
    assert cli(url, "promote", model, "1", "production", actor="carol").returncode == 0
    card = {"intended_purpose": HOSTILE, "risk": {"class": "high", "reason": HOSTILE}}
    (tmp_path / "card.json").write_text(json.dumps(card))
    assert cli(url, "versions", "set-card", model, "1", str(tmp_path / "card.json")).returncode == 0
    # A person whose display name is hostile, with a grant whose reason is.
    made = httpx.post(
        f"{url}/api/v1/tokens",
        json={"subject": f"mallory-{unique}", "display_name": HOSTILE, "groups": ["testers"]},
        headers=bearer(admin_token(url)),
    )
    assert made.status_code == 201, made.text
    mallory = made.json()["token"]
    granted = httpx.post(
        f"{url}/api/v1/grants",
        json={"principal": f"user:mallory-{unique}", "role": "reader", "reason": HOSTILE},
        headers=bearer(admin_token(url)),
    )
    assert granted.status_code == 201, granted.text

    listings = [
        ("models", "list"),
        ("models", "show", model),
        ("versions", "list", model),
        ("versions", "show", model, "1"),
        ("versions", "search", f"name = '{model}'"),
        ("versions", "card", model, "1"),
        ("versions", "card", model, "1", "--format", "html"),
        ("versions", "card-diff", model, "1", "1"),
        ("timeline", model),
        ("as-of", model, "production"),
        ("grants", "list"),
        ("status",),
    ]
    shown = {args: inert(cli(url, *args)) for args in listings}
    # The markup is there as typed, in what shows descriptions and tags.
    for args in (("models", "show", model), ("versions", "show", model, "1")):
        assert MARKUP in shown[args], shown[args]
    assert "\\x1b" in shown[("models", "show", model)]
    assert model in shown[("models", "list")]
    # Who is shown, under the hostile display name, by whoami and the token list.
    for credential, args in ((mallory, ("whoami",)), (admin_token(url), ("tokens", "list"))):
        env = {**clean_env(), "REGISTRUM_URL": url, "COLUMNS": "200"}
        done = subprocess.run(
            [REGISTRUM, *args],
            env={**env, "REGISTRUM_TOKEN": credential},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert MARKUP in inert(done)
    # A refusal's message, which quotes what was asked, is inert too.
    missing = cli(url, "models", "show", "[red]no-such-model")
    assert missing.returncode == 1
    assert "[red]no-such-model" in inert(missing)
    # JSON for scripts keeps the text exactly, escaped by JSON itself.
    as_json = cli(url, "--json", "models", "show", model)
    assert json.loads(inert(as_json))["description"] == HOSTILE
