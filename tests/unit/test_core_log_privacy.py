"""Phone numbers are masked in every log record of a process, at any level."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from urp.core import log_privacy

NUMBER = "393331234567"


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    factory = logging.getLogRecordFactory()
    log_privacy.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("rasa.core.processor")  # a library's logger, not ours
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logging.setLogRecordFactory(factory)
        log_privacy._installed = False


def test_a_library_s_debug_line_and_traceback_lose_the_number(log: io.StringIO) -> None:
    logger = logging.getLogger("rasa.core.processor")
    logger.debug("Received user message for conversation '%s'", NUMBER)
    logger.info("Twilio sender whatsapp:+%s", NUMBER)
    try:
        raise ValueError(f"no tracker for {NUMBER}")
    except ValueError:
        logger.exception("failed")
    text = log.getvalue()
    assert NUMBER not in text
    assert "conversation '…'" in text and "whatsapp:…" in text
    assert "ValueError: no tracker for …" in text


@pytest.mark.parametrize(
    "kept",
    [
        "at 1733540000.123456",  # Rasa's timestamps
        "id 4f9c2e1a8b7d6c5e4f3a2b1c",  # hex ids
        "wamid.HBgLMzkzMzMxMjM0NTY3FQIAEhgg",  # Meta's message ids
        "on 2026-12-07, 12 messages",
    ],
)
def test_what_is_not_a_number_stays_readable(log: io.StringIO, kept: str) -> None:
    logging.getLogger("rasa.core.processor").info(kept)
    assert log.getvalue().strip() == kept


def test_masking_the_text_alone() -> None:
    assert log_privacy.mask_phone_numbers(f"da {NUMBER} e +{NUMBER}") == "da … e …"
