"""One assistant started as `make run` does, shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.servers import CallbackReceiver, RunningAssistant, start, stop
from tests.simulators.graph_api import GraphApiSimulator
from tests.simulators.twilio_api import TwilioApiSimulator


@pytest.fixture(scope="session")
def callback() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def graph() -> Iterator[GraphApiSimulator]:
    """Meta's Graph API, local: the WhatsApp channel sends there."""
    simulator = GraphApiSimulator()
    yield simulator
    simulator.close()


@pytest.fixture(scope="session")
def twilio() -> Iterator[TwilioApiSimulator]:
    simulator = TwilioApiSimulator()
    yield simulator
    simulator.close()


@pytest.fixture(scope="session")
def assistant(
    tmp_path_factory,
    callback: CallbackReceiver,
    graph: GraphApiSimulator,
    twilio: TwilioApiSimulator,
) -> Iterator[RunningAssistant]:
    running = start(
        tmp_path_factory.mktemp("ancona"),
        URP_CALLBACK_URL=callback.url,
        **graph.environment(),
        **twilio.environment(),
    )
    yield running
    stop(running)
