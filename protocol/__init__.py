"""Pure rules of blindhit: match keys, the match index, the check, disclosure and directory formats.

No I/O, no gRPC, no SQL: functions and state machines over bytes and values, shared by the member
node (`node/`) and the coordinating node (`federation/`).
"""

__all__: list[str] = []
