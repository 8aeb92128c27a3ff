"""The SDK on its own: typed errors for every way a call fails, paging, local files, and
its imports (nothing of the server's)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import httpx
import pytest

from registrum import (
    BadReply,
    Client,
    DigestMismatch,
    FileError,
    InvalidInput,
    RegistrumError,
    Unreachable,
)
from registrum.files import download_to, local_files, read_chunks, safe_target
from tests.http_registry import ScriptedRegistry, fails, ok, raw, refusal

PACKAGE = Path(__file__).parents[2] / "registrum"
ALLOWED = {"registrum", "httpx", "typer", "rich", "aiokafka"}


def test_registrum_imports_only_the_stdlib_and_the_clients_dependencies() -> None:
    # What `pip install registrum` brings; never services or schemas (the server's).
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in ALLOWED and top not in sys.stdlib_module_names:
                    wrong.append(f"{path.relative_to(PACKAGE.parent)}: {name}")
    assert wrong == []


def test_every_failure_is_a_typed_registrum_error() -> None:
    fake = ScriptedRegistry()
    fake.on("GET", "/api/v1/models/a", refusal(404, "not_found", "no model named 'a'"))
    fake.on("GET", "/api/v1/models/b", fails(httpx.ConnectError, "refused"))
    fake.on("GET", "/api/v1/models/c", raw(504, b"<html>timeout</html>", "text/html"))
    fake.on("GET", "/api/v1/models/d", raw(200, b"<html>hi</html>", "text/html"))
    fake.on("GET", "/api/v1/models/e", ok({"no": "model"}))
    with fake.client() as client:
        with pytest.raises(RegistrumError) as refused:
            client.get_model("a")
        assert (refused.value.status, refused.value.code) == (404, "not_found")
        with pytest.raises(Unreachable):
            client.get_model("b")
        with pytest.raises(Unreachable) as gateway:
            client.get_model("c")
        assert gateway.value.status == 504
        with pytest.raises(BadReply):
            client.get_model("d")
        with pytest.raises(BadReply):
            client.get_model("e")
        with pytest.raises(InvalidInput):
            client.get_model("x" * 70_000)  # a URL no server would take
        with pytest.raises(InvalidInput):
            client.resolve_uri("s3://not/a/models/uri")


def test_a_bad_url_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        Client("http://[::1")
    with Client("localhost:8000") as client, pytest.raises(InvalidInput):
        client.health()


def test_iterators_follow_page_tokens() -> None:
    fake = ScriptedRegistry()
    pages = {
        None: {"models": [{"name": "a"}], "next_page_token": "t1"},
        "t1": {"models": [{"name": "b"}], "next_page_token": "t2"},
        "t2": {"models": [{"name": "c"}], "next_page_token": None},
    }
    fake.on(
        "GET",
        "/api/v1/models",
        lambda request: httpx.Response(200, json=pages[request.url.params.get("page_token")]),
    )
    with fake.client() as client:
        assert [m["name"] for m in client.iter_models()] == ["a", "b", "c"]


def test_commands_move_the_session_position_for_later_reads() -> None:
    fake = ScriptedRegistry()
    fake.on("POST", "/api/v1/models", ok({"model": {"name": "m"}, "position": 41}, 201))
    fake.on("GET", "/api/v1/models/m", ok({"model": {"name": "m"}}))
    with fake.client() as client:
        client.create_model("m")
        client.get_model("m")
    assert client.position == 41
    assert fake.requests[-1].headers["X-Registrum-Min-Position"] == "41"


def test_local_file_problems_are_file_errors(tmp_path: Path) -> None:
    with pytest.raises(FileError, match="no such file or folder"):
        local_files(tmp_path / "missing")
    with pytest.raises(FileError, match="holds no files"):
        local_files(tmp_path)
    with pytest.raises(FileError, match="Is a directory"):
        list(read_chunks(tmp_path))
    with pytest.raises(FileError, match="refusing the file path"):
        safe_target(tmp_path, "../outside")
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(FileError, match="file"):
        download_to(iter([b"abc"]), tmp_path / "file" / "inside", "00" * 32)
    with pytest.raises(DigestMismatch):
        download_to(iter([b"abc"]), tmp_path / "out", "00" * 32)
    assert not (tmp_path / "out").exists()
