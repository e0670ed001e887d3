"""Checking through the coordinating node: index syncs relayed, checks fanned out in one call.

`RelayedPeerClient` is a `PeerClient` whose transport is the coordinating node: its index sync
goes through `FanOut.SyncIndex`, and its checks are handed to a `FanOutBatch` shared by all the
targets of one `blindhit check --all`. Everything else is the same code as a direct check: the
requests are signed by this node for each owner, each answer must be signed by that owner, the
receipts must prove the owner logged exactly what was sent. The coordinating node only carries
bytes it can neither read (blinded) nor forge (signed).

`FanOutBatch` gathers the signed requests of every target and sends them in one `FanOut.Check`
call, as soon as every target still running has handed its request over (or a short linger
after the first, so that one slow index sync does not hold the others); the answers stream back
as the owners answer, each to the thread that waits for it. A target that needs a second round
(a stale epoch, or the owner-match step) joins the next call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any, Final

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.config import FederationSettings, Limits
from node.keys.tls import TlsCredentials
from node.querier.peer_client import PeerClient, PeerRefused, PeerUnavailable
from node.transport.rpc import RECONNECT_OPTIONS
from proto.blindhit.v1 import common_pb2, federation_pb2, match_pb2
from proto.services import FAN_OUT
from protocol.directory import Peer

__all__ = ["CoordinatorChannel", "FanOutBatch", "RelayedPeerClient"]

LINGER_SECONDS: Final = 0.1
_STATUS_CODES: Final = {code.value[0]: code for code in grpc.StatusCode}


class CoordinatorChannel:
    """The mutual-TLS channel to the coordinating node's FanOut service."""

    def __init__(self, federation: FederationSettings, tls: TlsCredentials, limits: Limits) -> None:
        self.coordinator = federation.coordinator
        self._channel = grpc.secure_channel(
            str(federation.endpoint),
            tls.channel_credentials(),
            options=[
                ("grpc.max_receive_message_length", limits.max_message_bytes),
                ("grpc.max_send_message_length", limits.max_message_bytes),
                *RECONNECT_OPTIONS,
            ],
        )
        self.check = FAN_OUT.unary_stream(
            self._channel,
            "Check",
            federation_pb2.FanOutRequest.SerializeToString,
            federation_pb2.FanOutAnswer.FromString,
        )
        self.sync = FAN_OUT.unary_stream(
            self._channel,
            "SyncIndex",
            federation_pb2.RelayedSync.SerializeToString,
            match_pb2.IndexChunk.FromString,
        )

    def close(self) -> None:
        self._channel.close()


class FanOutBatch:
    """Gathers one round of signed requests from parallel targets into one fan-out call."""

    def __init__(self, channel: CoordinatorChannel, targets: int, deadline_seconds: float) -> None:
        self._channel = channel
        self._targets = targets
        self._deadline = deadline_seconds
        self._lock = threading.Condition()
        self._pending: dict[str, tuple[federation_pb2.RelayedRequest, Future[Any]]] = {}
        self._finished = 0
        self._round_started: float | None = None
        self.calls = 0
        """How many fan-out calls were made (for tests and the benchmark)."""

    def finished(self) -> None:
        """A target is done (answered or failed): the current round no longer waits for it."""
        with self._lock:
            self._finished += 1
            self._lock.notify_all()
        self._maybe_flush()

    def submit(
        self, member: str, method: federation_pb2.RelayedMethod, envelope: bytes
    ) -> federation_pb2.FanOutAnswer:
        """Queue one signed request and wait for the member's answer."""
        future: Future[federation_pb2.FanOutAnswer] = Future()
        item = federation_pb2.RelayedRequest(member=member, method=method, envelope=envelope)
        while True:
            with self._lock:
                # Answers come back by member, so a round holds one request per member: a
                # second dataset of the same member goes in the next round.
                if member not in self._pending:
                    if self._round_started is None:
                        self._round_started = time.monotonic()
                        threading.Thread(target=self._linger, daemon=True).start()
                    self._pending[member] = (item, future)
                    break
            self._flush()
        self._maybe_flush()
        return future.result()

    def _linger(self) -> None:
        time.sleep(LINGER_SECONDS)
        self._flush()

    def _maybe_flush(self) -> None:
        with self._lock:
            ready = self._pending and len(self._pending) + self._finished >= self._targets
        if ready:
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, {}
            self._round_started = None
            if batch:
                self.calls += 1
        if not batch:
            return
        request = federation_pb2.FanOutRequest(
            requests=[item for item, _ in batch.values()],
            deadline_ms=int(self._deadline * 1000),
        )
        threading.Thread(target=self._call, args=(request, batch), daemon=True).start()

    def _call(
        self,
        request: federation_pb2.FanOutRequest,
        batch: dict[str, tuple[federation_pb2.RelayedRequest, Future[Any]]],
    ) -> None:
        try:
            for answer in self._channel.check(request, timeout=self._deadline + 5):
                waiting = batch.pop(answer.member, None)
                if waiting is not None:
                    waiting[1].set_result(answer)
        except grpc.RpcError as error:
            failed: Any = error
            code = failed.code() if hasattr(failed, "code") else grpc.StatusCode.UNKNOWN
            message = (failed.details() if hasattr(failed, "details") else "") or "no detail"
            for _, future in batch.values():
                future.set_result(
                    federation_pb2.FanOutAnswer(
                        status="unreachable"
                        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
                        else "failed",
                        code=code.value[0],
                        message=f"the coordinating node: {message}",
                    )
                )
            return
        for _, future in batch.values():  # members the coordinating node never answered for
            future.set_result(
                federation_pb2.FanOutAnswer(status="failed", message="no answer was relayed")
            )


class RelayedPeerClient(PeerClient):
    """A peer reached through the coordinating node (see the module docstring)."""

    def __init__(
        self,
        node_id: str,
        identity: Ed25519PrivateKey,
        tls: TlsCredentials,
        peer: Peer,
        limits: Limits,
        channel: CoordinatorChannel,
        batch: FanOutBatch,
    ) -> None:
        super().__init__(node_id, identity, tls, peer, limits)
        self._coordinator = channel
        self._batch = batch
        self._sync = self._relayed_sync  # type: ignore[assignment]
        self._evaluate = self._relayed(federation_pb2.RELAYED_METHOD_BLIND_EVALUATE)
        self._owner_match = self._relayed(federation_pb2.RELAYED_METHOD_OWNER_MATCH)

    def _relayed_sync(
        self, envelope: common_pb2.SignedEnvelope, timeout: float
    ) -> Iterator[match_pb2.IndexChunk]:
        request = federation_pb2.RelayedSync(
            member=self.peer.id, envelope=envelope.SerializeToString()
        )
        yield from self._coordinator.sync(request, timeout=timeout)

    def _relayed(self, method: federation_pb2.RelayedMethod) -> Any:  # noqa: ANN401
        def call(envelope: common_pb2.SignedEnvelope, timeout: float) -> common_pb2.SignedEnvelope:
            del timeout  # the batch carries the deadline
            answer = self._batch.submit(self.peer.id, method, envelope.SerializeToString())
            if answer.status == "answered":
                return common_pb2.SignedEnvelope.FromString(answer.envelope)
            where = f"peer {self.peer.id} (through {self._coordinator.coordinator})"
            if answer.status in ("unreachable", "timed_out"):
                raise PeerUnavailable(f"{where} is unreachable: {answer.message or answer.status}")
            code = _STATUS_CODES.get(answer.code, grpc.StatusCode.UNKNOWN)
            raise PeerRefused(f"{where} refused: {answer.message or answer.status}", code)

        return call
