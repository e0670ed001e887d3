"""Generate the Python code of the wire contract from `proto/blindhit/v1/*.proto`.

Run from anywhere as `python proto/generate.py` (the Makefile's `proto` target). Output goes next
to the .proto files, with a do-not-edit header; `--check` regenerates into a temporary folder and
exits 1 if anything differs from what is committed (a generated file left over from an older run
counts as a difference, and a plain run deletes it).

What is generated: the messages (`*_pb2.py`) and their type stubs (`*_pb2.pyi`), and no gRPC
service code (`*_pb2_grpc.py`). The services are read from the descriptors in `*_pb2.py` by
`proto.services`, which derives every method path and checks every registration against them.
That is the cleaner of the two ways, for three reasons:

- The generated servicer registration decodes each request in the gRPC runtime, which answers an
  undecodable request INTERNAL. Every blindhit server takes its requests as raw bytes and
  decodes them in the servicer, so that such a request is answered INVALID_ARGUMENT (see
  `node.owner.match_service`, `federation.server`); and the coordinating node relays envelopes
  byte for byte in both directions, since protobuf encoding is not canonical and the bytes are
  what is signed. The generated stubs and registrations fit neither, so using them would leave
  two ways of naming a method in the tree instead of one.
- The generated gRPC module carries no type information (protoc writes no stub for it), so every
  call through it would be untyped; `proto.services` hands out callables typed by the
  serializers given.
- The generated module refuses to import under an older grpcio than the one that generated it,
  a failure at start that the descriptors, which depend only on protobuf, do not have.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path("proto") / "blindhit" / "v1"
HEADER = "# Generated from the .proto files by proto/generate.py. Do not edit.\n"
SUFFIXES = ("_pb2.py", "_pb2.pyi")
# Any file of generated code, including kinds no longer generated, which the check reports.
GENERATED = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def generate(out_root: Path) -> list[Path]:
    """Write the generated modules under `out_root` (mirroring the repository) and list them."""
    protos = sorted(str(p.relative_to(ROOT)) for p in (ROOT / SOURCE).glob("*.proto"))
    well_known = str(resources.files("grpc_tools") / "_proto")
    arguments = [
        "grpc_tools.protoc",
        f"-I{ROOT}",
        f"-I{well_known}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        *protos,
    ]
    if protoc.main(arguments) != 0:
        raise SystemExit("protoc failed")
    generated = sorted(p for p in (out_root / SOURCE).iterdir() if p.name.endswith(SUFFIXES))
    for path in generated:
        path.write_text(HEADER + path.read_text())
    return generated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if committed code is stale")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        fresh = generate(Path(scratch))
        stale = []
        for path in fresh:
            target = ROOT / SOURCE / path.name
            if args.check:
                if not target.exists() or target.read_bytes() != path.read_bytes():
                    stale.append(target.name)
            else:
                shutil.copyfile(path, target)
        left_over = sorted(
            p
            for p in (ROOT / SOURCE).iterdir()
            if p.name.endswith(GENERATED) and p.name not in {f.name for f in fresh}
        )
        if args.check:
            stale += [p.name for p in left_over]
        else:
            for path in left_over:
                path.unlink()
    if stale:
        print(f"generated code is stale: {', '.join(stale)}; run make proto", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
