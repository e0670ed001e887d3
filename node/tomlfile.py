"""TOML files of the project read into strict schemas, written new with comments, edited in place.

node.toml (`node.config`), federation.toml (`federation.config`) and import mappings
(`node.datasets.sources`) are each described by a `Schema`: a pydantic model whose fields are the
keys of the file. Reading is tomllib (the standard library's TOML 1.0 parser), then
`validate`; writing a new file and editing an existing one are tomlkit, which keeps the
operator's comments and layout.

Why pydantic (v2) and not msgspec: a pydantic validation error is structured (an error type, its
location as a tuple of keys and array positions, the input value and the exception a validator
raised), so `validate` writes every problem in the project's own words without parsing library
text. msgspec reports one formatted English sentence per error, whose wording would have to be
parsed to name the key path the TOML way and the types by their TOML names.

Invariants:

- Schemas are strict (no coercion: "5" is not 5, true is not 1, 1.5 is not an integer) and
  closed (`extra="forbid"`): an unknown key is a typo or belongs to another version of the
  schema, so it is an error rather than a setting silently ignored.
- Every failure is one `InputError` of one line, `<file>: <key path>: <problem>`, the key path
  written as in TOML with zero-based array positions (`peers[2].endpoint`). Of several problems
  an unknown key is reported first, since a misspelt key also shows up as a missing one.
- A validator raises `Problem`, which may name a path below the value it checks, so checks that
  span several keys (a rule naming an unknown peer) still point at the key that is wrong.
- `edit_document` changes only the values that differ between what a file held and what it
  must hold; everything else, comments included, stays as the operator wrote it.
"""

from __future__ import annotations

import os
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Mapping, MutableMapping, MutableSequence, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import tomlkit
import tomlkit.items
from pydantic import AfterValidator, BaseModel, ConfigDict, PlainValidator, ValidationError
from pydantic_core import ErrorDetails

from crypto.errors import InputError
from protocol.validation import shown

__all__ = [
    "Problem",
    "Schema",
    "choice",
    "create_file",
    "distinct",
    "edit_document",
    "from_text",
    "int_range",
    "parse_text",
    "problem_of",
    "read_document",
    "read_text",
    "to_item",
    "type_name",
    "validate",
]

_T = TypeVar("_T")
_S = TypeVar("_S", bound="Schema")
_DICT_KEY: Final = "[key]"


class Schema(BaseModel):
    """The base of every file schema: strict, closed and immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Problem(ValueError):
    """What is wrong with a value; `at` continues the key path below the value checked."""

    def __init__(self, problem: str, *at: str | int) -> None:
        super().__init__(problem)
        self.at = at


def type_name(value: object) -> str:
    """The TOML specification's name of the type of `value`, which the file's reader knows."""
    names: tuple[tuple[type, str], ...] = (
        (bool, "boolean"),
        (int, "integer"),
        (float, "float"),
        (str, "string"),
        (list, "array"),
        (dict, "table"),
    )
    return next((name for kind, name in names if isinstance(value, kind)), "date-time")


def _got(value: object) -> str:
    return f"got {type_name(value)} {shown(value)}"


# Validators shared by the schemas.


def problem_of(check: Callable[[str, str], _T]) -> Callable[[str], _T]:
    """Adapt a `protocol.validation` check, which names `where` first, to raise `Problem`.

    The checks word their messages `<where>: <problem>`; given an empty `where`, what follows
    the leading ": " is the problem alone, and `validate` puts the file and key path before it.
    """

    def checked(value: str) -> _T:
        try:
            return check(value, "")
        except InputError as error:
            raise Problem(str(error).removeprefix(": ")) from None

    return checked


def from_text(parse: Callable[[str], _T]) -> PlainValidator:
    """A validator taking a TOML string and giving `parse(string)`."""

    def validate_text(value: object) -> _T:
        if not isinstance(value, str):
            raise Problem(f"expected a string, {_got(value)}")
        return parse(value)

    return PlainValidator(validate_text)


def choice(options: Mapping[str, _T], expected: str) -> PlainValidator:
    """A validator taking one of the strings `options` names; `expected` lists them."""

    def pick(value: str) -> _T:
        if value not in options:
            raise Problem(f"expected {expected}, got {shown(value)}")
        return options[value]

    return from_text(pick)


def int_range(minimum: int, maximum: int | None = None) -> AfterValidator:
    """A validator of an integer from `minimum` to `maximum` (no upper bound if None)."""

    def bounded(value: int) -> int:
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
            raise Problem(f"expected an integer {bound}, got {value}")
        return value

    return AfterValidator(bounded)


def _distinct(values: list[_T]) -> list[_T]:
    if not values:
        raise Problem("expected a non-empty array of strings, got []")
    seen: list[_T] = []
    for position, value in enumerate(values):
        if value in seen:
            raise Problem(f"{shown(value)} is listed twice", position)
        seen.append(value)
    return values


distinct: Final = AfterValidator(_distinct)
"""A validator of a non-empty array whose items are all different."""


# Reading.


def parse_text(text: str, file: Path) -> dict[str, Any]:
    """Parse the TOML `text` of `file`.

    Raises:
        InputError: it is not valid TOML.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{file}: not valid TOML: {exc}") from exc


def read_text(path: Path, *, max_size: int, kind: str, name: str) -> str:
    """Read the text file `path`, a `kind` ("node configuration") of at most `max_size` bytes.

    `name` is how a message says what could not be read ("configuration", "mapping").

    Raises:
        InputError: the file cannot be read, is larger, or is not UTF-8.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(max_size + 1)
    except OSError as exc:
        raise InputError(f"cannot read {name} {path}: {exc.strerror or exc}") from exc
    if len(data) > max_size:
        raise InputError(f"{path}: larger than {max_size} bytes; not a {kind}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from exc


def read_document(path: Path, *, max_size: int, kind: str, name: str) -> dict[str, Any]:
    """Read and parse the TOML file `path` (see `read_text`).

    Raises:
        InputError: the file cannot be read, is larger, is not UTF-8 or is not valid TOML.
    """
    return parse_text(read_text(path, max_size=max_size, kind=kind, name=name), path)


def validate(schema: type[_S], document: Mapping[str, Any], file: Path) -> _S:
    """Check `document` (as tomllib gives it) against `schema`.

    Raises:
        InputError: `<file>: <key path>: <problem>` for the first problem (see the module
            docstring).
    """
    try:
        return schema.model_validate(document)
    except ValidationError as error:
        details = error.errors()
        first = next((d for d in details if d["type"] == "extra_forbidden"), details[0])
        raise InputError(_message(schema, first, file)) from None


def _message(schema: type[Schema], detail: ErrorDetails, file: Path) -> str:
    location = tuple(detail["loc"])
    kind = detail["type"]
    value = detail.get("input")
    cause = (detail.get("ctx") or {}).get("error")
    if isinstance(cause, Problem):
        location += cause.at
        problem = str(cause)
    elif cause is not None:
        problem = str(cause)
    elif kind == "missing":
        problem = _missing(schema, location)
    elif kind == "extra_forbidden":
        parent = _annotation_at(schema, location[:-1])
        known = sorted(parent.model_fields) if _is_schema(parent) else []
        problem = f"unknown key (known keys here: {', '.join(known) or 'none'})"
    elif kind == "list_type":
        annotation = _annotation_at(schema, location)
        if _is_schema(_item_type(annotation)):
            problem = f"expected an array of tables ([[{location[-1]}]]), got {type_name(value)}"
        else:
            problem = f"expected an array of strings, {_got(value)}"
    elif kind in ("model_type", "dict_type"):
        problem = f"expected a table, {_got(value)}"
    elif kind in _EXPECTED_BY_ERROR:
        problem = f"expected {_EXPECTED_BY_ERROR[kind]}, {_got(value)}"
    else:
        problem = detail["msg"]
    path = key_path(location)
    return f"{file}: {path}: {problem}" if path else f"{file}: {problem}"


def _missing(schema: type[Schema], location: tuple[str | int, ...]) -> str:
    annotation = _annotation_at(schema, location)
    parent = _annotation_at(schema, location[:-1])
    field = parent.model_fields.get(str(location[-1])) if _is_schema(parent) else None
    if _is_schema(annotation):
        return "missing table"
    if field is not None and field.description:
        # A schema may say what the key names, which helps more than its type.
        return f"missing; expected {field.description}"
    return f"missing; expected {_expected(annotation)}"


_EXPECTED_BY_ERROR: Final = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
}


def key_path(location: Iterable[str | int]) -> str:
    """The TOML way of writing a key path: `datasets."Travel Documents"`, `peers[2].id`."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != _DICT_KEY:
            quoted = tomlkit.key(part).as_string()
            path = f"{path}.{quoted}" if path else quoted
    return path


def _strip(annotation: Any) -> Any:  # noqa: ANN401 (a type annotation of any shape)
    """`X` of `Annotated[X, ...]` and of `X | None`."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation


def _is_schema(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _item_type(annotation: object) -> object:
    arguments = typing.get_args(annotation)
    return _strip(arguments[0]) if arguments else None


def _annotation_at(schema: type[Schema], location: Sequence[str | int]) -> Any:  # noqa: ANN401
    """The annotation of the value at `location` in `schema`, or None if none is known."""
    annotation: Any = schema
    for part in location:
        annotation = _strip(annotation)
        origin = typing.get_origin(annotation)
        if _is_schema(annotation) and isinstance(part, str):
            field = annotation.model_fields.get(part)
            annotation = None if field is None else field.annotation
        elif origin is list and isinstance(part, int):
            annotation = typing.get_args(annotation)[0]
        elif origin is dict and isinstance(part, str):
            annotation = typing.get_args(annotation)[0 if part == _DICT_KEY else 1]
        else:
            return None
    return _strip(annotation)


def _expected(annotation: object) -> str:
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "an integer"
    if annotation is float:
        return "a number"
    if typing.get_origin(annotation) is list:
        return "an array of strings"
    # Every other value of these files (ids, endpoints, keys, enumerations) is written as text.
    return "a string"


# Writing.


def to_item(value: object) -> tomlkit.items.Item:
    """A tomlkit item for a plain value: dicts become tables, lists of dicts arrays of tables.

    A table whose values are all tables becomes a super table, written `[datasets.persons]`
    without an empty `[datasets]` above it.

    Raises:
        InputError: a string has no TOML encoding (a lone surrogate, from a file name that was
            not UTF-8).
    """
    if isinstance(value, Mapping):
        tables = bool(value) and all(isinstance(v, Mapping) for v in value.values())
        table = tomlkit.table(is_super_table=tables)
        for key, entry in value.items():
            table.add(key, to_item(entry))
        return table
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        array_of_tables = tomlkit.aot()
        for entry in value:
            array_of_tables.append(to_item(entry))
        return array_of_tables
    if isinstance(value, list):
        array = tomlkit.array()
        array.extend(to_item(v) for v in value)
        return array
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(
                f"cannot write {shown(value)} to TOML: it is not valid Unicode text"
            ) from None
    return tomlkit.item(value)


def edit_document(
    target: MutableMapping[str, Any], before: Mapping[str, Any], after: Mapping[str, Any]
) -> None:
    """Change `target` (a tomlkit document or table) where `after` differs from `before`.

    `before` and `after` are plain values of what the file meant before and must mean after;
    a key whose value is the same in both is left as it is in `target`, however it is written
    there, and so are the comments around it.
    """
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key not in after:
            if key in target:
                del target[key]
        elif isinstance(old, Mapping) and isinstance(new, Mapping):
            if not isinstance(target.get(key), MutableMapping):
                target[key] = tomlkit.table()
            edit_document(target[key], old, new)
        elif (
            isinstance(old, list)
            and isinstance(new, list)
            and _tables(old)
            and _tables(new)
            and isinstance(target.get(key), MutableSequence)
        ):
            _edit_tables(target[key], old, new)
        else:
            _replace(target, key, new)


def _tables(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, Mapping) for v in value)


def _edit_tables(target: MutableSequence[Any], before: list[Any], after: list[Any]) -> None:
    # Entries are matched by position: an entry added at the end leaves the others untouched.
    for position, new in enumerate(after):
        if position < len(before) and position < len(target):
            edit_document(target[position], before[position], new)
        else:
            target.append(to_item(new))
    while len(target) > len(after):
        del target[-1]


def _replace(target: MutableMapping[str, Any], key: str, value: object) -> None:
    item = to_item(value)
    current = target.get(key)
    if isinstance(current, tomlkit.items.Item) and isinstance(item, tomlkit.items.Item):
        # A comment at the end of the line stays with the new value.
        comment = current.trivia.comment
        if comment and not isinstance(item, tomlkit.items.Table | tomlkit.items.AoT):
            item.trivia.comment_ws = current.trivia.comment_ws
            item.trivia.comment = comment
    target[key] = item


def create_file(path: Path, text: str) -> None:
    """Write `text` to a new file `path` (mode 0600) and sync it; an existing file is kept.

    Raises:
        InputError: the file exists or cannot be created.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise InputError(f"{path} exists; a configuration is never overwritten") from exc
    except OSError as exc:
        raise InputError(f"cannot create {path}: {exc.strerror or exc}") from exc
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
