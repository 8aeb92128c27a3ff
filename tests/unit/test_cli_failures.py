"""How the CLI fails: one line on stderr, never a traceback, and an exit code that says
what kind of failure it was (0 done, 1 refused, 2 usage, 3 unreachable)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.http_registry import (
    ScriptedRegistry,
    fails,
    ok,
    raw,
    refusal,
    run_cli,
    scripted,
)

MODELS = "/api/v1/models"


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedRegistry]:
    with scripted(monkeypatch) as fake:
        yield fake


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_a_refusal_exits_1_with_the_servers_message(registry: ScriptedRegistry) -> None:
    registry.on("GET", f"{MODELS}/ghost", refusal(404, "not_found", "no model named 'ghost'"))
    done = run_cli("models", "show", "ghost")
    assert done.exit_code == 1
    assert one_line(done.stderr) == "error (not_found): no model named 'ghost'"
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (httpx.ConnectError, "cannot reach http://registry.test: [Errno 111] Connection refused"),
        (httpx.ReadTimeout, "http://registry.test did not answer in time (ReadTimeout)"),
        (httpx.RemoteProtocolError, "cannot reach http://registry.test: [Errno 111]"),
    ],
)
def test_unreachable_exits_3(
    registry: ScriptedRegistry, error: type[httpx.TransportError], said: str
) -> None:
    registry.on("GET", MODELS, fails(error, "[Errno 111] Connection refused"))
    done = run_cli("models", "list")
    assert done.exit_code == 3
    assert one_line(done.stderr).startswith(f"error (unreachable): {said}")


def test_a_proxys_html_502_is_unreachable_too(registry: ScriptedRegistry) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    registry.on("GET", MODELS, raw(502, page, "text/html"))
    done = run_cli("models", "list")
    assert done.exit_code == 3
    line = one_line(done.stderr)
    assert "HTTP 502 Bad Gateway" in line and "proxy or gateway" in line


@pytest.mark.parametrize(
    ("status", "content", "kind"),
    [
        (200, b"<html>a login portal</html>", "text/html"),
        (404, b"<html>Not here</html>", "text/html"),
        (200, b'["a", "list"]', "application/json"),
        (200, b"\xff\xfe not utf-8", "application/json"),
    ],
)
def test_a_reply_that_is_not_a_registrys_exits_1_naming_it(
    registry: ScriptedRegistry, status: int, content: bytes, kind: str
) -> None:
    registry.on("GET", f"{MODELS}/m", raw(status, content, kind))
    done = run_cli("models", "show", "m")
    assert done.exit_code == 1
    line = one_line(done.stderr)
    assert line.startswith("error (bad_reply): http://registry.test/api/v1/models/m answered")
    assert f"HTTP {status}" in line and "is it a registry?" in line


def test_json_without_the_expected_member_is_a_bad_reply(registry: ScriptedRegistry) -> None:
    registry.on("GET", f"{MODELS}/m", ok({"something": "else"}))
    registry.on("GET", MODELS, ok({"rows": []}))
    for args in (("models", "show", "m"), ("models", "list")):
        done = run_cli(*args)
        assert done.exit_code == 1
        assert one_line(done.stderr).startswith("error (bad_reply):")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("versions", "list", "m", "--stage", "prod"),
            "unknown stage 'prod'; stages: development, staging, production, archived",
        ),
        (
            ("promote", "m", "1", "development"),
            "'development' is not a stage a version is promoted to; stages: staging, production",
        ),
        (("request-approval", "m", "1", "qa"), "stages: staging, production"),
        (("as-of", "m", "live"), "unknown stage 'live'"),
        (("models", "show", "x" * 70_000), "a model name is at most 256 characters, not 70000"),
        (("models", "rename", "m", "y" * 300), "at most 256 characters, not 300"),
        (("versions", "show", "m", "²"), "VERSION is a number or @alias, not '²'"),
        (("approve", "m", "@champion"), "VERSION is a number here, not '@champion'"),
        (("versions", "register", "m", "s3://x", "--metric", "auc"), "--metric is KEY=VALUE"),
        (("versions", "register", "m", "s3://x", "--metric", "auc=nan"), "finite number"),
        (("versions", "record-metrics", "m", "1", "auc=high"), "a metric auc is a number"),
        (("versions", "link-lineage", "m", "1", "dataset"), "a reference is KIND=ID"),
        (("versions", "register", "m", "./no/such/folder"), "./no/such/folder: no such file"),
    ],
)
def test_usage_errors_exit_2_before_calling_the_registry(
    registry: ScriptedRegistry, args: tuple[str, ...], said: str
) -> None:
    done = run_cli(*args)
    assert done.exit_code == 2
    assert said in one_line(done.stderr)
    assert registry.requests == []


def test_a_url_without_http_is_usage(registry: ScriptedRegistry) -> None:
    from typer.testing import CliRunner

    from registrum.cli.main import app

    done = CliRunner().invoke(app, ["--url", "localhost:8000", "models", "list"])
    assert done.exit_code == 2
    assert "starts with http:// or https://, not 'localhost:8000'" in one_line(done.stderr)


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda tmp: tmp / "missing.json", "missing.json: No such file or directory"),
        (lambda tmp: tmp, "is a folder, not a JSON file"),
        (lambda tmp: write(tmp / "card.json", b"{not json"), "is not JSON: Expecting"),
        (lambda tmp: write(tmp / "card.json", b"[1, 2]"), "holds a JSON list, not an object"),
        (lambda tmp: write(tmp / "card.json", b'{"x": NaN}'), "NaN is not a JSON number"),
        (lambda tmp: write(tmp / "card.json", b"\xff\xfe{}"), "is not UTF-8 text"),
    ],
)
def test_a_model_card_file_that_cannot_be_used_is_usage(
    registry: ScriptedRegistry, tmp_path: Path, make: object, said: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    done = run_cli("versions", "set-card", "m", "1", str(path))
    assert done.exit_code == 2
    assert said in one_line(done.stderr)
    assert registry.requests == []


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_an_unreadable_card_is_usage(
    registry: ScriptedRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root reads any file, so the refusal is scripted at the file system's edge.
    card = write(tmp_path / "card.json", b"{}")

    def refused(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", refused)
    done = run_cli("versions", "set-card", "m", "1", str(card))
    assert done.exit_code == 2
    assert "card.json: Permission denied" in one_line(done.stderr)


def test_upload_of_an_empty_folder_is_usage(registry: ScriptedRegistry, tmp_path: Path) -> None:
    done = run_cli("versions", "register", "m", str(tmp_path))
    assert done.exit_code == 2
    assert "holds no files" in one_line(done.stderr)
    assert registry.requests == []


def version_with(manifest: list[dict[str, object]]) -> dict[str, object]:
    return {
        "version": {"model": "m", "number": 1, "artifact_uri": "models:/m/1", "manifest": manifest}
    }


def test_download_refuses_a_file_path_outside_the_destination(
    registry: ScriptedRegistry, tmp_path: Path
) -> None:
    entry = {"path": "../../etc/cron.d/evil", "sha256": "ab" * 32, "size": 3}
    registry.on("GET", f"{MODELS}/m/versions/1", ok(version_with([entry])))
    done = run_cli("versions", "download", "m", "1", str(tmp_path / "dest"))
    assert done.exit_code == 1
    assert "refusing the file path '../../etc/cron.d/evil'" in one_line(done.stderr)
    assert not (tmp_path / "etc").exists()


def test_download_into_a_file_says_so(registry: ScriptedRegistry, tmp_path: Path) -> None:
    entry = {"path": "model.bin", "sha256": "ab" * 32, "size": 3}
    registry.on("GET", f"{MODELS}/m/versions/1", ok(version_with([entry])))
    registry.on(
        "GET", f"/api/v1/artifacts/{'ab' * 32}", raw(200, b"abc", "application/octet-stream")
    )
    blocker = write(tmp_path / "dest", b"a file, not a folder")
    done = run_cli("versions", "download", "m", "1", str(blocker))
    assert done.exit_code == 1
    assert "dest: " in one_line(done.stderr)


def test_a_download_whose_bytes_do_not_match_exits_1(
    registry: ScriptedRegistry, tmp_path: Path
) -> None:
    entry = {"path": "model.bin", "sha256": "ab" * 32, "size": 3}
    registry.on("GET", f"{MODELS}/m/versions/1", ok(version_with([entry])))
    registry.on(
        "GET", f"/api/v1/artifacts/{'ab' * 32}", raw(200, b"abc", "application/octet-stream")
    )
    done = run_cli("versions", "download", "m", "1", str(tmp_path / "dest"))
    assert done.exit_code == 1
    assert one_line(done.stderr).startswith("error (digest_mismatch): model.bin")
    assert not (tmp_path / "dest" / "model.bin").exists()


def test_an_unexpected_failure_is_one_line_and_exit_1(registry: ScriptedRegistry) -> None:
    # A reply shape no command expects: without REGISTRUM_DEBUG, one line, no traceback.
    registry.on("GET", f"{MODELS}/m/versions/1", ok({"version": "not an object"}))
    done = run_cli("versions", "show", "m", "1", debug=False)
    assert done.exit_code == 1
    line = one_line(done.stderr)
    assert line.startswith("error (internal): AttributeError:")
    assert "REGISTRUM_DEBUG=1 shows where" in line
    # With REGISTRUM_DEBUG=1 the exception itself comes out.
    with pytest.raises(AttributeError):
        run_cli("versions", "show", "m", "1", debug=True)
