"""The web chat: an embeddable widget on Rasa's socket.io channel, and its demo page."""
