# Generated from the .proto files by proto/generate.py. Do not edit.
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CheckRequest(_message.Message):
    __slots__ = ("probes", "purpose", "legal_basis", "case_reference", "mode", "members")
    PROBES_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    CASE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    probes: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    purpose: str
    legal_basis: str
    case_reference: str
    mode: str
    members: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, probes: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., purpose: _Optional[str] = ..., legal_basis: _Optional[str] = ..., case_reference: _Optional[str] = ..., mode: _Optional[str] = ..., members: _Optional[_Iterable[str]] = ...) -> None: ...

class KeyHit(_message.Message):
    __slots__ = ("kind", "strength", "match_reference")
    KIND_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    MATCH_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    strength: str
    match_reference: bytes
    def __init__(self, kind: _Optional[str] = ..., strength: _Optional[str] = ..., match_reference: _Optional[bytes] = ...) -> None: ...

class ProbeResult(_message.Message):
    __slots__ = ("probe", "hit", "keys")
    PROBE_FIELD_NUMBER: _ClassVar[int]
    HIT_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    probe: int
    hit: bool
    keys: _containers.RepeatedCompositeFieldContainer[KeyHit]
    def __init__(self, probe: _Optional[int] = ..., hit: _Optional[bool] = ..., keys: _Optional[_Iterable[_Union[KeyHit, _Mapping]]] = ...) -> None: ...

class DatasetAnswer(_message.Message):
    __slots__ = ("dataset", "status", "message", "epoch", "index_age_seconds", "synced", "probes", "receipts")
    DATASET_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    INDEX_AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SYNCED_FIELD_NUMBER: _ClassVar[int]
    PROBES_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    dataset: str
    status: str
    message: str
    epoch: int
    index_age_seconds: float
    synced: bool
    probes: _containers.RepeatedCompositeFieldContainer[ProbeResult]
    receipts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, dataset: _Optional[str] = ..., status: _Optional[str] = ..., message: _Optional[str] = ..., epoch: _Optional[int] = ..., index_age_seconds: _Optional[float] = ..., synced: _Optional[bool] = ..., probes: _Optional[_Iterable[_Union[ProbeResult, _Mapping]]] = ..., receipts: _Optional[_Iterable[str]] = ...) -> None: ...

class MemberAnswer(_message.Message):
    __slots__ = ("member", "status", "seconds", "datasets")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    member: str
    status: str
    seconds: float
    datasets: _containers.RepeatedCompositeFieldContainer[DatasetAnswer]
    def __init__(self, member: _Optional[str] = ..., status: _Optional[str] = ..., seconds: _Optional[float] = ..., datasets: _Optional[_Iterable[_Union[DatasetAnswer, _Mapping]]] = ...) -> None: ...

class Traveller(_message.Message):
    __slots__ = ("reference", "fields")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    reference: str
    fields: _struct_pb2.Struct
    def __init__(self, reference: _Optional[str] = ..., fields: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ScreenRequest(_message.Message):
    __slots__ = ("travellers",)
    TRAVELLERS_FIELD_NUMBER: _ClassVar[int]
    travellers: _containers.RepeatedCompositeFieldContainer[Traveller]
    def __init__(self, travellers: _Optional[_Iterable[_Union[Traveller, _Mapping]]] = ...) -> None: ...

class TravellerResult(_message.Message):
    __slots__ = ("reference", "outcome", "referral")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REFERRAL_FIELD_NUMBER: _ClassVar[int]
    reference: str
    outcome: str
    referral: str
    def __init__(self, reference: _Optional[str] = ..., outcome: _Optional[str] = ..., referral: _Optional[str] = ...) -> None: ...

class ScreenResponse(_message.Message):
    __slots__ = ("screening", "complete", "travellers")
    SCREENING_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    TRAVELLERS_FIELD_NUMBER: _ClassVar[int]
    screening: str
    complete: bool
    travellers: _containers.RepeatedCompositeFieldContainer[TravellerResult]
    def __init__(self, screening: _Optional[str] = ..., complete: _Optional[bool] = ..., travellers: _Optional[_Iterable[_Union[TravellerResult, _Mapping]]] = ...) -> None: ...
