"""`blindhit desk` and `blindhit referrals`, run in this process against a federation's querier.

The token is printed once with its warning and works; a list never shows it; a revoked token is
refused; bad input is one line and exit status 2 (cli/main.py).
"""

from __future__ import annotations

import json

import pytest
from unit.conftest import Federation

from cli.desk import ROLES
from cli.main import EXIT_ERROR, main
from crypto.errors import UnknownPeer
from node.desk.clients import ClientStore, Role


def test_a_client_is_added_listed_and_revoked(
    federation: Federation, capsys: pytest.CaptureFixture[str]
) -> None:
    node = str(federation.querier_node.root)
    database = federation.querier.config.node.database
    assert main(["desk", "client", "add", "--node", node, "--id", "border-1", "--role", "system",
                 "--daily-quota", "50"]) == 0  # fmt: skip
    shown = capsys.readouterr()
    assert "shown this once" in shown.err
    token = shown.out.splitlines()[-1]
    with ClientStore(database) as store:
        client = store.authenticate(token)
    assert (client.id, client.role, client.daily_quota) == ("border-1", Role.SYSTEM, 50)

    assert main(["desk", "client", "list", "--node", node, "--json"]) == 0
    listed = capsys.readouterr().out
    assert token not in listed
    (entry,) = json.loads(listed)["clients"]
    assert (entry["id"], entry["role"], entry["revoked_at"]) == ("border-1", "system", None)

    assert main(["desk", "client", "revoke", "--node", node, "--id", "border-1"]) == 0
    assert "revoked" in capsys.readouterr().out
    with ClientStore(database) as store, pytest.raises(UnknownPeer, match="not one of this"):
        store.authenticate(token)
    assert main(["desk", "client", "revoke", "--node", node, "--id", "border-1"]) == EXIT_ERROR
    assert "no client border-1 to revoke" in capsys.readouterr().err


def test_bad_input_is_one_line(federation: Federation, capsys: pytest.CaptureFixture[str]) -> None:
    node = str(federation.querier_node.root)
    cases = [
        (["desk", "client", "add", "--node", node, "--id", "airline-1", "--role", "partner"],
         "a partner's checks state no purpose of their own"),
        (["desk", "client", "add", "--node", node, "--id", "Bad Id", "--role", "system"],
         "client id: expected 1 to 64 characters"),
        (["desk", "serve", "--node", node], "no [desk] table"),
        (["referrals", "show", "--node", node, "R-NOSUCHONE2"], "no referral R-NOSUCHONE2"),
    ]  # fmt: skip
    for argv, message in cases:
        assert main(argv) == EXIT_ERROR, argv
        error = capsys.readouterr().err
        assert message in error
        assert error.count("\n") == 1
        assert "Traceback" not in error
    with pytest.raises(SystemExit):
        main(["desk", "client", "add", "--node", node, "--id", "x-1", "--role", "boss"])
    assert "invalid choice: 'boss'" in capsys.readouterr().err


def test_no_referrals_yet(federation: Federation, capsys: pytest.CaptureFixture[str]) -> None:
    node = str(federation.querier_node.root)
    assert main(["referrals", "list", "--node", node]) == 0
    assert capsys.readouterr().out == "no referrals\n"
    assert main(["referrals", "list", "--node", node, "--json", "--open"]) == 0
    assert json.loads(capsys.readouterr().out) == {"referrals": []}


def test_the_command_line_offers_every_role() -> None:
    assert tuple(role.value for role in Role) == ROLES
