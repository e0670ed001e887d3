# Generated from the .proto files by proto/generate.py. Do not edit.
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class RequestContext(_message.Message):
    __slots__ = ("request_id", "querier_node", "officer_id", "purpose", "legal_basis", "case_reference", "issued_at_ms")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    QUERIER_NODE_FIELD_NUMBER: _ClassVar[int]
    OFFICER_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    CASE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    request_id: bytes
    querier_node: str
    officer_id: str
    purpose: str
    legal_basis: str
    case_reference: str
    issued_at_ms: int
    def __init__(self, request_id: _Optional[bytes] = ..., querier_node: _Optional[str] = ..., officer_id: _Optional[str] = ..., purpose: _Optional[str] = ..., legal_basis: _Optional[str] = ..., case_reference: _Optional[str] = ..., issued_at_ms: _Optional[int] = ...) -> None: ...

class SignedEnvelope(_message.Message):
    __slots__ = ("body", "signer", "signature")
    BODY_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    body: bytes
    signer: str
    signature: bytes
    def __init__(self, body: _Optional[bytes] = ..., signer: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("entry_index", "tlog_proof")
    ENTRY_INDEX_FIELD_NUMBER: _ClassVar[int]
    TLOG_PROOF_FIELD_NUMBER: _ClassVar[int]
    entry_index: int
    tlog_proof: str
    def __init__(self, entry_index: _Optional[int] = ..., tlog_proof: _Optional[str] = ...) -> None: ...
