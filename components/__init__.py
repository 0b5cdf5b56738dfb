"""Custom Rasa components of Sportello URP (thin: the logic lives in ``urp``).

Importing the package (the model's pipeline does) also makes the dialogue policies share
a conversation's dialogue states instead of each rebuilding them
(:mod:`components.dialogue_states`).
"""

from components import dialogue_states

dialogue_states.install()
