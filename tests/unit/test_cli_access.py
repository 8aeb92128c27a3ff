"""whoami, tokens and grants: the request each command sends, what it prints for people
and for scripts, a new token's secret printed exactly once, and refusals (401, 403)
explained in one inert line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from registrum import Client, Forbidden, InvalidInput, RegistrumError, Unauthenticated
from registrum.cli.access import ROLES
from schemas.rules import ROLES as CONTRACT_ROLES
from tests.http_registry import TOKEN, URL, Answer, ScriptedRegistry, ok, run_cli, scripted
from tests.unit.test_cli_output import HOSTILE, SHOWN, assert_inert

SECRET = "rgm_newnewnewnew_Zm9yIGJvYiBvbmx5IGFuZCBvbmNl"
RECORD = {
    "id": "rgm_newnewnewnew",
    "subject": "bob",
    "display_name": "Bob B.",
    "kind": "service",
    "groups": ["fraud-team", "ml"],
    "description": "nightly training",
    "created_by": "admin",
    "created_at": "2026-01-01T00:00:00+00:00",
    "expires_at": "2099-04-01T00:00:00+00:00",
    "revoked_at": None,
    "revoked_by": None,
}
GRANT = {
    "principal": "group:fraud-team",
    "role": "releaser:staging",
    "scope": "prefix:fraud-",
    "granted_by": "admin",
    "valid_from": "2026-01-02T03:04:05+00:00",
    "valid_to": None,
    "revoked_by": None,
}


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedRegistry]:
    with scripted(monkeypatch) as fake:
        yield fake


def body(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


def cells(line: str) -> list[str]:
    """The words of a table row, without its borders."""
    return [word for word in line.split() if word not in ("│", "┃")]


def error(status: int, code: str, message: str, **details: object) -> Answer:
    payload = {"error": {"code": code, "message": message, "details": details}}
    return lambda request: httpx.Response(status, json=payload)


def test_the_clis_roles_are_the_contracts() -> None:
    assert ROLES == CONTRACT_ROLES


# -- whoami ------------------------------------------------------------------------------


def test_whoami_shows_who_and_the_grants_inert(registry: ScriptedRegistry) -> None:
    me = {
        "subject": "alice",
        "display_name": HOSTILE,
        "kind": "user",
        "groups": ["fraud-team"],
        "via": "oidc",
        "credential": None,
        "grants": [{"principal": "group:fraud-team", "role": "reviewer", "scope": "model:fraud"}],
    }
    registry.on("GET", "/api/v1/whoami", ok(me))
    done = run_cli("whoami")
    assert done.exit_code == 0, done.stderr
    assert_inert(done.stdout)
    assert "[bold red]owned[/bold red]" in done.stdout and "\\x1b[2J" in done.stdout
    for shown in ("alice", "fraud-team", "oidc", "group:fraud-team", "reviewer", "model:fraud"):
        assert shown in done.stdout

    as_json = run_cli("--json", "whoami")
    assert json.loads(as_json.stdout) == me


def test_whoami_without_grants_says_so(registry: ScriptedRegistry) -> None:
    registry.on("GET", "/api/v1/whoami", ok({"subject": "carol", "grants": []}))
    done = run_cli("whoami")
    assert "no grants" in done.stdout


# -- tokens ------------------------------------------------------------------------------


def issue(request: httpx.Request) -> httpx.Response:
    return httpx.Response(201, json={"token": SECRET, **RECORD})


def test_tokens_create_sends_what_was_asked_and_prints_the_secret_once(
    registry: ScriptedRegistry,
) -> None:
    registry.on("POST", "/api/v1/tokens", issue)
    done = run_cli(
        "tokens",
        "create",
        "bob",
        "--name",
        "Bob B.",
        "--service",
        "--group",
        "fraud-team",
        "--group",
        "ml",
        "--expires-in-days",
        "30",
        "--description",
        "nightly training",
    )
    assert done.exit_code == 0, done.stderr
    (request,) = registry.requests
    assert body(request) == {
        "subject": "bob",
        "display_name": "Bob B.",
        "kind": "service",
        "groups": ["fraud-team", "ml"],
        "expires_in_days": 30,
        "description": "nightly training",
    }
    assert done.stdout.count(SECRET) == 1 and SECRET not in done.stderr
    assert "token rgm_newnewnewnew for bob (service), expires 2099-04-01T00:00:00" in done.stdout
    assert "shown once" in done.stderr


def test_tokens_create_defaults(registry: ScriptedRegistry) -> None:
    registry.on("POST", "/api/v1/tokens", issue)
    run_cli("tokens", "create", "alice")
    assert body(registry.requests[0]) == {
        "subject": "alice",
        "display_name": None,
        "kind": "user",
        "groups": [],
        "expires_in_days": 90,
        "description": "",
    }


def test_tokens_create_quiet_prints_the_secret_alone_for_scripts(
    registry: ScriptedRegistry,
) -> None:
    registry.on("POST", "/api/v1/tokens", issue)
    done = run_cli("tokens", "create", "bob", "-q")
    assert done.exit_code == 0, done.stderr
    assert done.stdout == SECRET + "\n"
    assert done.stderr == ""


def test_tokens_create_json_holds_the_secret_once(registry: ScriptedRegistry) -> None:
    registry.on("POST", "/api/v1/tokens", issue)
    done = run_cli("--json", "tokens", "create", "bob")
    assert json.loads(done.stdout) == {"token": SECRET, **RECORD}
    assert done.stdout.count(SECRET) == 1
    # --quiet and --json ask for two different things.
    both = run_cli("--json", "tokens", "create", "bob", "-q")
    assert both.exit_code == 2 and len(registry.requests) == 1


def test_a_hostile_secret_is_printed_inert_even_alone(registry: ScriptedRegistry) -> None:
    registry.on("POST", "/api/v1/tokens", ok({**RECORD, "token": "rgm_x\x1b]0;pwned\x07"}, 201))
    done = run_cli("tokens", "create", "bob", "-q")
    assert done.stdout == "rgm_x\\x1b]0;pwned\\x07\n"


def test_an_answer_without_the_secret_is_not_a_registrys(registry: ScriptedRegistry) -> None:
    registry.on("POST", "/api/v1/tokens", ok(RECORD, 201))
    done = run_cli("tokens", "create", "bob", "-q")
    assert done.exit_code == 1 and "without the new token" in done.stderr


def test_tokens_list_shows_each_tokens_state(registry: ScriptedRegistry) -> None:
    tokens = [
        RECORD,
        {**RECORD, "id": "rgm_oldoldoldold", "expires_at": "2020-01-01T00:00:00+00:00"},
        {**RECORD, "id": "rgm_gonegonegone", "revoked_at": "2026-02-01", "revoked_by": HOSTILE},
    ]
    registry.on("GET", "/api/v1/tokens", ok({"tokens": tokens}))
    done = run_cli("tokens", "list", "--subject", "bob")
    assert done.exit_code == 0, done.stderr
    assert registry.requests[0].url.params["subject"] == "bob"
    assert_inert(done.stdout)
    rows = {cells(line)[0]: line for line in done.stdout.splitlines() if "rgm_" in line}
    assert "active" in rows["rgm_newnewnewnew"]
    assert "expired" in rows["rgm_oldoldoldold"]
    assert "revoked by [bold red]owned" in rows["rgm_gonegonegone"]

    every = run_cli("--json", "tokens", "list")
    assert "subject" not in registry.requests[-1].url.params
    assert json.loads(every.stdout) == {"tokens": tokens}


def test_tokens_revoke_sends_only_the_id(registry: ScriptedRegistry) -> None:
    revoked = {**RECORD, "revoked_at": "2026-03-01T00:00:00+00:00", "revoked_by": "admin"}
    registry.on("DELETE", "/api/v1/tokens/rgm_newnewnewnew", ok(revoked))
    done = run_cli("tokens", "revoke", "rgm_newnewnewnew")
    assert done.exit_code == 0, done.stderr
    assert done.stdout.strip() == "revoked token rgm_newnewnewnew of bob"
    # Given the whole token (it leaked), its secret is not sent along.
    run_cli("tokens", "revoke", SECRET)
    assert [r.url.path for r in registry.requests] == ["/api/v1/tokens/rgm_newnewnewnew"] * 2
    assert SECRET.split("_")[2] not in str(registry.requests[1].url)


# -- grants ------------------------------------------------------------------------------


def held(held: bool) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        grant = {k: v for k, v in body(request).items() if k in ("principal", "role", "scope")}
        return httpx.Response(
            201 if held else 200, json={"grant": {**grant, "held": held}, "position": 5}
        )

    return answer


def test_grants_add_and_remove(registry: ScriptedRegistry) -> None:
    registry.on("POST", "/api/v1/grants", held(True))
    registry.on("POST", "/api/v1/grants/revoke", held(False))

    done = run_cli(
        "grants", "add", "group:fraud-team", "Releaser:Staging", "--on", "prefix:fraud-",
        "--reason", "team release rights",
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert body(registry.requests[-1]) == {
        "principal": "group:fraud-team",
        "role": "releaser:staging",
        "scope": "prefix:fraud-",
        "reason": "team release rights",
    }
    assert done.stdout.strip() == "group:fraud-team holds releaser:staging on prefix:fraud-"

    done = run_cli("grants", "remove", "user:bob", "owner")
    assert done.exit_code == 0, done.stderr
    assert body(registry.requests[-1]) == {
        "principal": "user:bob",
        "role": "owner",
        "scope": "registry",
        "reason": None,
    }
    assert done.stdout.strip() == "user:bob no longer holds owner on registry"

    as_json = run_cli("--json", "grants", "add", "user:bob", "reader", "--on", "model:fraud")
    assert json.loads(as_json.stdout)["grant"] == {
        "principal": "user:bob",
        "role": "reader",
        "scope": "model:fraud",
        "held": True,
    }


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("grants", "add", "bob", "reader"), "a principal is user:ID or group:NAME"),
        (("grants", "add", "team:x", "reader"), "a principal is user:ID or group:NAME"),
        (("grants", "add", "user:bob", "admin"), "no role 'admin': use one of reader"),
        (("grants", "add", "user:bob", "reader", "--on", "fraud"), "a scope is registry"),
        (("grants", "remove", "user:bob", "reader", "--on", "model:"), "a scope is registry"),
        (("grants", "list", "--principal", "bob"), "a principal is user:ID"),
    ],
)
def test_a_bad_grant_is_a_usage_error_and_nothing_is_sent(
    registry: ScriptedRegistry, args: tuple[str, ...], said: str
) -> None:
    done = run_cli(*args)
    assert done.exit_code == 2
    assert said in done.stderr
    assert registry.requests == []


def test_grants_list(registry: ScriptedRegistry) -> None:
    revoked = {**GRANT, "principal": "user:bob", "valid_to": "2026-02-01T00:00:00+00:00"}
    registry.on(
        "GET", "/api/v1/grants", ok({"grants": [GRANT, {**revoked, "revoked_by": HOSTILE}]})
    )
    done = run_cli("grants", "list", "--principal", "group:fraud-team", "--as-of", "2026-01-05")
    assert done.exit_code == 0, done.stderr
    assert dict(registry.requests[0].url.params) == {
        "principal": "group:fraud-team",
        "as_of": "2026-01-05",
    }
    assert_inert(done.stdout)
    line = next(line for line in done.stdout.splitlines() if "group:fraud-team" in line)
    assert cells(line) == [
        "group:fraud-team",
        "releaser:staging",
        "prefix:fraud-",
        "admin",
        "2026-01-02T03:04:05",
        "-",
        "-",
    ]
    every = run_cli("--json", "grants", "list")
    assert dict(registry.requests[-1].url.params) == {}
    assert json.loads(every.stdout)["grants"][0] == GRANT


# -- refusals ----------------------------------------------------------------------------


def test_a_401_says_where_the_token_came_from_and_what_to_do(registry: ScriptedRegistry) -> None:
    registry.on(
        "GET",
        "/api/v1/whoami",
        error(
            401, "unauthenticated", "the API token rgm_abcdefghijkl was revoked", reason="revoked"
        ),
    )
    done = run_cli("whoami")
    assert done.exit_code == 1
    assert done.stderr.strip() == (
        "error (unauthenticated): the API token rgm_abcdefghijkl was revoked; the token came "
        "from REGISTRUM_TOKEN: run `registrum login` with a valid one, or set REGISTRUM_TOKEN"
    )
    assert TOKEN not in done.stderr


def test_a_401_without_a_token_says_none_was_sent(registry: ScriptedRegistry) -> None:
    registry.on(
        "GET", "/api/v1/models", error(401, "unauthenticated", "no credential", reason="missing")
    )
    done = run_cli("models", "list", token=None)
    assert done.exit_code == 1
    assert done.stderr.strip() == (
        "error (unauthenticated): no credential; no token was sent: run `registrum login` "
        "or set REGISTRUM_TOKEN"
    )


def test_a_403_shows_the_missing_permission_inert(registry: ScriptedRegistry) -> None:
    registry.on(
        "POST",
        "/api/v1/models/fraud/versions/3/promote",
        error(403, "forbidden", HOSTILE, permission="release:production", on="model:fraud"),
    )
    done = run_cli("promote", "fraud", "3", "production")
    assert done.exit_code == 1
    assert done.stderr.strip() == (
        f"error (forbidden): {SHOWN} (needs release:production on model:fraud); "
        "`registrum whoami` shows your grants"
    )
    # A message that names the permission already is not told twice.
    registry.on(
        "POST",
        "/api/v1/tokens",
        error(403, "forbidden", "bob may not issue tokens: administer on the registry is needed",
              permission="administer", on="the registry"),
    )  # fmt: skip
    done = run_cli("tokens", "create", "carol")
    assert done.stderr.strip() == (
        "error (forbidden): bob may not issue tokens: administer on the registry is needed; "
        "`registrum whoami` shows your grants"
    )


# -- the SDK -----------------------------------------------------------------------------


def test_the_sdk_sends_its_token_and_types_401_and_403() -> None:
    fake = ScriptedRegistry()
    fake.on("GET", "/api/v1/whoami", error(401, "unauthenticated", "expired", reason="expired"))
    fake.on("GET", "/api/v1/tokens", error(403, "forbidden", "no", permission="administer"))
    fake.on("POST", "/api/v1/grants", error(403, "self_approval", "not yours"))
    with fake.client(token=TOKEN) as client:
        with pytest.raises(Unauthenticated) as unknown:
            client.whoami()
        assert unknown.value.reason == "expired" and unknown.value.status == 401
        with pytest.raises(Forbidden) as forbidden:
            client.list_tokens()
        assert forbidden.value.details == {"permission": "administer"}
        # Another rule's 403 is the registry's typed error, not Forbidden.
        with pytest.raises(RegistrumError) as other:
            client.grant("user:bob", "reader")
        assert type(other.value) is RegistrumError
    assert {r.headers["authorization"] for r in fake.requests} == {f"Bearer {TOKEN}"}
    assert not any("x-registrum-actor" in r.headers for r in fake.requests)


def test_the_sdk_refuses_a_token_no_header_can_carry_without_echoing_it() -> None:
    for token in ("", "two words", "new\nline", "café"):
        with pytest.raises(InvalidInput) as refused:
            Client(URL, token=token)
        assert refused.value.code == "invalid_token"
        assert not token or token not in refused.value.message
