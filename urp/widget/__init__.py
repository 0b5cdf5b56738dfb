"""The web chat: an embeddable widget on Rasa's socket.io channel, and its demo page.
What a citizen's browser loads (templates, script, style) and the small server that
serves it belong here; the socket.io channel itself is Rasa glue, in ``channels/``."""
