"""Generate the Python code of the wire contract from `proto/blindhit/v1/*.proto`.

Run from anywhere as `python proto/generate.py` (the Makefile's `proto` target). Output goes next
to the .proto files, with a do-not-edit header; `--check` regenerates into a temporary folder and
exits 1 if anything differs from what is committed.
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
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


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
        f"--grpc_python_out={out_root}",
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
        if args.check:
            committed = {p.name for p in (ROOT / SOURCE).iterdir() if p.name.endswith(SUFFIXES)}
            stale += sorted(committed - {p.name for p in fresh})
    if stale:
        print(f"generated code is stale: {', '.join(stale)}; run make proto", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
