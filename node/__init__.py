"""The member node: storage, policy, audit log, gRPC services and the command line."""

import os

# gRPC's C core logs connection events (a peer closing its channel, say) at INFO on stderr; an
# operator's terminal should show errors only, unless they ask for more with GRPC_VERBOSITY.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

__all__: list[str] = []
