"""The reader S3 uploads stream through: exact reads, right digest, no data lost."""

import hashlib
import os

import pytest

from services.artifacts.port import DigestMismatch, HashingReader, verified


def test_reads_of_any_size_return_every_byte_once_and_hash_them() -> None:
    data = os.urandom(1_000_003)
    reader = HashingReader(data[i : i + 65_536] for i in range(0, len(data), 65_536))
    parts = [reader.read(300_000) for _ in range(3)]
    assert [len(p) for p in parts] == [300_000] * 3
    parts.append(reader.read(-1))
    assert reader.read(10) == b""
    assert b"".join(parts) == data
    assert (reader.size, reader.digest.hexdigest()) == (len(data), hashlib.sha256(data).hexdigest())


def test_verified_streams_fail_at_the_end_on_a_mismatch() -> None:
    good = hashlib.sha256(b"ab").hexdigest()
    assert b"".join(verified(iter([b"a", b"b"]), good)) == b"ab"
    with pytest.raises(DigestMismatch):
        list(verified(iter([b"a", b"c"]), good))
