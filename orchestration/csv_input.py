"""Reads a CSV file a person hands the command line (unit costs, exchange rates), bounded and row by row.

The file is never read whole: it is decoded in chunks and handed to the csv module one physical line at a time,
so memory stays flat whatever its size. Before and while reading, the limits of `CsvLimits` are enforced, each
refusal one sentence naming the limit and the setting that changes it (docs/operations.md, "Importing files"):
its size, its number of rows, the length of a line and of a field. A file that is not text (NUL bytes, bytes
that decode as nothing) is refused up front as "not a CSV text file"; text in an encoding other than UTF-8 is
named (charset-normalizer's guess) and refused rather than guessed into wrong SKUs. UTF-8 with or without a
byte-order mark is read.

Nothing the file holds is echoed unbounded: `quoted` cuts any value shown in a message to QUOTE_CHARACTERS and
escapes it.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from charset_normalizer import from_bytes

from orchestration.errors import RetkeeError

QUOTE_CHARACTERS = 80
CHUNK_BYTES = 1 << 16
# How much charset-normalizer looks at to name an encoding.
SNIFF_BYTES = 1 << 16

LIMIT_SETTINGS = {
    "max_bytes": "RETKEE_CSV_MAX_BYTES",
    "max_rows": "RETKEE_CSV_MAX_ROWS",
    "max_line_characters": "RETKEE_CSV_MAX_LINE_CHARACTERS",
    "max_field_characters": "RETKEE_CSV_MAX_FIELD_CHARACTERS",
}


class CsvInputError(RetkeeError, ValueError):
    """The file cannot be read as a CSV text file within the limits; the message is one sentence."""


@dataclass(frozen=True)
class CsvLimits:
    """How much of a file the command line reads; each one settable by its environment variable (LIMIT_SETTINGS)."""

    max_bytes: int = 2 * 1024**3  # 2 GiB: a year of daily costs for a million SKUs fits many times over
    max_rows: int = 50_000_000
    # A unit-cost row is under 100 characters, an ECB row about 400; a line this long is not a cost file.
    max_line_characters: int = 10_000
    max_field_characters: int = 1_000

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> CsvLimits:
        environ = os.environ if environ is None else environ
        values = {}
        for name, variable in LIMIT_SETTINGS.items():
            raw = environ.get(variable)
            if raw is None or not raw.strip():
                continue
            try:
                value = int(raw.strip().replace("_", ""))
            except ValueError:
                raise CsvInputError(f"{variable} must be a whole number, not {quoted(raw)}") from None
            if value < 1:
                raise CsvInputError(f"{variable} must be at least 1, not {value}")
            values[name] = value
        return cls(**values)


def quoted(value: str, limit: int = QUOTE_CHARACTERS) -> str:
    """`value` as a Python literal (control characters escaped), cut to `limit` characters."""
    if len(value) > limit:
        return repr(value[:limit]) + f"… ({len(value):,} characters)"
    return repr(value)


def _size_words(size: int) -> str:
    if size >= 1024**3:
        return f"{size / 1024**3:.2f} GiB"
    return f"{size / 1024**2:.1f} MiB" if size >= 1024**2 else f"{size:,} bytes"


@contextmanager
def open_csv_file(path: str, limits: CsvLimits) -> Iterator[BinaryIO]:
    """The file at `path` ("-": standard input) opened for reading bytes, once its size is known to be within
    the limit (a file that grows while read is stopped by `csv_records`)."""
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = Path(path).open("rb")  # noqa: SIM115 - closed below, after the caller's block
    except OSError as exc:  # missing, a directory, unreadable: said in one line
        raise CsvInputError(f"cannot read {quoted(path)}: {exc.strerror or type(exc).__name__}") from None
    try:
        size = os.fstat(handle.fileno()).st_size
        if size > limits.max_bytes:
            raise CsvInputError(f"the file is {_size_words(size)}; the limit is {_size_words(limits.max_bytes)} "
                                f"({LIMIT_SETTINGS['max_bytes']})")
        yield handle
    finally:
        handle.close()


BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"), (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"))
RESAVE = "re-save it as UTF-8 (in a spreadsheet: CSV UTF-8)"


# Bytes below 0x20 that text holds: tab, line feed, form feed, carriage return. Many others mean a binary file.
_BINARY_CONTROLS = bytes(b for b in range(0x20) if b not in b"\t\n\x0c\r")
BINARY = "not a CSV text file: it holds binary bytes (a spreadsheet, an archive, an image?)"


def looks_binary(sample: bytes) -> bool:
    """More than 1% control characters (other than tab and line ends) in the first SNIFF_BYTES: not text."""
    head = sample[:SNIFF_BYTES]
    return len(head) - len(head.translate(None, _BINARY_CONTROLS)) > len(head) // 100
# Encodings charset-normalizer names with some confidence (a multi-byte sequence is not there by chance).
_MULTI_BYTE = ("cp932", "shift", "euc", "gb", "big5", "cp949", "cp950", "hz", "iso2022", "johab")


def refuse_what_is_not_utf8_text(sample: bytes, at_byte: int) -> None:
    """Raise the one-line reason why `sample` (bytes from offset `at_byte` of the file) is not UTF-8 text.

    A spreadsheet's "CSV" in the West is most often windows-1252, and a short sample in one single-byte code page
    decodes in most others too, so any sample windows-1252 decodes is named as that "or a similar" code page;
    charset-normalizer names the rest (UTF-16 without a byte-order mark, Shift JIS, ...).
    """
    guess = from_bytes(sample[:SNIFF_BYTES]).best()
    encoding = guess.encoding.replace("_", "-") if guess is not None else None
    if encoding and encoding.startswith(("utf-16", "utf-32")):
        raise CsvInputError(f"the file is {encoding.upper()}, not UTF-8; {RESAVE}")
    if b"\x00" in sample or looks_binary(sample):
        raise CsvInputError(BINARY)
    single_byte = encoding is None or not encoding.startswith(_MULTI_BYTE)
    try:
        sample.decode("cp1252")
        if single_byte:
            encoding = "windows-1252 or a similar single-byte code page"
    except UnicodeDecodeError:
        pass
    if encoding is None or encoding in ("utf-8", "ascii"):
        raise CsvInputError(f"not a CSV text file: the bytes near byte {at_byte:,} are not text")
    raise CsvInputError(f"the file is not UTF-8 (near byte {at_byte:,}): looks like {encoding}; {RESAVE}")


class _GuardedBytes(io.RawIOBase):
    """The file's bytes as read, refused as soon as they pass the size limit or hold a NUL byte; remembers the
    last chunk so that a decoding failure can be explained."""

    def __init__(self, source: BinaryIO, limits: CsvLimits) -> None:
        self._source = source
        self._limit = limits.max_bytes
        self.offset = 0
        self.last_chunk = b""
        self.last_offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._source.read(len(buffer))
        if not chunk:
            return 0
        if self.offset == 0 or b"\x00" in chunk:
            self._check_text(chunk)
        self.last_chunk, self.last_offset = chunk, self.offset
        self.offset += len(chunk)
        if self.offset > self._limit:  # standard input, or a file that grew while read
            raise CsvInputError(f"the file is larger than {_size_words(self._limit)}, the limit "
                                f"({LIMIT_SETTINGS['max_bytes']})")
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def _check_text(self, chunk: bytes) -> None:
        if self.offset == 0:
            for bom, name in BOMS:
                if chunk.startswith(bom):
                    raise CsvInputError(f"the file is {name}, not UTF-8; {RESAVE}")
        if b"\x00" in chunk:  # UTF-16 without a byte-order mark, or binary: the explanation tells which
            refuse_what_is_not_utf8_text(chunk, self.offset)
        if self.offset == 0 and looks_binary(chunk):
            raise CsvInputError(BINARY)

    def explain_decoding_failure(self) -> None:
        try:
            self.last_chunk.decode("utf-8")
            at = self.last_offset
        except UnicodeDecodeError as exc:
            at = self.last_offset + exc.start
        refuse_what_is_not_utf8_text(self.last_chunk, at)


class _Records:
    """Physical lines for csv.reader (line ends kept, as csv wants them), read with a bound: no record (the
    lines of one row: a quoted field may hold line breaks) is longer than the line limit."""

    def __init__(self, text: io.TextIOWrapper, guard: _GuardedBytes, limits: CsvLimits) -> None:
        self._text = text
        self._guard = guard
        self._limit = limits.max_line_characters
        self.line_number = 0  # of the last line handed out
        self.record_start = 1
        self._record_characters = 0

    def start_record(self) -> None:
        self.record_start = self.line_number + 1
        self._record_characters = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        budget = self._limit - self._record_characters
        try:
            line = self._text.readline(budget + 2)  # room for the line end
        except UnicodeDecodeError:
            self._guard.explain_decoding_failure()
            raise  # unreachable: the explanation raises
        if not line:
            raise StopIteration
        self.line_number += 1
        self._record_characters += len(line.rstrip("\r\n"))
        if self._record_characters > self._limit:
            where = (f"line {self.record_start}" if self.line_number == self.record_start
                     else f"the row starting on line {self.record_start} (an unclosed quote?)")
            raise CsvInputError(f"{where} is longer than {self._limit:,} characters, the limit "
                                f"({LIMIT_SETTINGS['max_line_characters']})")
        return line


def csv_records(source: BinaryIO, limits: CsvLimits) -> Iterator[tuple[int, list[str]]]:
    """(line number where the row starts, fields) for the header and every row, read within `limits`.

    Raises CsvInputError as soon as a limit is passed or the bytes are not UTF-8 text.
    """
    guard = _GuardedBytes(source, limits)
    # newline="": line ends reach csv untranslated (\r\n inside a quoted field stays \r\n); utf-8-sig drops a BOM.
    text = io.TextIOWrapper(io.BufferedReader(guard, CHUNK_BYTES), encoding="utf-8-sig", errors="strict",
                            newline="")
    lines = _Records(text, guard, limits)
    # No field is longer than a row may be, so csv's own field limit (process wide, 131,072 by default) is
    # raised to the row limit when that is higher, and never lowered (other readers in the process rely on it).
    if csv.field_size_limit() < limits.max_line_characters:
        csv.field_size_limit(limits.max_line_characters)
    # strict: a quote in the middle of a field is a mangled file, refused, not read as some other value.
    reader = csv.reader(lines, strict=True)
    rows = -1  # the header is not a row
    while True:
        lines.start_record()
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a stray quote or carriage return: csv's own sentence, which echoes nothing
            raise CsvInputError(f"line {lines.record_start}: not valid CSV ({exc})") from None
        for column, field in enumerate(fields, start=1):
            if len(field) > limits.max_field_characters:
                raise CsvInputError(f"line {lines.record_start}, column {column}: a field of {len(field):,} "
                                    f"characters; the limit is {limits.max_field_characters:,} "
                                    f"({LIMIT_SETTINGS['max_field_characters']})")
        rows += 1
        if rows > limits.max_rows:
            raise CsvInputError(f"the file has more than {limits.max_rows:,} rows, the limit "
                                f"({LIMIT_SETTINGS['max_rows']})")
        yield lines.record_start, fields


def text_records(text: str, limits: CsvLimits | None = None) -> Iterator[tuple[int, list[str]]]:
    """`csv_records` of a string (tests, samples shipped with the project)."""
    return csv_records(io.BytesIO(text.encode("utf-8")), limits or CsvLimits())
