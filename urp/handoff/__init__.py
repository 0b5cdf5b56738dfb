"""Handing a chat to a human operator and back: the queue, the chat, the operators'
accounts, their quick replies and the calls to the Rasa server's API."""
