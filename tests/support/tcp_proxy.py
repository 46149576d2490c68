"""A TCP proxy on loopback in front of a real server, for making faults the way a network makes them.

    cut()      every open connection is closed and new ones are closed as soon as they come: the
               server is unreachable (a database restarting, a failover, a dropped link)
    restore()  connections go through again
    hold()     what clients send is kept here instead of forwarded: requests are "in flight"
    release()  forwards what was kept (of the connections `matching` a predicate, or all); the
               server answers as usual, even when the client is gone by then
    drop()     throws away what was kept, closing those connections: it never reached the server

Threads, one pair per connection: these tests open a handful.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

CHUNK = 65536


@dataclass(eq=False)
class _Link:
    client: socket.socket
    upstream: socket.socket
    kept: bytearray = field(default_factory=bytearray)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class TcpProxy:
    def __init__(self, port: int, target_port: int) -> None:
        self.port, self.target_port = port, target_port
        self.refused = 0  # connections closed at once while cut
        self._links: set[_Link] = set()
        self._lock = threading.Lock()
        self._cut = self._held = self._closed = False
        self._listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        threading.Thread(target=self._accept, daemon=True, name=f"proxy {port}").start()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed = True
        self._listener.close()
        for link in self._take_links():
            link.close()

    def cut(self) -> None:
        self._cut = True
        for link in self._take_links():
            link.close()

    def restore(self) -> None:
        self._cut = False

    def hold(self) -> None:
        self._held = True

    def kept(self) -> list[bytes]:
        """What each held connection has sent so far (nothing of connections sending nothing)."""
        with self._lock:
            return [bytes(link.kept) for link in self._links if link.kept]

    def release(self, matching: Callable[[bytes], bool] = lambda _: True) -> None:
        with self._lock:
            links = list(self._links)
        self._held = False
        for link in links:
            with link.lock:
                if link.kept and matching(bytes(link.kept)):
                    with contextlib.suppress(OSError):
                        link.upstream.sendall(link.kept)
                    link.kept.clear()

    def drop(self) -> None:
        self._held = False
        with self._lock:
            dropped = [link for link in self._links if link.kept]
            self._links.difference_update(dropped)
        for link in dropped:
            link.close()

    def _take_links(self) -> list[_Link]:
        with self._lock:
            links, self._links = list(self._links), set()
        return links

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut:
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            link = _Link(client, upstream)
            with self._lock:
                self._links.add(link)
            threading.Thread(target=self._forward, args=(link,), daemon=True).start()
            threading.Thread(target=self._backward, args=(link,), daemon=True).start()

    def _forward(self, link: _Link) -> None:
        """Client to server. The client going away does not close the server's side: a request
        released after its client died is still answered in full (as by a server it had reached)."""
        while True:
            try:
                data = link.client.recv(CHUNK)
            except OSError:
                return
            if not data:
                return
            with link.lock:
                if self._held or link.kept:
                    link.kept += data
                    continue
                try:
                    link.upstream.sendall(data)
                except OSError:
                    return

    def _backward(self, link: _Link) -> None:
        """Server to client, until the server closes; the answer is read in full even when nobody
        is left to take it."""
        client_gone = False
        while True:
            try:
                data = link.upstream.recv(CHUNK)
            except OSError:
                break
            if not data:
                break
            if not client_gone:
                try:
                    link.client.sendall(data)
                except OSError:
                    client_gone = True
        with self._lock:
            self._links.discard(link)
        link.close()
