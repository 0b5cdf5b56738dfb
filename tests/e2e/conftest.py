"""One assistant started as `make run` does, shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.servers import CallbackReceiver, RunningAssistant, start, stop


@pytest.fixture(scope="session")
def callback() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def assistant(tmp_path_factory, callback: CallbackReceiver) -> Iterator[RunningAssistant]:
    running = start(tmp_path_factory.mktemp("ancona"), URP_CALLBACK_URL=callback.url)
    yield running
    stop(running)
