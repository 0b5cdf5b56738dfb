"""Custom Rasa components of Sportello URP (thin: the logic lives in ``urp``).

The model's pipeline loads this package (config.yml), in the server and in ``rasa train``,
``rasa test`` and ``rasa shell``: so it installs the patches of Rasa's code, and the
dialogue is predicted the same way everywhere. The list, what each replaces and its off
switch: rasa_patches/__init__.py and docs/patch-rasa.md.
"""

import rasa_patches

rasa_patches.install_all()
