"""The command line starts light: building the parser imports no machinery (cli/main.py).

Each case runs a fresh interpreter, as `blindhit` itself starts, and lists the modules it loaded;
a heavy import at the top of a verb module, or in `cli/options.py`, fails here rather than on a
stopwatch. The benchmark of the same starts in time is bench/cli_start.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parents[3]

# Packages that building the parser must not load: the machinery verbs run on.
HEAVY = frozenset(
    {
        "Cryptodome",
        "anyio",
        "barriers",
        "blake3",
        "cryptography",
        "fastapi",
        "google",
        "grpc",
        "grpc_health",
        "prometheus_client",
        "pydantic",
        "rbcl",
        "starlette",
        "tomlkit",
        "uvicorn",
        "tqdm",
    }
)
PROJECT = frozenset({"cli", "crypto", "dev", "federation", "node", "proto", "protocol"})
# The project modules a parser may load: the error tree, the validators and the enumerations
# the parser offers, the modules of defaults it names, and the packages holding them.
LIGHT = frozenset(
    {
        "crypto",
        "crypto.errors",
        "federation",
        "federation.defaults",
        "node",
        "node.defaults",
        "protocol",
        "protocol.admission",
        "protocol.validation",
    }
)

# Runs `blindhit` with the arguments in argv[1] (JSON) and prints, as JSON, the exit status and
# the modules loaded by then (a verb's --help ends in SystemExit, as argparse does).
CHILD = """
import json, sys
from cli.main import main
try:
    status = main(json.loads(sys.argv[1]))
except SystemExit as exit:
    status = exit.code
print(json.dumps({"status": status, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def loaded(arguments: list[str], environment: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh `blindhit ARGUMENTS` has loaded when it ends (it must exit 0)."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(arguments)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = json.loads(result.stderr.splitlines()[-1])
    assert report["status"] == 0, result.stderr
    return set(report["modules"])


def heavy(modules: set[str], allowed: frozenset[str] = LIGHT) -> list[str]:
    """The modules of `modules` that a light start must not load."""
    return sorted(
        name
        for name in modules
        if name.split(".")[0] in HEAVY
        or (name.split(".")[0] in PROJECT and name not in allowed and not name.startswith("cli"))
    )


def test_building_the_parser_loads_no_machinery() -> None:
    code = "import cli.main, json, sys; cli.main._parser(); print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert heavy(set(json.loads(result.stdout))) == []


@pytest.mark.parametrize(
    "arguments",
    [
        ["--help"],
        ["check", "--help"],
        ["serve", "--help"],
        ["init", "--help"],
        ["import", "--help"],
        ["dataset", "rotate-key", "--help"],
        ["audit", "verify", "--help"],
        ["federation", "init", "--help"],
        ["dev-ca", "sign", "--help"],
        ["metrics", "--help"],
    ],
)
def test_help_loads_no_machinery(arguments: list[str]) -> None:
    assert heavy(loaded(arguments)) == []


def test_keys_loads_the_match_keys_only() -> None:
    modules = loaded(["keys", '{"name": "Anna Kowalczyk", "date_of_birth": "1988-11-02"}'])
    assert "protocol.match_keys" in modules
    assert heavy(modules, LIGHT | {m for m in modules if m.startswith("protocol.match_keys")}) == []


def test_the_node_package_sets_the_grpc_log_level_before_any_handler() -> None:
    environment = {name: value for name, value in os.environ.items() if name != "GRPC_VERBOSITY"}
    code = "import os, cli.main; print(os.environ['GRPC_VERBOSITY'])"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "ERROR"


def test_deferred_help_names_the_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["federation", "revoke", "--help"])
    assert "why: unspecified, key-compromise, superseded, suspended, withdrawn" in " ".join(
        capsys.readouterr().out.split()
    )
    with pytest.raises(SystemExit):
        main(["keys", "--help"])
    assert "(known: v1; default v1)" in capsys.readouterr().out


def test_deferred_choices_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="2"):
        main(["requests", "deny", "0123456789ab", "--reason", "bored", "--officer", "of-1"])
    error = capsys.readouterr().err
    assert "argument --reason: invalid choice: 'bored'" in error
    assert "'ongoing_investigation'" in error
    with pytest.raises(SystemExit):
        main(["requests", "file", "--help"])
    assert "--urgency URGENCY" in capsys.readouterr().out
