"""`blindhit serve`: the node answering its peers from its stored datasets until stopped.

What it serves is the node's published datasets (`node.owner.published.StoredDatasets`).

`serve` runs a node until SIGTERM or SIGINT: it logs epochs a crash left unlogged, binds the
server, starts the checkpoint timer, prints one `listening on HOST:PORT` line on stdout, and on a
signal stops taking requests, lets the ones in flight finish, signs a last checkpoint, prints one
`<node id> stopped` line on stderr and closes the audit log after its last commit.

With `[desk]` in node.toml the same process serves the check desk's local HTTP/JSON API
(`node.desk.http`) on its own port, printing `<node> desk listening on HOST:PORT` after the peer
listener's line; the one signal stops both, the desk first (its checks are this node's own).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from crypto.errors import BlindhitError, NotPermitted
from node.audit import CheckpointTimer
from node.datasets.build import log_epochs
from node.datasets.store import DatasetStore
from node.desk.http import RunningDesk, start_desk
from node.owner.disclosure_service import DisclosureService
from node.owner.match_service import MatchService
from node.owner.peer_server import create_server
from node.owner.published import StoredDatasets
from node.runtime import NodeRuntime
from node.transport.rpc import stop_on_signals

__all__ = ["serve"]

_log = logging.getLogger("blindhit.node")

# How long requests in flight may take to finish after a stop signal.
STOP_GRACE_SECONDS = 5.0


def _run_until(
    stop: threading.Event,
    runtime: NodeRuntime,
    match: MatchService,
    desk: RunningDesk | None = None,
) -> None:
    """Wait for a stop signal; meanwhile keep the federation's directory and witness current."""
    membership = runtime.membership
    if membership is None:
        while not stop.wait(0.5):
            match.flush_refusals()
        return
    next_refresh = time.monotonic()
    while not stop.wait(0.2):
        match.flush_refusals()
        if time.monotonic() < next_refresh:
            continue
        try:
            if runtime.refresh_membership():
                match.reconfigure(runtime.config)
                if desk is not None:
                    desk.reconfigure(runtime)
                _log.warning(
                    "directory version %d: %d peers",
                    membership.directory.version if membership.directory else 0,
                    len(runtime.config.peers),
                )
            membership.witness(runtime.audit, runtime.checkpoints)
        except BlindhitError as error:
            _log.warning("federation: %s", error)
        next_refresh = time.monotonic() + membership.refresh_interval()


def serve(
    node_dir: Path,
    *,
    port: int | None = None,
    checkpoint_interval: float = 1.0,
    out: TextIO = sys.stdout,
) -> None:
    """Serve the node in `node_dir` until SIGTERM or SIGINT."""
    with stop_on_signals() as stop, NodeRuntime.open(node_dir) as runtime:
        _serve(runtime, port, checkpoint_interval, out, stop)


def _serve(
    runtime: NodeRuntime,
    port: int | None,
    checkpoint_interval: float,
    out: TextIO,
    stop: threading.Event,
) -> None:
    if runtime.membership is not None:
        try:
            runtime.refresh_membership()
        except BlindhitError as error:
            _log.warning("federation directory not refreshed at start: %s", error)
    config = runtime.config
    with DatasetStore(config.node.database, create=False) as store:
        for epoch in log_epochs(store, runtime.audit, config.node.id):
            _log.warning(
                "logged epoch %d of %s, left unlogged by a crash", epoch.epoch, epoch.dataset
            )
    datasets = StoredDatasets(config, runtime.passphrase)
    try:
        # Unseal every published key now (scrypt: deliberately slow), so that a wrong passphrase
        # stops the node at start and the first peer's request does not pay for it.
        # A dataset with nothing published yet is unsealed when its first epoch is.
        for dataset in config.datasets:
            with contextlib.suppress(NotPermitted):
                datasets.oprf_server(dataset.name)

        match = MatchService(
            config, datasets, runtime.policy, runtime.audit, runtime.checkpoints, runtime.identity
        )
        desk = runtime.owner_desk()
        logged = desk.log_pending()
        if logged:
            _log.warning("logged %d disclosure decision(s) left unlogged by a crash", logged)
        disclosure = DisclosureService(config, match, desk, runtime.policy)
        server, bound = create_server(config, runtime.tls, match, port=port, disclosure=disclosure)
        timer = CheckpointTimer(runtime.checkpoints, checkpoint_interval)
        server.start()
        timer.start()
        check_desk: RunningDesk | None = None
        try:
            listen = config.node.listen
            host = f"[{listen.host}]" if ":" in listen.host else listen.host
            print(f"{config.node.id} listening on {host}:{bound}", file=out, flush=True)
            if config.desk is not None:
                check_desk = start_desk(runtime, config.desk)
                address = check_desk.address
                print(f"{config.node.id} desk listening on {address}", file=out, flush=True)
                if check_desk.grpc_address is not None:
                    print(
                        f"{config.node.id} desk gRPC listening on {check_desk.grpc_address}",
                        file=out,
                        flush=True,
                    )
            _run_until(stop, runtime, match, check_desk)
        finally:
            if check_desk is not None:
                check_desk.stop()
            server.stop(STOP_GRACE_SECONDS).wait()
            match.close()
            timer.stop()
            runtime.checkpoints.issue()
        # One line when the node has stopped cleanly, so that an operator sees it is not hung.
        print(f"{config.node.id} stopped", file=sys.stderr, flush=True)
    finally:
        datasets.close()
