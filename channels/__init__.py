"""Input channels loaded by the Rasa server (credentials.yml): REST, web chat, WhatsApp
Cloud API, Twilio.

Every Rasa server loads this package, also one started with a plain ``rasa run``: so it
installs the patches of Rasa's code (a failing action gets the citizen an apology and an
operator, connections to the action server are kept, answers checked with a compiled
schema...). The list, what each replaces and its off switch: rasa_patches/__init__.py and
docs/patch-rasa.md.
"""

import rasa_patches

rasa_patches.install_all()
