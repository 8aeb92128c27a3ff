"""The first administrator: on a registry where nobody holds a role yet, a token for
`admin`, owner of the registry, written for the local user alone; never a second one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from services.auth.first_admin import write_secret


def test_the_secret_file_is_the_owners_alone(tmp_path: Path) -> None:
    path = write_secret(tmp_path / "admin.token", "rgm_x_secret")
    assert path.read_text() == "rgm_x_secret\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_link_planted_at_the_path_is_replaced_not_written_through(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep me")
    os.chmod(target, 0o644)
    link = tmp_path / "admin.token"
    link.symlink_to(target)
    write_secret(link, "rgm_x_secret")
    # The planted file is untouched; the path is now a file of its own, 0600.
    assert target.read_text() == "keep me"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert not link.is_symlink()
    assert stat.S_IMODE(link.stat().st_mode) == 0o600
