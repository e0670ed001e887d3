# Generated from the .proto files by proto/generate.py. Do not edit.
from proto.blindhit.v1 import match_pb2 as _match_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RelayedMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RELAYED_METHOD_UNSPECIFIED: _ClassVar[RelayedMethod]
    RELAYED_METHOD_BLIND_EVALUATE: _ClassVar[RelayedMethod]
    RELAYED_METHOD_OWNER_MATCH: _ClassVar[RelayedMethod]
RELAYED_METHOD_UNSPECIFIED: RelayedMethod
RELAYED_METHOD_BLIND_EVALUATE: RelayedMethod
RELAYED_METHOD_OWNER_MATCH: RelayedMethod

class DirectoryRequest(_message.Message):
    __slots__ = ("have_version",)
    HAVE_VERSION_FIELD_NUMBER: _ClassVar[int]
    have_version: int
    def __init__(self, have_version: _Optional[int] = ...) -> None: ...

class DirectoryResponse(_message.Message):
    __slots__ = ("signed_directory", "version")
    SIGNED_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    signed_directory: str
    version: int
    def __init__(self, signed_directory: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class RelayedRequest(_message.Message):
    __slots__ = ("member", "method", "envelope")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    member: str
    method: RelayedMethod
    envelope: bytes
    def __init__(self, member: _Optional[str] = ..., method: _Optional[_Union[RelayedMethod, str]] = ..., envelope: _Optional[bytes] = ...) -> None: ...

class FanOutRequest(_message.Message):
    __slots__ = ("requests", "deadline_ms")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[RelayedRequest]
    deadline_ms: int
    def __init__(self, requests: _Optional[_Iterable[_Union[RelayedRequest, _Mapping]]] = ..., deadline_ms: _Optional[int] = ...) -> None: ...

class FanOutAnswer(_message.Message):
    __slots__ = ("member", "status", "code", "message", "envelope", "milliseconds")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    MILLISECONDS_FIELD_NUMBER: _ClassVar[int]
    member: str
    status: str
    code: int
    message: str
    envelope: bytes
    milliseconds: int
    def __init__(self, member: _Optional[str] = ..., status: _Optional[str] = ..., code: _Optional[int] = ..., message: _Optional[str] = ..., envelope: _Optional[bytes] = ..., milliseconds: _Optional[int] = ...) -> None: ...

class RelayedSync(_message.Message):
    __slots__ = ("member", "envelope")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    member: str
    envelope: bytes
    def __init__(self, member: _Optional[str] = ..., envelope: _Optional[bytes] = ...) -> None: ...

class CosignedRequest(_message.Message):
    __slots__ = ("origin",)
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    origin: str
    def __init__(self, origin: _Optional[str] = ...) -> None: ...

class CosignedResponse(_message.Message):
    __slots__ = ("cosigned_checkpoint", "size")
    COSIGNED_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    cosigned_checkpoint: str
    size: int
    def __init__(self, cosigned_checkpoint: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class CosignRequest(_message.Message):
    __slots__ = ("checkpoint", "old_size", "consistency_proof")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    OLD_SIZE_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_PROOF_FIELD_NUMBER: _ClassVar[int]
    checkpoint: str
    old_size: int
    consistency_proof: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, checkpoint: _Optional[str] = ..., old_size: _Optional[int] = ..., consistency_proof: _Optional[_Iterable[bytes]] = ...) -> None: ...

class CosignResponse(_message.Message):
    __slots__ = ("cosigned_checkpoint",)
    COSIGNED_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    cosigned_checkpoint: str
    def __init__(self, cosigned_checkpoint: _Optional[str] = ...) -> None: ...
