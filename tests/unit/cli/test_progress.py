"""Progress bars are drawn by tqdm on a terminal only, from the build's reports."""

from __future__ import annotations

import io

from cli.progress import Progress
from node.datasets.build import BuildPhase, BuildProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_rotation_is_drawn_against_the_total_it_reports() -> None:
    terminal = Terminal()
    with Progress(terminal, "re-evaluating persons") as progress:
        progress(BuildProgress(BuildPhase.EVALUATING, 0, 2000))
        progress(BuildProgress(BuildPhase.EVALUATING, 1000, 2000))
        progress(BuildProgress(BuildPhase.EVALUATING, 2000, 2000))
        progress(BuildProgress(BuildPhase.INDEXING, 2000, 2000))
    shown = terminal.getvalue()
    assert shown.startswith("\rre-evaluating persons [")
    assert "]   0% 0 records, " in shown
    assert "] 100% building the index, " in shown
    assert shown.endswith("\n")
    assert shown.count("\n") == 1, "one line, redrawn in place"


def test_an_import_counts_bytes_read_and_names_the_records() -> None:
    terminal = Terminal()
    read = [0]
    progress = Progress(terminal, "importing a.csv", 400, position=lambda step: read[0])
    read[0] = 100
    progress(BuildProgress(BuildPhase.EVALUATING, 512))
    progress.close()
    shown = terminal.getvalue()
    assert "importing a.csv [" in shown
    assert " 25% 512 records, " in shown
    progress.close()
    assert terminal.getvalue() == shown, "closing twice draws nothing more"


def test_nothing_is_written_where_the_stream_is_not_a_terminal() -> None:
    pipe = io.StringIO()
    with Progress(pipe, "importing a.csv", 10) as progress:
        for done in range(0, 2000, 100):
            progress(BuildProgress(BuildPhase.EVALUATING, done))
        progress(BuildProgress(BuildPhase.COMMITTING, 2000))
    assert pipe.getvalue() == ""
