"""Defaults of node.toml that the command line names in its help texts.

They live apart from `node.config`, which loads the configuration machinery, so that building the
`blindhit` parser reads them without importing anything else. `node.config` takes its defaults
from here: there is one value for each.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_LISTEN"]

DEFAULT_LISTEN: Final = "127.0.0.1:7443"
"""`[node] listen`: the address the node serves its peers on."""
