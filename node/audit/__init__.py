"""The node's tamper-evident audit log and the auditor's tools.

Modules, in the order data flows through them:

- `entries`: what is logged, a typed and bounded `AuditEntry` with one canonical encoding;
- `store`: `AuditLog`, the append-only log in SQLite under an RFC 9162 Merkle tree, with group
  commit (an index is returned only once its entry is durable);
- `checkpoints`: signed C2SP tlog-checkpoint notes, on demand and on a timer;
- `receipts`: C2SP tlog-proof receipts for counterparts, and consistency proofs;
- `export`: a self-contained bundle for auditors in the C2SP tlog-tiles layout;
- `verify`: offline verification of an export, with a report.
"""

from node.audit.checkpoints import CheckpointIssuer, CheckpointTimer, SignedCheckpoint
from node.audit.entries import (
    AuditEntry,
    Decision,
    EntryKind,
    InvalidEntry,
    decode_entry,
    digest_request,
    encode_entry,
)
from node.audit.export import ExportSummary, export_log
from node.audit.receipts import (
    ConsistencyProof,
    Receipt,
    VerifiedReceipt,
    issue_receipt,
    parse_receipts,
    verify_receipt,
)
from node.audit.store import AuditLog
from node.audit.verify import Failure, VerificationReport, verify_export

__all__ = [
    "AuditEntry",
    "AuditLog",
    "CheckpointIssuer",
    "CheckpointTimer",
    "ConsistencyProof",
    "Decision",
    "EntryKind",
    "ExportSummary",
    "Failure",
    "InvalidEntry",
    "Receipt",
    "SignedCheckpoint",
    "VerificationReport",
    "VerifiedReceipt",
    "decode_entry",
    "digest_request",
    "encode_entry",
    "export_log",
    "issue_receipt",
    "parse_receipts",
    "verify_export",
    "verify_receipt",
]
