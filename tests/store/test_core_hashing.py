"""The salted hash of channel and user id."""

from __future__ import annotations

import hashlib
import hmac
import stat
from pathlib import Path

import pytest

from urp.core.hashing import HashSaltError, UserHasher


def test_hash_is_hmac_sha256_of_channel_and_user_id() -> None:
    hasher = UserHasher(b"s" * 16)
    expected = hmac.new(b"s" * 16, b"whatsapp:393331234567", hashlib.sha256).hexdigest()
    assert hasher("whatsapp", "393331234567") == expected
    assert hasher("webchat", "393331234567") != expected


def test_the_environment_salt_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("URP_HASH_SALT", "production-salt-kept-forever")
    hasher = UserHasher.from_environment(tmp_path / "hash-salt")
    assert hasher("whatsapp", "1") == UserHasher(b"production-salt-kept-forever")("whatsapp", "1")
    assert not (tmp_path / "hash-salt").exists()


def test_a_local_salt_is_generated_once_and_private(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("URP_HASH_SALT", raising=False)
    path = tmp_path / "var" / "hash-salt"
    first = UserHasher.from_environment(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert UserHasher.from_environment(path)("whatsapp", "1") == first("whatsapp", "1")
    assert [p.name for p in path.parent.iterdir()] == ["hash-salt"]


def test_a_short_salt_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("URP_HASH_SALT", "corto")
    with pytest.raises(HashSaltError, match="16"):
        UserHasher.from_environment(tmp_path / "hash-salt")
