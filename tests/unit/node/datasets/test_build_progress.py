"""An import and a rotation tell their caller how far they have come, and draw nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dev.synthetic import synthetic_people
from node.config import Dataset
from node.datasets.build import (
    BuildPhase,
    BuildProgress,
    ImportOptions,
    import_records,
    rotate_key,
)
from node.datasets.sources import SourceRecord
from node.datasets.store import DatasetStore
from node.keys.sealed import ScryptCost

NODE = "fr-ct"
PASSPHRASE = b"a test passphrase"
CHEAP = ScryptCost(log2_n=10)
# More than one batch of records read (512), so that progress is reported along the way.
COUNT = 1200


def _source(count: int) -> Iterator[SourceRecord]:
    for line, person in enumerate(synthetic_people(count, seed=3, prefix="P"), 1):
        fields = dict(person)
        record_id = str(fields.pop("id"))
        yield SourceRecord(line, record_id, fields, {"person_status": "wanted"})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DatasetStore]:
    opened = DatasetStore(tmp_path / "node.db")
    yield opened
    opened.close()


def _phases(steps: list[BuildProgress]) -> list[BuildPhase]:
    seen: list[BuildPhase] = []
    for step in steps:
        if not seen or seen[-1] is not step.phase:
            seen.append(step.phase)
    return seen


def test_an_import_reports_records_read_then_each_phase(
    store: DatasetStore, capsys: pytest.CaptureFixture[str]
) -> None:
    steps: list[BuildProgress] = []
    result = import_records(
        store,
        Dataset("persons"),
        _source(COUNT),
        node_id=NODE,
        passphrase=PASSPHRASE,
        options=ImportOptions(workers=1),
        on_progress=steps.append,
        sealing_cost=CHEAP,
    )
    assert result.added == COUNT
    assert _phases(steps) == [
        BuildPhase.EVALUATING,
        BuildPhase.WRITING,
        BuildPhase.INDEXING,
        BuildPhase.COMMITTING,
    ]
    read = [step.done for step in steps if step.phase is BuildPhase.EVALUATING]
    assert read == [512, 1024, COUNT]
    assert all(step.total is None for step in steps), "an import does not know its total"
    assert all(step.done == COUNT for step in steps if step.phase is not BuildPhase.EVALUATING)
    assert capsys.readouterr() == ("", "")


def test_a_rotation_reports_against_the_record_count(store: DatasetStore) -> None:
    import_records(
        store,
        Dataset("persons"),
        _source(COUNT),
        node_id=NODE,
        passphrase=PASSPHRASE,
        options=ImportOptions(workers=1),
        sealing_cost=CHEAP,
    )
    steps: list[BuildProgress] = []
    rotate_key(
        store,
        Dataset("persons"),
        node_id=NODE,
        passphrase=PASSPHRASE,
        workers=1,
        on_progress=steps.append,
        sealing_cost=CHEAP,
    )
    assert _phases(steps) == [
        BuildPhase.EVALUATING,
        BuildPhase.WRITING,
        BuildPhase.INDEXING,
        BuildPhase.COMMITTING,
    ]
    evaluating = [step for step in steps if step.phase is BuildPhase.EVALUATING]
    assert [step.done for step in evaluating] == [0, 512, 1024, COUNT]
    assert {step.total for step in evaluating} == {COUNT}
