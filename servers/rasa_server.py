"""The Rasa server: ``python -m servers.rasa_server run --enable-api ...`` is ``rasa run ...``
with the HTTP API's secrets taken from the environment.

``rasa run`` takes them only as options (``--auth-token``, ``--jwt-secret``), and a
process's options are readable by every user of the machine (``ps``, ``/proc/PID/cmdline``).
Here they are added to ``sys.argv`` inside the process, after it started, and Rasa's own
``main`` parses them as usual: the command line shows none.

- ``RASA_JWT_SECRET`` (with ``RASA_JWT_METHOD``, default HS256): how the console, the
  handoff recorder and the broker call the API (:mod:`urp.handoff.rasa_api`);
- ``RASA_AUTH_TOKEN``: the deployer's own token, if they want one (``?token=``).

With ``--enable-api`` and neither of them, the server does not start: the API is never
open. A secret given on the command line is refused too.

Before Rasa starts, the patches of Rasa's code are installed (:mod:`rasa_patches`,
docs/patch-rasa.md): the server refuses to start on a Rasa version they were not written
for, unless they are switched off (``URP_RASA_PATCHES_OFF``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

SECRET_OPTIONS = ("--auth-token", "--jwt-secret", "--jwt-private-key")
NO_SECRET = (
    "Server Rasa non avviato: l'API HTTP non resta mai aperta. Imposta RASA_JWT_SECRET "
    "(o RASA_AUTH_TOKEN); make run e make run-prod lo generano in var/."
)
SECRET_ON_COMMAND_LINE = (
    "Server Rasa non avviato: i segreti dell'API si passano solo nell'ambiente "
    "(RASA_JWT_SECRET, RASA_AUTH_TOKEN), mai sulla riga di comando, che chiunque sulla "
    "macchina può leggere."
)


def _names_a_secret(argument: str) -> bool:
    """``--auth-token``, ``--jwt-secret=...``, or a prefix argparse would take for one."""
    name = argument.split("=", 1)[0]
    return (
        name.startswith("--")
        and len(name) > 2
        and any(option.startswith(name) for option in SECRET_OPTIONS)
    )


def secret_arguments(arguments: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """The options that hand the environment's secrets to ``rasa run``; :class:`SystemExit`
    with an Italian message when the command line has a secret or the API would be open."""
    if any(_names_a_secret(argument) for argument in arguments):
        raise SystemExit(SECRET_ON_COMMAND_LINE)
    if "--enable-api" not in arguments:
        return []  # no HTTP API, nothing to protect (and `rasa --version` takes no secret)
    added = []
    if environ.get("RASA_JWT_SECRET"):
        added += ["--jwt-secret", environ["RASA_JWT_SECRET"]]
        added += ["--jwt-method", environ.get("RASA_JWT_METHOD") or "HS256"]
    if environ.get("RASA_AUTH_TOKEN"):
        added += ["--auth-token", environ["RASA_AUTH_TOKEN"]]
    if not added:
        raise SystemExit(NO_SECRET)
    return added


def main() -> None:
    arguments = sys.argv[1:]
    sys.argv = ["rasa", *arguments, *secret_arguments(arguments, os.environ)]
    from rasa.__main__ import main as rasa_main

    import rasa_patches
    from urp.core import log_privacy

    log_privacy.install()
    rasa_patches.install_all()  # every patch of Rasa's code, or none on another Rasa
    sys.exit(rasa_main())


if __name__ == "__main__":
    main()
