"""«Giulia sta scrivendo…» in a web citizen's widget while an operator types in the console.

The console is another process (and, in production, the citizen's socket may sit on
either Rasa replica), so it asks the Rasa server with the client it already has for Rasa's
HTTP API (:meth:`urp.handoff.rasa_api.RasaConversations.typing`): ``POST
/webhooks/socketio/typing``, a small endpoint of the web chat's channel
(``channels/socketio.py``, which reads :data:`TYPING_ROUTE`, :data:`TYPING_EVENT` and
:data:`MAX_BODY` here), with the same JWT as Rasa's HTTP API (``RASA_JWT_SECRET``). The
channel emits ``urp_typing`` to the conversation's room; with the production profile's
Redis manager it reaches the replica that holds the socket.

The widget hides the indicator by itself :data:`WIDGET_TIMEOUT` seconds after the last
signal, so the console repeats it every :data:`REPEAT_EVERY` seconds while the operator
types, and sends ``typing: false`` when they stop (or send). Only web conversations have
an indicator: for the others the signal sends nothing.
"""

from __future__ import annotations

# The route is the client's and the channel's: defined once, with the client.
from urp.handoff.rasa_api import TYPING_ROUTE

__all__ = ["MAX_BODY", "REPEAT_EVERY", "TYPING_EVENT", "TYPING_ROUTE", "WIDGET_TIMEOUT"]

TYPING_EVENT = "urp_typing"
WIDGET_TIMEOUT = 8  # seconds: widget.js OPERATOR_TYPING_TIMEOUT
REPEAT_EVERY = 4  # seconds, while the operator keeps typing
MAX_BODY = 4096  # bytes the endpoint reads
