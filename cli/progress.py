"""Progress bars of long commands (import, key rotation), drawn with tqdm on stderr.

The work itself (`node.datasets.build`) only reports how far it has come, through its
`on_progress` callback; `Progress` is such a callback and draws one line for it. It draws only
on a terminal: on a pipe, a file or captured output it writes nothing at all, so that scripts and
logs see the command's own lines and nothing else. tqdm limits the redraws to ten a second, so
that drawing costs nothing next to the work.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Protocol, TextIO

if TYPE_CHECKING:
    from node.datasets.build import BuildProgress

__all__ = ["Progress"]

_FORMAT: Final = "{desc} [{bar:30}] {percentage:3.0f}% {note}, {elapsed}"
_REDRAW_SECONDS: Final = 0.1


class _Bar(Protocol):
    """What `Progress` uses of a bar."""

    note: str
    n: float

    def update(self, n: float) -> bool | None: ...
    def refresh(self) -> None: ...
    def close(self) -> None: ...


@cache
def _bar_class() -> Callable[..., _Bar]:
    """The tqdm bar class with a `{note}` field, made the first time a bar is drawn.

    A command imports this module to pass a `Progress`; tqdm itself is imported only when a bar
    is drawn, on a terminal.
    """
    from tqdm import tqdm

    # tqdm's type parameter is that of the items a bar iterates over; these bars iterate
    # nothing, and tqdm takes no parameter at run time.
    class Bar(tqdm):  # type: ignore[type-arg]
        """A tqdm bar whose format has a `{note}` field: what the command does now."""

        def __init__(self, note: str, **options: Any) -> None:  # noqa: ANN401 (tqdm's options)
            # Set before tqdm's own initialisation, which draws the bar the first time.
            self.note = note
            super().__init__(**options)

        @property
        def format_dict(self) -> MutableMapping[str, Any]:
            values = super().format_dict
            values["note"] = self.note
            return values

    return Bar


class Progress:
    """Draws the progress of one build on `stream`, when it is a terminal.

    `total` is what the bar counts to: the records when known (a rotation tells them in its
    first report), or another measure such as the bytes of the input file, with `position`
    giving the amount done for each report (an import reads its file at its own pace).
    """

    def __init__(
        self,
        stream: TextIO,
        label: str,
        total: int | None = None,
        *,
        position: Callable[[BuildProgress], int] | None = None,
    ) -> None:
        self._stream = stream
        self._label = label
        self._total = total
        self._position = position
        self._bar: _Bar | None = None
        self._enabled = stream.isatty()

    def __call__(self, step: BuildProgress) -> None:
        """Report `step` (the build's `on_progress`)."""
        if not self._enabled:
            return
        # Imported here, on a terminal only: the build's module is loaded by then, the command
        # that reports to this callback having started a build.
        from node.datasets.build import BuildPhase

        if self._total is None and step.total is not None:
            self._total = step.total
        if step.phase is BuildPhase.EVALUATING:
            done = step.done if self._position is None else self._position(step)
            self._show(done, f"{step.done:,} records", redraw=False)
        else:
            self._show(None, str(step.phase), redraw=True)

    def _show(self, done: int | None, note: str, *, redraw: bool) -> None:
        total = max(self._total or 0, 1)
        target = total if done is None else min(done, total)
        bar = self._bar
        if bar is None:
            self._bar = _bar_class()(
                note,
                total=total,
                initial=target,
                file=self._stream,
                desc=self._label,
                bar_format=_FORMAT,
                ascii=".#",
                mininterval=_REDRAW_SECONDS,
                dynamic_ncols=False,
                disable=False,
                leave=True,
            )
            return
        bar.note = note
        if target > bar.n:
            # tqdm redraws at most every `mininterval` seconds on update.
            bar.update(target - bar.n)
        if redraw:
            bar.refresh()

    def close(self) -> None:
        """End the bar's line, if one was drawn."""
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
