"""The operators' web console: the queue of handed-over chats, the transcript, the replies.

``urp console serve`` (or ``python -m urp.console``) runs it; see :mod:`urp.console.app`.
"""

from urp.console.app import create_app

__all__ = ["create_app"]
