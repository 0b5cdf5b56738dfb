"""Every change the Sportello URP server makes to Rasa 3.6's own code, in one place.

Rasa 3.6 is used as it is, with a few of its private methods replaced where measurements
showed them slow (docs/performance.md) or where its behaviour left a citizen without an
answer. Each replacement is one module of this package, listed in :data:`PATCHES` with what
it replaces, why, the gain measured, and the Rasa versions it was written and tested for.
docs/patch-rasa.md is the same list for developers, in Italian.

:func:`install_all` installs them, and is called visibly, one line each, by:

- the launcher of the Rasa server (``servers/rasa_server.py``), before Rasa starts;
- the ``channels`` package (``credentials.yml`` loads it into every Rasa server, also one
  started with a plain ``rasa run``);
- the ``components`` package (``config.yml`` loads it: ``rasa train``, ``rasa test``,
  ``rasa shell`` get the same dialogue as the server).

Off switch: ``URP_RASA_PATCHES_OFF``, a comma-separated list of names (``heap,rule_matches``)
or ``all``; an unknown name stops the process, so that a typo never leaves a patch on.
A patch switched off leaves Rasa's own function in its place. Installing is idempotent,
and a later call applies the switches as they are then.

Version check: the patches switched on must all have been written for the installed Rasa
version, else :class:`RasaPatchesRefused` (a :class:`SystemExit`) stops the process with a
message naming both versions and the switch. A Rasa upgrade therefore starts by running the
patches' tests on the new version (docs/patch-rasa.md, «Aggiornare Rasa»).

Not listed here, because nothing of Rasa's is replaced globally: the classes Rasa loads by
name from config.yml, credentials.yml and endpoints*.yml (a cached TED policy, the
channels, the tracker and lock stores, the brokers), which subclass Rasa's and override
some private methods in their own instances only (:data:`OVERRIDES`).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType

logger = logging.getLogger(__name__)

OFF_ENV = "URP_RASA_PATCHES_OFF"
ALL = "all"
# The Rasa releases the patches were written for and their tests pass on (as in the lock).
RASA_3_6 = ("3.6.21",)


@dataclass(frozen=True)
class Patch:
    """One replacement of Rasa's code; ``rasa_patches.<name>`` holds it as ``PATCH``."""

    name: str
    replaces: str  # Rasa's object, by its dotted name
    why: str
    gain: str  # as measured, with where and when; or "not measured"
    rasa_versions: tuple[str, ...] | None  # None: uses nothing of Rasa's (any version)
    when_off: str  # what switching it off loses
    safety: bool = False  # switching it off loses a protection, not only speed

    @property
    def module_name(self) -> str:
        return f"{__name__}.{self.name}"

    def load(self) -> ModuleType:
        return importlib.import_module(self.module_name)


PATCHES: tuple[Patch, ...] = (
    Patch(
        name="action_guard",
        replaces="rasa.core.actions.action.RemoteAction.run",
        why=(
            "Rasa waits up to 5 minutes for a custom action and, when it fails, says "
            "nothing: here an action gets URP_ACTION_TIMEOUT seconds (15), then the "
            "citizen gets an apology and the conversation is queued for an operator"
        ),
        gain="a safety feature, not a speed-up: no gain to measure",
        rasa_versions=RASA_3_6,
        when_off=(
            "with the action server down, slow or failing the citizen gets no answer at "
            "all (after up to 5 minutes of waiting), no operator is called and a form "
            "half filled stays open"
        ),
        safety=True,
    ),
    Patch(
        name="action_connections",
        replaces="rasa.core.actions.action.RemoteAction.__init__",
        why=(
            "Rasa opens a new HTTP session, so a new TCP connection, for every custom "
            "action: here the action endpoint keeps its connections for "
            "URP_ACTION_KEEPALIVE seconds (2)"
        ),
        gain=(
            "about 0.8 ms of CPU per action across both servers; the action server from "
            "3.9 to 2.3-2.5 ms per message (docs/performance.md, 6 Dec 2026)"
        ),
        rasa_versions=RASA_3_6,
        when_off="speed only: a connection per action, as Rasa does",
    ),
    Patch(
        name="action_results",
        replaces="rasa.core.actions.action.RemoteAction._validate_action_result",
        why=(
            "Rasa checks the JSON schema itself against the meta-schema and builds a new "
            "validator for every answer of the action server: here the schema is compiled "
            "once and a good answer is checked event by event against its own kind"
        ),
        gain=(
            "21% of a message's CPU: about 40 ms per custom action down to about 1 ms; "
            "then 4% down to a tenth of it (docs/performance.md)"
        ),
        rasa_versions=RASA_3_6,
        when_off="speed only: the same answers pass, with the same errors",
    ),
    Patch(
        name="dialogue_states",
        replaces="rasa.shared.core.trackers.DialogueStateTracker.past_states",
        why=(
            "every policy asks for the dialogue states and Rasa rebuilds them each time by "
            "replaying the whole session: here they are computed once per turn, and the "
            "replay goes on from where the previous turn stopped"
        ),
        gain=(
            "about 10% of a message's CPU (states shared by the policies), then 22% down "
            "to 6% of the Rasa server (replay resumed) (docs/performance.md)"
        ),
        rasa_versions=RASA_3_6,
        when_off="speed only: the same states, computed by every policy",
    ),
    Patch(
        name="rule_matches",
        replaces="rasa.core.policies.rule_policy.RulePolicy._get_possible_keys",
        why=(
            "the rule policy tests every rule against every turn for each prediction: here "
            "the matching rules of the last 4096 distinct histories are remembered"
        ),
        gain="measured together with dialogue_states (the 10% above), not measured alone",
        rasa_versions=RASA_3_6,
        when_off="speed only: the same rules match",
    ),
    Patch(
        name="message_features",
        replaces="rasa.shared.nlu.training_data.message.Message._combine_features",
        why=(
            "Rasa joins a message's features for DIET starting from a copy.deepcopy of the "
            "first, which pickles the sparse matrix: here the matrix's own copy"
        ),
        gain="5% of the Rasa server's CPU per message (docs/performance.md)",
        rasa_versions=RASA_3_6,
        when_off="speed only: the same features",
    ),
    Patch(
        name="heap",
        replaces=(
            "nothing of Rasa's: Python's garbage collector in the Rasa server "
            "(gc.freeze, young generation every 10,000 objects), once it has started"
        ),
        why=(
            "full collections walked the 750,000 objects of the loaded model every few "
            "seconds, each stopping every conversation of the replica for 0.3-0.9 s"
        ),
        gain=(
            "no full collection in 45 s of load; a replica's p99 from 0.8-1.3 s down to "
            "0.26-0.29 s (docs/performance.md, 6 Dec 2026)"
        ),
        rasa_versions=None,
        when_off="latency only: pauses of the collector under load come back",
    ),
)

NAMES = tuple(patch.name for patch in PATCHES)

# Classes Rasa loads by name that override Rasa's private methods in their own instances
# (no global replacement; switched by configuration, not by URP_RASA_PATCHES_OFF). Listed
# for the upgrade: they depend on Rasa 3.6's internals as much as the patches do.
OVERRIDES: dict[str, str] = {
    "components.ted.CachedTEDPolicy": (
        "TEDPolicy._prediction_states and _prediction; off with cache_size: 0 (config.yml)"
    ),
    "stores.tracker.IncrementalSQLTrackerStore": (
        "SQLTrackerStore._retrieve, _event_query, _stream_new_events, Event._from_parameters; "
        "cache off with URP_TRACKER_CACHE=0, Rasa's store with type: sql (endpoints*.yml)"
    ),
    "stores.lock.AtomicRedisLockStore": (
        "RedisLockStore's ticket methods and lock(); Rasa's with type: redis "
        "(endpoints.prod.yml), unsafe with two replicas"
    ),
    "brokers.handoff.ExpiringPikaEventBroker": "PikaEventBroker._message (messages expire)",
    "channels.socketio.SocketIOChannel": (
        "SocketIOInput's socket.io handlers, on its own server (awaits enter_room)"
    ),
    "channels.http_guard": (
        "a request middleware on Rasa's Sanic app, knowing Rasa 3.6's protected routes and "
        "its sanic-jwt (app.ctx.auth)"
    ),
}


class RasaPatchesRefused(SystemExit):
    """The process must not go on: patches for another Rasa version, or a wrong switch."""


def installed_rasa_version() -> str:
    """The version Rasa reports (``rasa --version``), read when asked."""
    import rasa.version

    return str(rasa.version.__version__)


def switched_off(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The names ``URP_RASA_PATCHES_OFF`` switches off; :class:`RasaPatchesRefused` for a
    name that is not a patch."""
    raw = (os.environ if environ is None else environ).get(OFF_ENV, "")
    names = {name.strip().lower() for name in raw.split(",") if name.strip()}
    if ALL in names:
        return frozenset(NAMES)
    unknown = sorted(names - set(NAMES))
    if unknown:
        raise RasaPatchesRefused(
            f"{OFF_ENV}: patch sconosciute {', '.join(unknown)}; i nomi sono "
            f"{', '.join(NAMES)}, oppure «{ALL}».\n"
            f"{OFF_ENV}: unknown patches {', '.join(unknown)}; the names are "
            f"{', '.join(NAMES)}, or «{ALL}»."
        )
    return frozenset(names)


def check_rasa_version(patches: Iterable[Patch], version: str | None = None) -> None:
    """:class:`RasaPatchesRefused` unless every patch was written for ``version`` (by
    default the installed one)."""
    version = installed_rasa_version() if version is None else version
    wrong = [p for p in patches if p.rasa_versions is not None and version not in p.rasa_versions]
    if not wrong:
        return
    names = ", ".join(p.name for p in wrong)
    expected = ", ".join(sorted({v for p in wrong for v in p.rasa_versions or ()}))
    raise RasaPatchesRefused(
        f"Rasa non avviato: le patch di Rasa {names} sono scritte per Rasa {expected}, ma è "
        f"installato Rasa {version}. Aggiornale e provale sulla nuova versione "
        f"(docs/patch-rasa.md), oppure spegnile: {OFF_ENV}={ALL} (o i loro nomi, separati "
        f"da virgole).\n"
        f"Rasa not started: the Rasa patches {names} were written for Rasa {expected}, but "
        f"Rasa {version} is installed. Update and test them on the new version "
        f"(docs/patch-rasa.md), or switch them off: {OFF_ENV}={ALL} (or their names, "
        f"comma-separated)."
    )


_reported: tuple[str, ...] | None = None


def install_all(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Install every patch not switched off, put Rasa's own back for those switched off;
    the names installed. Checks the switch and the Rasa version before changing anything."""
    off = switched_off(environ)
    on = [patch for patch in PATCHES if patch.name not in off]
    if on:
        check_rasa_version(on)
    for patch in PATCHES:
        if patch.name in off:
            # A module never imported never installed anything (nor can it, on another Rasa).
            module = sys.modules.get(patch.module_name)
            if module is not None:
                module.PATCH.uninstall()
        else:
            patch.load().PATCH.install()
    names = tuple(patch.name for patch in on)
    _report(names)
    return names


def installed() -> dict[str, bool]:
    """Which patches are in place in this process now."""
    state = {}
    for patch in PATCHES:
        module = sys.modules.get(patch.module_name)
        state[patch.name] = module is not None and module.PATCH.installed()
    return state


def _report(names: tuple[str, ...]) -> None:
    """Log which patches are on, once per change, and only where logging is configured
    (the launcher installs them before Rasa sets logging up; the channels again after)."""
    global _reported
    if names == _reported or not logger.hasHandlers():
        return
    _reported = names
    off = [name for name in NAMES if name not in names]
    logger.info(
        "Patch di Rasa attive: %s; spente (%s): %s",
        ", ".join(names) or "nessuna",
        OFF_ENV,
        ", ".join(off) or "nessuna",
    )
    for patch in PATCHES:
        if patch.safety and patch.name in off:
            logger.warning(
                "Patch %s spenta (%s): è una protezione, non solo velocità (docs/patch-rasa.md)",
                patch.name,
                OFF_ENV,
            )
