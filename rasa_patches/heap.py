"""The Rasa server's garbage collector, once the model is loaded.

Loading the model leaves about 750,000 Python objects that live as long as the server
(TensorFlow's graphs, the domain, the rules, spaCy's vocabulary), and serving makes many
short-lived ones per message. With Python's defaults a busy replica ran a full collection
every few seconds, each walking every object of the process: 0.3-0.9 s with all the
replica's conversations waiting, about a tenth of its time (docs/performance.md).

Once the server has started:

- what is there is moved to the collector's permanent generation (:func:`gc.freeze`): a
  full collection walks only what was made since, the conversations. Those objects stay
  as they are and are freed as usual when their last reference goes; only reference
  cycles among them are no longer looked for. A model loaded later through the HTTP API is
  collected like any new object.
- the youngest generation is collected every :data:`YOUNG_OBJECTS` new objects instead of
  700: a message makes thousands, most gone by the end of it, and the older generations
  (collected every 10 collections of the one below, Python's default) come ten times less
  often. A young collection still takes a few milliseconds.

Nothing of Rasa's is replaced: the settings are Python's, in the Rasa server's process.
The REST channel, enabled in every profile, calls :func:`on_server_start` once the server
has started (channels/rest.py); :func:`rasa_patches.install_all` decides whether that
settles the collector (switched off: ``URP_RASA_PATCHES_OFF=heap``, Python's defaults).
"""

from __future__ import annotations

import gc
import logging

logger = logging.getLogger(__name__)

YOUNG_OBJECTS = 10_000


def settle() -> int:
    """Collect the garbage of the start, freeze the rest, space out the collections; how
    many objects are frozen."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, middle, old)
    frozen = gc.get_freeze_count()
    logger.debug("Oggetti del modello fuori dal garbage collector: %d", frozen)
    return frozen


class CollectorSettings:
    """The patch's switch: whether :func:`on_server_start` settles the collector."""

    target = (
        "nothing of Rasa's: Python's garbage collector in the Rasa server "
        f"(gc.freeze, young generation every {YOUNG_OBJECTS:,} objects), once it has started"
    )

    def __init__(self) -> None:
        self._on = False

    def install(self) -> None:
        self._on = True

    def uninstall(self) -> None:
        self._on = False

    def installed(self) -> bool:
        return self._on


PATCH = CollectorSettings()


def on_server_start() -> int | None:
    """Settle the collector if the patch is installed; how many objects are frozen."""
    return settle() if PATCH.installed() else None
