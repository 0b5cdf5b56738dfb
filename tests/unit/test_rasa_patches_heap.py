"""The Rasa server's garbage collector once the model is loaded (rasa_patches/heap.py): what
is there frozen, the young generation collected less often; set by the REST channel after
the server starts, unless the patch is switched off."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

import rasa_patches
from channels.rest import StrictRestInput
from rasa_patches import heap


@pytest.fixture
def collector() -> Iterator[None]:
    """The test process's collector as it was, afterwards."""
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def walked(thing: object) -> bool:
    """Whether a collection looks at ``thing`` (the permanent generation is not listed)."""
    return any(found is thing for found in gc.get_objects())


def test_what_was_loaded_is_frozen_and_what_comes_after_is_collected(collector: None) -> None:
    model = {"rules": [["stato"] * 3 for _ in range(100)]}
    assert walked(model)
    frozen = heap.settle()
    assert frozen == gc.get_freeze_count() > 100
    assert not walked(model) and not walked(model["rules"][0])
    conversation = {"events": [["utente", "ciao"]]}
    assert walked(conversation)
    # A cycle made after the start is still found and freed.
    cycle: list = []
    cycle.append(cycle)
    marker = id(cycle)
    del cycle
    gc.collect()
    assert not any(id(found) == marker for found in gc.get_objects())


def test_the_young_generation_is_collected_less_often(collector: None) -> None:
    _, middle, old = gc.get_threshold()
    heap.settle()
    assert gc.get_threshold() == (heap.YOUNG_OBJECTS, middle, old)
    assert heap.YOUNG_OBJECTS > 700  # Python's default


def after_server_start() -> object:
    """The REST channel's listener that runs once the server has started."""

    async def on_new_message(_: object) -> None:
        return None

    blueprint = StrictRestInput().blueprint(on_new_message)
    [listener] = [
        future.listener
        for future in blueprint._future_listeners
        if future.event == "after_server_start"
    ]
    return listener


def test_the_rest_channel_settles_it_once_the_server_has_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rasa_patches.install_all({})
    calls: list[str] = []
    monkeypatch.setattr(heap, "settle", lambda: calls.append("settled") or 0)
    asyncio.run(after_server_start()(None, None))
    assert calls == ["settled"]


def test_switched_off_the_collector_keeps_pythons_settings(collector: None) -> None:
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    try:
        rasa_patches.install_all({rasa_patches.OFF_ENV: "heap"})
        asyncio.run(after_server_start()(None, None))
        assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, frozen)
    finally:
        rasa_patches.install_all({})
