"""No phone number in any log line, at any level, whoever writes it.

Our own code never logs a number, but the libraries do: Rasa's processor, agent and tracker
store name the conversation (a WhatsApp id is the citizen's number) in their DEBUG lines,
drivers quote values in their errors. :func:`install` puts a record factory in front of
every logger of the process: a record's message (and its traceback) is masked when it is
created, before any handler or formatter sees it. Records are created only for the levels
a logger lets through, so at the default INFO the DEBUG lines of Rasa cost nothing.

Installed by every process that runs the assistant: the Rasa server and the action server
(:mod:`servers`), the console and the ``urp`` command.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# A phone number as the channels write it: 9 to 15 digits (E.164), perhaps after «+» or
# «whatsapp:+». Not a part of a longer word or id, not the integer part of a decimal
# (Rasa's timestamps), so hex ids and dates stay readable.
_PHONE = re.compile(r"(?<![\w.])\+?\d{9,15}(?!\w|\.\d)")
MASK = "…"

_installed = False


def mask_phone_numbers(text: str) -> str:
    """``text`` with every run of digits that may be a phone number replaced by «…»."""
    return _PHONE.sub(MASK, text)


def install() -> None:
    """Mask phone numbers in every log record of this process (once; idempotent)."""
    global _installed
    if _installed:
        return
    create = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = create(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format: the handler reports it as logging always does
            return record
        record.msg, record.args = mask_phone_numbers(message), None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = mask_phone_numbers(text)
        return record

    logging.setLogRecordFactory(masked_record)
    _installed = True
