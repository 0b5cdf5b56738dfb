"""Fixtures of the action tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from actions import clock

ROME = ZoneInfo("Europe/Rome")


@pytest.fixture
def at() -> Iterator[Callable[..., None]]:
    """Freeze the actions' clock: ``at(2026, 11, 25, 9, 30)`` is that time in Rome."""

    def freeze(*args: int) -> None:
        clock.now_override = datetime(*args, tzinfo=ROME)

    yield freeze
    clock.now_override = None
