"""A TCP proxy that can be switched down or slow: a dependency failing, on loopback.

Put between the Rasa server and the action server, or between the assistant and
PostgreSQL, it forwards bytes both ways while ``up``; ``down()`` refuses new connections
and cuts the open ones (the server is gone); ``slow(seconds)`` holds every new
connection, and every request on a connection already open (kept alive by the client),
that long before forwarding (the server hangs).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class FaultProxy:
    def __init__(self, target_port: int, port: int = 0) -> None:
        self.target_port = target_port
        self.delay = 0.0
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.port = port
        self.up()

    def up(self) -> None:
        """Accept and forward again, on the same port."""
        self.delay = 0.0
        if self._listener is not None:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Connection refused from now on; the open connections are cut."""
        listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)  # shutdown() wakes the thread blocked in accept()
        with self._lock:
            for connection in self._connections:
                _close(connection)
            self._connections.clear()

    def slow(self, seconds: float) -> None:
        self.delay = seconds

    def close(self) -> None:
        self.down()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by down()
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if self.delay:
            time.sleep(self.delay)
        try:
            server = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            _close(client)
            return
        with self._lock:
            self._connections |= {client, server}
        for source, sink, held in ((client, server, True), (server, client, False)):
            threading.Thread(target=self._pipe, args=(source, sink, held), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, held: bool) -> None:
        try:
            while data := source.recv(65536):
                if held and self.delay:
                    time.sleep(self.delay)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)


def _close(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()
