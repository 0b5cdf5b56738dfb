"""Custom actions of Sportello URP: thin glue between Rasa and the ``urp`` package.

``rasa run actions --actions actions`` registers every Action subclass found in the
submodules; each module holds one topic.

rasa-sdk answers 500 to a JSON body of the wrong shape; when the action server imports
this package (its Sanic app, ``rasa_sdk``, already exists then) a request middleware
answers 400 instead (:mod:`urp.http_bodies`). Imported anywhere else, nothing happens.
"""

from __future__ import annotations

import contextlib

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from urp.http_bodies import body_problem


async def _refuse_bad_bodies(request: Request) -> HTTPResponse | None:
    if request.headers.get("Content-Encoding"):
        return None  # deflated by Rasa: rasa-sdk decompresses it
    problem = body_problem(request.method, request.path, request.body or b"")
    return None if problem is None else response.json({"error": problem}, status=400)


with contextlib.suppress(SanicException):  # not inside the action server: tests, tools
    Sanic.get_app("rasa_sdk").register_middleware(_refuse_bad_bodies, "request")
