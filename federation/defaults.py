"""Defaults of the coordinating node that the command line names in its help texts.

They live apart from `federation.ca` and `federation.config`, which load the certificate and
configuration machinery, so that building the `blindhit` parser reads them without importing
anything else. Those modules take their defaults from here: there is one value for each.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CA_VALIDITY_DAYS",
    "CERTIFICATE_VALIDITY_DAYS",
    "DEFAULT_LISTEN",
    "DEFAULT_REFRESH_SECONDS",
]

CA_VALIDITY_DAYS: Final = 1826
# 365 days: long enough that a setup does not expire mid-project, short enough that a forgotten
# certificate does not outlive its purpose for years.
CERTIFICATE_VALIDITY_DAYS: Final = 365
DEFAULT_LISTEN: Final = "127.0.0.1:7400"
# Five minutes: a revocation reaches every member within minutes, at 195 small fetches per
# interval, which costs the coordinating node nothing.
DEFAULT_REFRESH_SECONDS: Final = 300
