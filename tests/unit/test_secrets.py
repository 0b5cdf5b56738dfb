"""Secrets only from the environment: no committed configuration file holds one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = sorted(
    [
        ROOT / "credentials.yml",
        *ROOT.glob("endpoints*.yml"),
        *(ROOT / "settings").glob("*.yml"),
    ]
)
SECRET_KEY = re.compile(r"token|secret|password|passwd|api_key|auth|sid|salt", re.IGNORECASE)
FROM_ENVIRONMENT = re.compile(r"^\$\{\w+\}$")
CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def scalars(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from scalars(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from scalars(value, f"{path}[{index}]")
    else:
        yield path, node


@pytest.mark.parametrize("path", CONFIGURATION, ids=lambda p: p.name)
def test_secrets_come_only_from_the_environment(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    leaked = [
        key
        for key, value in scalars(data)
        if isinstance(value, str)
        and value
        and (
            (SECRET_KEY.search(key.rsplit(".", 1)[-1]) and not FROM_ENVIRONMENT.match(value))
            or CREDENTIALS_IN_URL.search(value)
        )
    ]
    assert leaked == []


def test_the_check_would_see_a_committed_secret() -> None:
    data = {"rest": {"token": "abc123"}, "db": {"url": "postgresql://urp:pw@db/urp"}}
    keys = [k for k, v in scalars(data) if SECRET_KEY.search(k) or CREDENTIALS_IN_URL.search(v)]
    assert keys == [".rest.token", ".db.url"]
