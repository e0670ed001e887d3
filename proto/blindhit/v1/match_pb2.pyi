# Generated from the .proto files by proto/generate.py. Do not edit.
from proto.blindhit.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IndexRequest(_message.Message):
    __slots__ = ("context", "dataset", "have_epoch")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    HAVE_EPOCH_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.RequestContext
    dataset: str
    have_epoch: int
    def __init__(self, context: _Optional[_Union[_common_pb2.RequestContext, _Mapping]] = ..., dataset: _Optional[str] = ..., have_epoch: _Optional[int] = ...) -> None: ...

class IndexHeader(_message.Message):
    __slots__ = ("dataset", "epoch", "suite", "mode", "public_key", "delta", "base_epoch", "payload_length", "index_digest", "keying_profile", "max_batch")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SUITE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    BASE_EPOCH_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_LENGTH_FIELD_NUMBER: _ClassVar[int]
    INDEX_DIGEST_FIELD_NUMBER: _ClassVar[int]
    KEYING_PROFILE_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    epoch: int
    suite: str
    mode: int
    public_key: bytes
    delta: bool
    base_epoch: int
    payload_length: int
    index_digest: bytes
    keying_profile: str
    max_batch: int
    def __init__(self, dataset: _Optional[str] = ..., epoch: _Optional[int] = ..., suite: _Optional[str] = ..., mode: _Optional[int] = ..., public_key: _Optional[bytes] = ..., delta: _Optional[bool] = ..., base_epoch: _Optional[int] = ..., payload_length: _Optional[int] = ..., index_digest: _Optional[bytes] = ..., keying_profile: _Optional[str] = ..., max_batch: _Optional[int] = ...) -> None: ...

class IndexChunk(_message.Message):
    __slots__ = ("header", "payload")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    header: IndexHeader
    payload: bytes
    def __init__(self, header: _Optional[_Union[IndexHeader, _Mapping]] = ..., payload: _Optional[bytes] = ...) -> None: ...

class BlindEvaluateRequest(_message.Message):
    __slots__ = ("context", "dataset", "epoch", "info", "blinded_elements")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    BLINDED_ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.RequestContext
    dataset: str
    epoch: int
    info: bytes
    blinded_elements: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, context: _Optional[_Union[_common_pb2.RequestContext, _Mapping]] = ..., dataset: _Optional[str] = ..., epoch: _Optional[int] = ..., info: _Optional[bytes] = ..., blinded_elements: _Optional[_Iterable[bytes]] = ...) -> None: ...

class BlindEvaluateResponse(_message.Message):
    __slots__ = ("request_id", "dataset", "epoch", "evaluated_elements", "proof", "receipt")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    EVALUATED_ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    request_id: bytes
    dataset: str
    epoch: int
    evaluated_elements: _containers.RepeatedScalarFieldContainer[bytes]
    proof: bytes
    receipt: _common_pb2.Receipt
    def __init__(self, request_id: _Optional[bytes] = ..., dataset: _Optional[str] = ..., epoch: _Optional[int] = ..., evaluated_elements: _Optional[_Iterable[bytes]] = ..., proof: _Optional[bytes] = ..., receipt: _Optional[_Union[_common_pb2.Receipt, _Mapping]] = ...) -> None: ...

class OwnerMatchRequest(_message.Message):
    __slots__ = ("context", "dataset", "epoch", "tags")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    context: _common_pb2.RequestContext
    dataset: str
    epoch: int
    tags: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, context: _Optional[_Union[_common_pb2.RequestContext, _Mapping]] = ..., dataset: _Optional[str] = ..., epoch: _Optional[int] = ..., tags: _Optional[_Iterable[bytes]] = ...) -> None: ...

class OwnerMatchResponse(_message.Message):
    __slots__ = ("request_id", "dataset", "epoch", "hits", "match_references", "receipt")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    MATCH_REFERENCES_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    request_id: bytes
    dataset: str
    epoch: int
    hits: _containers.RepeatedScalarFieldContainer[bool]
    match_references: _containers.RepeatedScalarFieldContainer[bytes]
    receipt: _common_pb2.Receipt
    def __init__(self, request_id: _Optional[bytes] = ..., dataset: _Optional[str] = ..., epoch: _Optional[int] = ..., hits: _Optional[_Iterable[bool]] = ..., match_references: _Optional[_Iterable[bytes]] = ..., receipt: _Optional[_Union[_common_pb2.Receipt, _Mapping]] = ...) -> None: ...
