"""Wire values in protocol terms: request contexts and times as the protobuf messages carry them.

Times travel as whole milliseconds since the Unix epoch, UTC (`issued_at_ms`, `due_at_ms`,
`expires_at_ms`); these two functions are the only conversions.
"""

from __future__ import annotations

from datetime import UTC, datetime

from proto.blindhit.v1 import common_pb2
from protocol.admission import PurposeFields

__all__ = ["from_ms", "purpose_fields", "to_ms"]


def to_ms(value: datetime) -> int:
    """`value` as whole milliseconds since the Unix epoch."""
    return int(value.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    """Milliseconds since the Unix epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(value / 1000, UTC)


def purpose_fields(context: common_pb2.RequestContext) -> PurposeFields:
    """The purpose fields of a request's context, for `protocol.admission`."""
    return PurposeFields(
        querier_node=context.querier_node,
        request_id=context.request_id,
        officer_id=context.officer_id,
        purpose=context.purpose,
        legal_basis=context.legal_basis,
        case_reference=context.case_reference,
    )
