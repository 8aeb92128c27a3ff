"""What the webhooks role refuses to start with, before it touches a database: no key to
open the secrets with, or a receiver timeout that would outlast its lease."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.bootstrap import NotConfigured, Runtime
from services.settings import Settings
from services.webhooks.secrets import SecretUnreadable, load_or_create

pytestmark = pytest.mark.unit


def test_the_role_never_makes_a_key_of_its_own(tmp_path: Path) -> None:
    key = tmp_path / "webhook.key"
    runtime = Runtime(Settings(data_dir=tmp_path, webhook_key_file=key))
    with pytest.raises(NotConfigured, match="REGISTRUM_WEBHOOK_KEY_FILE"):
        runtime.webhooks()
    assert not key.exists()


def test_a_timeout_longer_than_half_the_lease_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "webhook.key"
    load_or_create(key)
    settings = Settings(
        data_dir=tmp_path, webhook_key_file=key, lease_seconds=4, webhook_timeout_seconds=3
    )
    with pytest.raises(NotConfigured, match="at most half of REGISTRUM_LEASE_SECONDS"):
        Runtime(settings).webhooks()


def test_a_sealed_secret_opens_only_with_its_key(tmp_path: Path) -> None:
    ours = load_or_create(tmp_path / "ours.key")
    sealed = ours.seal("s3cret")
    assert b"s3cret" not in sealed and ours.open(sealed) == "s3cret"
    with pytest.raises(SecretUnreadable):
        load_or_create(tmp_path / "other.key").open(sealed)
    assert oct((tmp_path / "ours.key").stat().st_mode & 0o777) == "0o600"
