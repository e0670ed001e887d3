# Generated from the .proto files by proto/generate.py. Do not edit.
from proto.blindhit.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Urgency(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    URGENCY_UNSPECIFIED: _ClassVar[Urgency]
    URGENCY_STANDARD: _ClassVar[Urgency]
    URGENCY_URGENT: _ClassVar[Urgency]
URGENCY_UNSPECIFIED: Urgency
URGENCY_STANDARD: Urgency
URGENCY_URGENT: Urgency

class DisclosureRequest(_message.Message):
    __slots__ = ("context", "dataset", "match_references", "check_entry_index", "justification", "urgency", "requested_fields", "recipient_public_key")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    MATCH_REFERENCES_FIELD_NUMBER: _ClassVar[int]
    CHECK_ENTRY_INDEX_FIELD_NUMBER: _ClassVar[int]
    JUSTIFICATION_FIELD_NUMBER: _ClassVar[int]
    URGENCY_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.RequestContext
    dataset: str
    match_references: _containers.RepeatedScalarFieldContainer[bytes]
    check_entry_index: int
    justification: str
    urgency: Urgency
    requested_fields: _containers.RepeatedScalarFieldContainer[str]
    recipient_public_key: bytes
    def __init__(self, context: _Optional[_Union[_common_pb2.RequestContext, _Mapping]] = ..., dataset: _Optional[str] = ..., match_references: _Optional[_Iterable[bytes]] = ..., check_entry_index: _Optional[int] = ..., justification: _Optional[str] = ..., urgency: _Optional[_Union[Urgency, str]] = ..., requested_fields: _Optional[_Iterable[str]] = ..., recipient_public_key: _Optional[bytes] = ...) -> None: ...

class DisclosureAck(_message.Message):
    __slots__ = ("request_id", "state", "due_at_ms", "receipt")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_MS_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    request_id: bytes
    state: str
    due_at_ms: int
    receipt: _common_pb2.Receipt
    def __init__(self, request_id: _Optional[bytes] = ..., state: _Optional[str] = ..., due_at_ms: _Optional[int] = ..., receipt: _Optional[_Union[_common_pb2.Receipt, _Mapping]] = ...) -> None: ...

class FetchRequest(_message.Message):
    __slots__ = ("context", "disclosure_request_id")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    DISCLOSURE_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.RequestContext
    disclosure_request_id: bytes
    def __init__(self, context: _Optional[_Union[_common_pb2.RequestContext, _Mapping]] = ..., disclosure_request_id: _Optional[bytes] = ...) -> None: ...

class FetchResponse(_message.Message):
    __slots__ = ("disclosure_request_id", "state", "due_at_ms", "deny_reason", "deny_text", "sealed_release", "expires_at_ms", "receipt")
    DISCLOSURE_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_MS_FIELD_NUMBER: _ClassVar[int]
    DENY_REASON_FIELD_NUMBER: _ClassVar[int]
    DENY_TEXT_FIELD_NUMBER: _ClassVar[int]
    SEALED_RELEASE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    disclosure_request_id: bytes
    state: str
    due_at_ms: int
    deny_reason: str
    deny_text: str
    sealed_release: bytes
    expires_at_ms: int
    receipt: _common_pb2.Receipt
    def __init__(self, disclosure_request_id: _Optional[bytes] = ..., state: _Optional[str] = ..., due_at_ms: _Optional[int] = ..., deny_reason: _Optional[str] = ..., deny_text: _Optional[str] = ..., sealed_release: _Optional[bytes] = ..., expires_at_ms: _Optional[int] = ..., receipt: _Optional[_Union[_common_pb2.Receipt, _Mapping]] = ...) -> None: ...
