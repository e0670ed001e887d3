"""The member node, in rooms by role: owner/, querier/, desk/, datasets/, keys/, audit/, storage/.

`transport/` holds what both sides of the peer-facing gRPC transport share; the command line is
`cli/`. See docs/architecture.md.
"""

import os

# gRPC's C core logs connection events (a peer closing its channel, say) at INFO on stderr; an
# operator's terminal should show errors only, unless they ask for more with GRPC_VERBOSITY.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

__all__: list[str] = []
