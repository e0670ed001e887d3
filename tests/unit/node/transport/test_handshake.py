"""A connection that never finishes its TLS handshake is closed within seconds, on every listener.

Against real servers in this process, bound to loopback: the member node's peer-facing server
and the coordinating node's server. A raw TCP connection that sends nothing, and one that sends
a few bytes that are not a TLS ClientHello, are both closed by the server well before gRPC's own
default of 120 s.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from unit.conftest import Federation, Pair

from node.transport.rpc import HANDSHAKE_TIMEOUT_SECONDS


def _closed_after(port: int, send: bytes) -> float:
    """Seconds until the server closes a connection that sends `send` and then waits."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=HANDSHAKE_TIMEOUT_SECONDS * 4) as s:
        if send:
            s.sendall(send)
        try:
            while s.recv(4096):
                pass
        except TimeoutError:
            pytest.fail(
                f"the server held an idle connection past {HANDSHAKE_TIMEOUT_SECONDS * 4} s"
            )
        except ConnectionResetError:
            pass
    return time.monotonic() - started


def test_the_peer_facing_server_closes_a_stalled_handshake(memory_pair: Pair) -> None:
    # A silent connection and one that stops inside its ClientHello, side by side.
    with ThreadPoolExecutor(2) as pool:
        waits = list(
            pool.map(
                lambda send: _closed_after(memory_pair.owner.port, send), [b"", b"\x16\x03\x01\x00"]
            )
        )
    assert all(wait < HANDSHAKE_TIMEOUT_SECONDS + 3 for wait in waits), waits


def test_the_coordinating_nodes_server_closes_a_stalled_handshake(federation: Federation) -> None:
    assert _closed_after(federation.port, b"") < HANDSHAKE_TIMEOUT_SECONDS + 3
