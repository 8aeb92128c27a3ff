"""Which token the CLI sends, where it keeps one, and how it refuses to keep one badly:
REGISTRUM_TOKEN, else the profile's (only to the profile's URL), else the local first
administrator's (only to this machine); a credentials file others may read, or a link
standing where it should be, is refused like ssh refuses a key."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from registrum import credentials
from registrum.credentials import Profile
from registrum.errors import CredentialsError
from tests.http_registry import TOKEN, URL, ScriptedRegistry, ok, refusal, run_cli, scripted

ME = {
    "subject": "alice",
    "display_name": "Alice A.",
    "kind": "user",
    "groups": ["fraud-team"],
    "via": "token",
    "credential": "rgm_abcdefghijkl",
    "grants": [{"principal": "group:fraud-team", "role": "contributor", "scope": "prefix:fraud-"}],
}
LOCAL = "http://127.0.0.1:8000"
PROFILE_TOKEN = "rgm_profileprofi_from-the-profile"
ADMIN_TOKEN = "rgm_adminadminad_from-the-admin-file"
ENV_TOKEN = "rgm_envenvenvenv_from-the-environment"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh config home and data directory; nothing of the machine's own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("REGISTRUM_DATA_DIR", str(tmp_path / "data"))
    for name in ("REGISTRUM_TOKEN", "REGISTRUM_URL", "REGISTRUM_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch, home: Path) -> Iterator[ScriptedRegistry]:
    with scripted(monkeypatch) as fake:
        fake.on("GET", "/api/v1/whoami", ok(ME))
        yield fake


def saved_file(home: Path) -> Path:
    return home / "config" / "registrum" / "credentials.json"


def write_profiles(home: Path, profiles: dict[str, Profile], mode: int = 0o600) -> Path:
    path = saved_file(home)
    credentials.save(path, profiles)
    path.chmod(mode)
    return path


def write_admin_token(home: Path, token: str = ADMIN_TOKEN) -> Path:
    path = home / "data" / "admin.token"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token + "\n")
    path.chmod(0o600)
    return path


def bearer(registry: ScriptedRegistry) -> list[str | None]:
    return [r.headers.get("authorization") for r in registry.requests]


# -- which token -------------------------------------------------------------------------


def test_the_environment_beats_the_profile_which_beats_the_admin_file(home: Path) -> None:
    write_profiles(home, {"default": Profile(LOCAL, PROFILE_TOKEN)})
    write_admin_token(home)
    env = dict(os.environ)

    found = credentials.resolve(None, None, {**env, "REGISTRUM_TOKEN": ENV_TOKEN})
    assert (found.url, found.token, found.source) == (LOCAL, ENV_TOKEN, "REGISTRUM_TOKEN")

    found = credentials.resolve(None, None, env)
    assert (found.url, found.token) == (LOCAL, PROFILE_TOKEN)
    assert found.source is not None and "profile 'default'" in found.source

    saved_file(home).unlink()
    found = credentials.resolve(None, None, env)
    assert (found.url, found.token) == (LOCAL, ADMIN_TOKEN)
    assert found.source is not None and "admin.token" in found.source


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://localhost:9000/", True),
        ("http://[::1]:8000", True),
        ("http://127.0.0.2:8000", True),
        ("http://registry.test", False),
        ("https://10.0.0.5:8000", False),
        ("http://localhost.evil.example", False),
    ],
)
def test_the_admin_file_is_used_only_for_this_machine(home: Path, url: str, sent: bool) -> None:
    write_admin_token(home)
    found = credentials.resolve(url, None, dict(os.environ))
    assert found.token == (ADMIN_TOKEN if sent else None)


def test_a_profiles_url_is_used_when_none_is_given_and_its_token_goes_only_there(
    home: Path,
) -> None:
    write_profiles(home, {"default": Profile(URL, PROFILE_TOKEN)})
    env = dict(os.environ)
    assert credentials.resolve(None, None, env).url == URL
    # Another registry never gets the default profile's token.
    other = credentials.resolve("http://elsewhere.test", None, env)
    assert (other.url, other.token) == ("http://elsewhere.test", None)
    # The same registry written with a trailing slash does.
    assert credentials.resolve(URL + "/", None, env).token == PROFILE_TOKEN


def test_a_named_profile_must_exist_and_match_the_url(home: Path) -> None:
    write_profiles(home, {"prod": Profile(URL, PROFILE_TOKEN)})
    env = dict(os.environ)
    assert credentials.resolve(None, "prod", env).token == PROFILE_TOKEN
    with pytest.raises(CredentialsError, match="no profile 'staging'"):
        credentials.resolve(None, "staging", env)
    with pytest.raises(CredentialsError, match="sent only there"):
        credentials.resolve("http://elsewhere.test", "prod", env)


def test_the_cli_sends_the_chosen_token_as_a_bearer_and_never_an_actor_header(
    registry: ScriptedRegistry, home: Path
) -> None:
    write_profiles(home, {"default": Profile(URL, PROFILE_TOKEN)})
    # From the profile, to the profile's URL (no --url given).
    done = run_cli("whoami", token=None, url=None)
    assert done.exit_code == 0, done.stderr
    assert str(registry.requests[-1].url) == f"{URL}/api/v1/whoami"
    # REGISTRUM_TOKEN beats the profile.
    assert run_cli("whoami", url=None).exit_code == 0
    # A named profile through REGISTRUM_PROFILE.
    write_profiles(home, {"ci": Profile(URL, PROFILE_TOKEN)})
    done = run_cli("whoami", token=None, url=None, env={"REGISTRUM_PROFILE": "ci"})
    assert done.exit_code == 0, done.stderr
    assert bearer(registry) == [
        f"Bearer {PROFILE_TOKEN}",
        f"Bearer {TOKEN}",
        f"Bearer {PROFILE_TOKEN}",
    ]
    assert not any("x-registrum-actor" in r.headers for r in registry.requests)


def test_the_old_actor_option_is_gone(registry: ScriptedRegistry) -> None:
    done = run_cli("--as", "alice", "whoami")
    assert done.exit_code == 2
    assert registry.requests == []


def test_without_any_token_none_is_sent(registry: ScriptedRegistry) -> None:
    done = run_cli("whoami", token=None)
    assert done.exit_code == 0, done.stderr
    assert bearer(registry) == [None]


# -- refusing an unsafe file ----------------------------------------------------------------


def test_a_credentials_file_others_may_read_is_refused(
    registry: ScriptedRegistry, home: Path
) -> None:
    path = write_profiles(home, {"default": Profile(URL, PROFILE_TOKEN)}, mode=0o640)
    done = run_cli("whoami", token=None)
    assert done.exit_code == 2
    assert f"run `chmod 600 {path}`" in done.stderr
    assert PROFILE_TOKEN not in done.stderr + done.stdout
    assert registry.requests == []  # nothing was sent


def test_a_link_at_the_credentials_path_is_not_followed(
    registry: ScriptedRegistry, home: Path
) -> None:
    # A file elsewhere, private and well-formed, with a link planted at our path.
    elsewhere = home / "planted.json"
    credentials.save(elsewhere, {"default": Profile(URL, "rgm_plantedplant_someone-elses")})
    path = saved_file(home)
    path.parent.mkdir(parents=True)
    path.symlink_to(elsewhere)

    done = run_cli("whoami", token=None)
    assert done.exit_code == 2
    assert "symbolic link" in done.stderr
    assert registry.requests == []

    # Writing replaces the link with a file of our own; the link's target is untouched.
    before = elsewhere.read_text()
    credentials.save(path, {"default": Profile(URL, PROFILE_TOKEN)})
    assert not path.is_symlink() and elsewhere.read_text() == before
    assert credentials.load(path) == {"default": Profile(URL, PROFILE_TOKEN)}


def test_a_credentials_file_that_is_not_one_is_refused_without_quoting_it(home: Path) -> None:
    path = saved_file(home)
    path.parent.mkdir(parents=True)
    path.write_text('{"profiles": {"default": {"url": "x", "token": "rgm_secretsecre_x"')
    path.chmod(0o600)
    with pytest.raises(CredentialsError) as refused:
        credentials.load(path)
    assert "not JSON" in refused.value.message and "rgm_" not in refused.value.message


def test_a_world_readable_admin_file_is_refused(registry: ScriptedRegistry, home: Path) -> None:
    write_admin_token(home).chmod(0o644)
    done = run_cli("whoami", token=None, url=LOCAL)
    assert done.exit_code == 2
    assert "chmod 600" in done.stderr
    assert registry.requests == []


# -- login and logout --------------------------------------------------------------------


def test_login_checks_the_token_then_saves_it_for_the_owner_alone(
    registry: ScriptedRegistry, home: Path
) -> None:
    done = run_cli("login", "--profile", "work", token=None, stdin=PROFILE_TOKEN + "\n")
    assert done.exit_code == 0, done.stderr
    assert done.stdout.strip() == f"logged in to {URL} as alice (Alice A., user)"
    assert PROFILE_TOKEN not in done.stdout + done.stderr
    # Checked with the registry before it was kept.
    assert bearer(registry) == [f"Bearer {PROFILE_TOKEN}"]

    path = saved_file(home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {
        "profiles": {"work": {"url": URL, "token": PROFILE_TOKEN}}
    }
    # The saved profile is used from now on.
    assert run_cli("--profile", "work", "whoami", token=None, url=None).exit_code == 0
    assert bearer(registry)[-1] == f"Bearer {PROFILE_TOKEN}"


def test_login_refuses_a_token_the_registry_refuses(registry: ScriptedRegistry, home: Path) -> None:
    registry.on("GET", "/api/v1/whoami", refusal(401, "unauthenticated", "the API token expired"))
    done = run_cli("login", token=None, stdin=PROFILE_TOKEN)
    assert done.exit_code == 1
    assert done.stderr.strip() == (
        "error (unauthenticated): the registry refused this token: the API token expired; "
        "nothing was saved"
    )
    assert not saved_file(home).exists()


def test_login_asks_for_a_token_when_none_is_piped(registry: ScriptedRegistry) -> None:
    done = run_cli("login", token=None, stdin="")
    assert done.exit_code == 2
    assert "no token given" in done.stderr
    assert registry.requests == []


def test_login_refuses_a_token_no_header_can_carry_without_echoing_it(
    registry: ScriptedRegistry,
) -> None:
    done = run_cli("login", token=None, stdin="rgm_two words\x1b[2J")
    assert done.exit_code == 2
    assert "two words" not in done.stderr and "\x1b" not in done.stderr
    assert registry.requests == []


def test_logout_forgets_the_profile_and_names_the_token_to_revoke(
    registry: ScriptedRegistry, home: Path
) -> None:
    write_profiles(home, {"default": Profile(URL, PROFILE_TOKEN), "other": Profile(URL, ENV_TOKEN)})
    done = run_cli("logout", token=None)
    assert done.exit_code == 0, done.stderr
    assert "forgot profile 'default'" in done.stdout
    assert "registrum tokens revoke rgm_profileprofi`" in done.stderr
    assert "from-the-profile" not in done.stdout + done.stderr  # never the secret
    assert credentials.load(saved_file(home)) == {"other": Profile(URL, ENV_TOKEN)}
    again = run_cli("logout", token=None)
    assert again.exit_code == 0 and "nothing to forget" in again.stdout


def test_login_for_scripts_prints_json_and_never_the_token(
    registry: ScriptedRegistry, home: Path
) -> None:
    done = run_cli("--json", "login", "--url", LOCAL, token=None, stdin=PROFILE_TOKEN)
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout) == {
        "profile": "default",
        "url": LOCAL,
        "path": str(saved_file(home)),
        "whoami": ME,
    }
    assert PROFILE_TOKEN not in done.stdout
