"""Reading an import file into raw rows, each tagged with where it starts in the file.

CSV rows carry the physical line they start on (the header is line 1; a quoted value may
span lines). JSON rows carry their 1-based item number and the line the item starts on.
Problems with the file as a whole (encoding, syntax, shape) come back as RowErrors.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RowError:
    """One problem in an import file: where it is, which field, and what is wrong."""

    line: int | None
    field: str
    message: str
    item: int | None = None

    def as_dict(self) -> dict:
        return {"line": self.line, "item": self.item, "field": self.field,
                "message": self.message}

    @property
    def where(self) -> str:
        if self.item is not None:
            return f"item {self.item}" + (f" (line {self.line})" if self.line else "")
        return f"line {self.line}" if self.line else "file"


@dataclass
class RawRow:
    """One row of the file before validation: values keyed by lower-case column name."""

    line: int | None
    values: dict[str, Any]
    item: int | None = None
    errors: list[RowError] = field(default_factory=list)
    # Set when the row's shape is wrong: validating its fields would only add noise.
    malformed: bool = False

    def error(self, name: str, message: str) -> None:
        self.errors.append(RowError(self.line, name, message, self.item))


def decode(data: bytes) -> tuple[str, list[RowError]]:
    """UTF-8 text (a byte-order mark is dropped), or an error naming the bad line."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start: exc.start + 1].hex()
        return "", [RowError(line, "", f"The file is not UTF-8 text (byte 0x{bad} at offset "
                                       f"{exc.start}); save it as UTF-8 and upload it again.")]


def detect_format(file_name: str, text: str) -> str:
    """'csv' or 'json' from the extension, else from the first character."""
    lower = (file_name or "").lower()
    if lower.endswith(".json"):
        return "json"
    if lower.endswith((".csv", ".txt")):
        return "csv"
    return "json" if text.lstrip()[:1] in ("[", "{") else "csv"


def _blank(row: list[str]) -> bool:
    return not any(value.strip() for value in row)


def read_csv(text: str, known: set[str], required: set[str]) -> tuple[list[RawRow], list[RowError]]:
    """Rows of a CSV file with a header row; unknown or missing columns are errors."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
    except csv.Error as exc:
        return [], [RowError(1, "", f"The header row cannot be read: {exc}")]
    errors = _check_header(header, known, required)
    if errors:
        return [], errors
    rows, last_line = [], reader.line_num
    try:
        for values in reader:
            start, last_line = last_line + 1, reader.line_num
            if _blank(values):
                continue
            row = RawRow(start, dict(zip(header, values, strict=False)))
            if len(values) != len(header):
                row.malformed = True
                row.error("", f"This row has {len(values)} values but the header has "
                              f"{len(header)} columns.")
            rows.append(row)
    except csv.Error as exc:
        return rows, [RowError(reader.line_num, "", f"The CSV cannot be read here: {exc}")]
    return rows, []


def _check_header(header: list[str], known: set[str], required: set[str]) -> list[RowError]:
    if not header or _blank(header):
        return [RowError(1, "", "The first line must be a header row naming the columns.")]
    errors = []
    hint = " (is the file separated by ';'? Use commas.)" if any(";" in h for h in header) else ""
    for name in header:
        if not name:
            errors.append(RowError(1, "", "A column in the header row has no name."))
        elif name not in known:
            errors.append(RowError(1, name, f"Unknown column {name!r}{hint}. Known columns: "
                                            f"{', '.join(sorted(known))}."))
    errors += [RowError(1, name, f"Duplicate column {name!r}.")
               for name in sorted({h for h in header if h and header.count(h) > 1})]
    errors += [RowError(1, name, f"Required column {name!r} is missing.")
               for name in sorted(required - set(header))]
    return errors


_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip(text: str, index: int) -> int:
    return _WS.match(text, index).end()


def _array_start(text: str) -> int:
    """Offset of the identities array in an already-validated document."""
    index = _skip(text, 0)
    if text[index] == "[":
        return index
    index = _skip(text, index + 1)
    while text[index] != "}":
        key, index = _DECODER.raw_decode(text, index)
        index = _skip(text, _skip(text, index) + 1)  # past ':'
        if key == "identities":
            return index
        _, index = _DECODER.raw_decode(text, index)
        index = _skip(text, index)
        if text[index] == ",":
            index = _skip(text, index + 1)
    raise ValueError("no identities array")


def _item_lines(text: str) -> list[int]:
    """The line each item of the identities array starts on (json gives no positions)."""
    newlines = [m.start() for m in re.finditer("\n", text)]
    index, lines = _skip(text, _array_start(text) + 1), []
    while text[index] != "]":
        lines.append(bisect.bisect_left(newlines, index) + 1)
        _, index = _DECODER.raw_decode(text, index)
        index = _skip(text, index)
        if text[index] == ",":
            index = _skip(text, index + 1)
    return lines


def _items(doc: Any) -> tuple[list | None, RowError | None]:
    if isinstance(doc, list):
        return doc, None
    if isinstance(doc, dict) and isinstance(doc.get("identities"), list):
        extra = sorted(set(doc) - {"identities"})
        if extra:
            return None, RowError(None, extra[0], f"Unknown top-level key {extra[0]!r}; the "
                                                  "document holds only 'identities'.")
        return doc["identities"], None
    return None, RowError(1, "", 'Expected an array of objects, or {"identities": [...]}.')


def read_json(text: str, known: set[str]) -> tuple[list[RawRow], list[RowError]]:
    """Items of a JSON import; an unknown key in an item is an error for that item."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [RowError(exc.lineno, "", f"Invalid JSON: {exc.msg} (column {exc.colno}).")]
    items, problem = _items(doc)
    if problem:
        return [], [problem]
    try:
        lines = _item_lines(text)
    except (ValueError, IndexError):
        lines = []
    if len(lines) != len(items):  # e.g. a repeated "identities" key: json keeps the last
        lines = [None] * len(items)
    rows = []
    for number, (item, line) in enumerate(zip(items, lines, strict=True), start=1):
        if not isinstance(item, dict):
            rows.append(RawRow(line, {}, number, [RowError(line, "", "Expected an object.",
                                                           number)], malformed=True))
            continue
        row = RawRow(line, {str(k).lower(): v for k, v in item.items()}, number)
        for key in sorted(set(row.values) - known):
            row.error(key, f"Unknown field {key!r}. Known fields: {', '.join(sorted(known))}.")
        rows.append(row)
    return rows, []
