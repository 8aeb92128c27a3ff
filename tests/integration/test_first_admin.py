"""The first administrator's token file (written by services/private.py): for the local
user alone, and a link planted at its path is replaced, never written through."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from services.private import write_private


def test_the_secret_file_is_the_owners_alone(tmp_path: Path) -> None:
    path = tmp_path / "admin.token"
    write_private(path, "rgm_x_secret\n")
    assert path.read_text() == "rgm_x_secret\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_link_planted_at_the_path_is_replaced_not_written_through(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep me")
    os.chmod(target, 0o644)
    link = tmp_path / "admin.token"
    link.symlink_to(target)
    write_private(link, "rgm_x_secret\n")
    # The planted file is untouched; the path is now a file of its own, 0600.
    assert target.read_text() == "keep me"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert not link.is_symlink()
    assert stat.S_IMODE(link.stat().st_mode) == 0o600
