"""One attribute of a Rasa class replaced by ours, with Rasa's own kept to put it back.

Every patch in this package is one :class:`Replacement` (its module's ``PATCH``), except
the garbage collector's settings (:mod:`rasa_patches.heap`), which replace nothing of
Rasa's. Installing and removing are plain assignments on the class, so both are
idempotent, and a patch switched off leaves the very object Rasa defined.
"""

from __future__ import annotations

from typing import Any


class Replacement:
    """``owner.attribute`` is ours while installed, Rasa's (``rasas``) otherwise."""

    def __init__(self, owner: type, attribute: str, ours: Any) -> None:
        self.owner = owner
        self.attribute = attribute
        self.ours = ours
        # The raw class attribute (a staticmethod stays a staticmethod), as Rasa defined it.
        self.rasas = owner.__dict__[attribute]

    @property
    def target(self) -> str:
        """What is replaced, by its dotted name in Rasa."""
        return f"{self.owner.__module__}.{self.owner.__qualname__}.{self.attribute}"

    def install(self) -> None:
        setattr(self.owner, self.attribute, self.ours)

    def uninstall(self) -> None:
        setattr(self.owner, self.attribute, self.rasas)

    def installed(self) -> bool:
        return self.owner.__dict__.get(self.attribute) is self.ours
