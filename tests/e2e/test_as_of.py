"""The auditor's question, end to end: which version was in production at time T, who
promoted it and who approved it — across three promotions and an archive."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import httpx

from tests.e2e.conftest import Server, bearer, cli, cli_json, token


def now() -> str:
    time.sleep(0.05)  # keep the moments we ask about strictly between the events
    moment = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    return moment


def promote(url: str, name: str, number: int, approvers: list[str], promoter: str) -> None:
    cli_json(
        url,
        "request-approval",
        name,
        str(number),
        "production",
        *(["--approvals", str(len(approvers))] if len(approvers) > 1 else []),
        actor="alice",
    )
    for approver in approvers:
        assert cli(url, "approve", name, str(number), actor=approver).returncode == 0
    done = cli(
        url,
        "promote",
        name,
        str(number),
        "production",
        "--reason",
        f"v{number} wins",
        actor=promoter,
    )
    assert done.returncode == 0, done.stderr


def test_who_was_in_production_when(server: Server, unique: str) -> None:
    url, name = server.url, f"audited-{unique}"
    assert cli(url, "models", "create", name).returncode == 0
    for i in (1, 2, 3):
        cli_json(url, "versions", "register", name, f"s3://m/{i}", actor="alice")

    before_all = now()
    promote(url, name, 1, ["bob"], "carol")
    during_1 = now()
    promote(url, name, 2, ["dan"], "carol")
    during_2 = now()
    promote(url, name, 3, ["bob", "dan"], "erin")
    during_3 = now()
    assert cli(url, "archive", name, "3", "--reason", "retired", actor="erin").returncode == 0
    after_all = now()

    def production_at(moment: str) -> list[tuple[int, str, list[str], str]]:
        answer = httpx.get(
            f"{url}/api/v1/models/{name}/stages/production",
            params={"as_of": moment, "min_position": "head"},
            headers=bearer(token(url, "auditor")),
        ).json()
        return [
            (v["number"], v["promoted_by"], v["approved_by"], v["reason"])
            for v in answer["versions"]
        ]

    assert production_at(before_all) == []
    assert production_at(during_1) == [(1, "carol", ["bob"], "v1 wins")]
    assert production_at(during_2) == [(2, "carol", ["dan"], "v2 wins")]
    assert production_at(during_3) == [(3, "erin", ["bob", "dan"], "v3 wins")]
    assert production_at(after_all) == []

    # The same through the CLI, and the archive's history too.
    answer = cli_json(url, "as-of", name, "production", during_2)
    assert [v["number"] for v in answer["versions"]] == [2]
    archived = cli_json(url, "as-of", name, "archived", after_all)
    assert [v["number"] for v in archived["versions"]] == [1, 2, 3]
    assert [v["promoted_by"] for v in archived["versions"]] == ["carol", "erin", "erin"]
    table = cli(url, "as-of", name, "production", during_1)
    assert table.returncode == 0 and "carol" in table.stdout and "bob" in table.stdout

    # Rebuild every view from the log while reads keep being served: same answers after.
    answers: list[int] = []
    stop = threading.Event()

    def keep_reading() -> None:
        while not stop.is_set():
            answers.append(
                httpx.get(
                    f"{url}/api/v1/models/{name}/versions/2",
                    headers=bearer(token(url, "auditor")),
                ).status_code
            )

    reader = threading.Thread(target=keep_reading)
    reader.start()
    try:
        rebuilt = cli(url, "views", "rebuild", data_dir=server.data_dir)
    finally:
        stop.set()
        reader.join()
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt catalogue" in rebuilt.stdout
    assert answers and set(answers) == {200}
    assert production_at(during_3) == [(3, "erin", ["bob", "dan"], "v3 wins")]


def test_status_shows_the_views_keeping_up(server: Server) -> None:
    status = cli_json(server.url, "status")
    assert status["status"] == "ok"
    assert set(status["views"]) == {"access", "catalogue", "history", "lineage", "timeline"}
    shown = cli(server.url, "status")
    assert shown.returncode == 0 and "catalogue" in shown.stdout
