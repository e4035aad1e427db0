"""Reading a bulk status-update CSV (Referral Rock's "Referrals: Update Existing"), with no
database. The header names exactly one key column and a `status` column (`note` and `amount`
are optional, other columns are ignored). Each record becomes a `CsvRow`; a record that cannot
be used becomes an error row with its line and the reason, so one bad line never hides the others.

Lines are numbered as a spreadsheet shows them: the header is line 1, every record (blank ones
too) is one line, and a quoted note that spans several physical lines is still one line.
"""

import codecs
import csv
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from vouch.errors import Invalid
from vouch.pipelines import STATUSES

KEY_COLUMNS = {"referralkey_id": "id", "referralkey_externalid": "external_id", "referralkey_email": "email"}
KEY_NAMES = "referralkey_ID, referralkey_externalid or referralkey_email"
DELIMITERS = (",", ";", "\t")
MAX_AMOUNT = Decimal("1e12")

MALFORMED_ROW, UNKNOWN_STATUS = "malformed_row", "unknown_status"


@dataclass(frozen=True)
class Header:
    key_column: str
    key_kind: str
    positions: dict[str, int]
    width: int


@dataclass(frozen=True)
class CsvRow:
    line: int
    key: str
    status: str
    note: str = ""
    amount: Decimal | None = None
    code: str = ""
    reason: str = ""

    @property
    def is_error(self) -> bool:
        return bool(self.code)


def invalid_csv(message: str) -> Invalid:
    return Invalid("invalid_csv", message)


NOT_UTF8 = 'The file is not UTF-8 text: save it as "CSV UTF-8" and upload it again.'


def check_utf8(stream: BinaryIO, *, chunk_size: int = 1 << 16) -> int:
    """Decode the whole file once, a chunk at a time, before anything is applied, so a bad byte
    near the end cannot stop an import half-way; the caller rewinds the stream afterwards.
    Returns the number of line breaks: about the rows to come, for a progress bar."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    breaks = 0
    try:
        while chunk := stream.read(chunk_size):
            decoder.decode(chunk)
            breaks += chunk.count(b"\n")
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise invalid_csv(NOT_UTF8) from error
    return breaks


def normalise_status(word: str) -> str:
    return re.sub(r"\s+", "_", word.strip()).lower()


def read_csv(lines: Iterable[str]) -> tuple[Header, Iterator[CsvRow]]:
    """The header (checked now: a wrong one raises `invalid_csv`) and the rows, read lazily."""
    lines = iter(lines)
    first = _next_line(lines)
    reader = csv.reader(itertools.chain([first], lines), delimiter=_delimiter(first))
    header = parse_header(_next_record(reader))
    return header, _rows(reader, header)


def _next_line(lines: Iterator[str]) -> str:
    try:
        return next(lines)
    except StopIteration:
        raise invalid_csv("The file is empty: its first line must be the header.") from None
    except UnicodeDecodeError as error:
        raise invalid_csv(NOT_UTF8) from error


def _delimiter(first_line: str) -> str:
    """Spreadsheets in many locales save CSV with semicolons; the header line tells which."""
    return max(DELIMITERS, key=first_line.count)


def _next_record(reader) -> list[str]:
    try:
        return next(reader)
    except StopIteration:
        return []
    except UnicodeDecodeError as error:
        raise invalid_csv(NOT_UTF8) from error
    except csv.Error as error:
        raise invalid_csv(f"The header line could not be read as CSV: {error}.") from error


def parse_header(fields: list[str]) -> Header:
    names = [f.strip().lower() for f in fields]
    keys = [(i, fields[i].strip()) for i, name in enumerate(names) if name in KEY_COLUMNS]
    if not keys:
        raise invalid_csv(f"The header has no key column: add one of {KEY_NAMES}.")
    if len(keys) > 1:
        found = ", ".join(name for _, name in keys)
        raise invalid_csv(f"The header has more than one key column ({found}): keep exactly one.")
    if "status" not in names:
        raise invalid_csv("The header has no status column.")
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        raise invalid_csv(f"The header names a column more than once: {', '.join(repeated)}.")
    index, key_column = keys[0]
    positions = {"key": index} | {
        name: names.index(name) for name in ("status", "note", "amount") if name in names
    }
    return Header(
        key_column=key_column,
        key_kind=KEY_COLUMNS[key_column.lower()],
        positions=positions,
        width=len(fields),
    )


def _rows(reader, header: Header) -> Iterator[CsvRow]:
    for line in itertools.count(2):
        try:
            fields = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as error:
            raise invalid_csv(NOT_UTF8) from error
        except csv.Error as error:
            yield CsvRow(
                line, "", "", code=MALFORMED_ROW, reason=f"The line could not be read as CSV: {error}."
            )
            continue
        if any(field.strip() for field in fields):
            yield parse_row(fields, header=header, line=line)


def parse_row(fields: list[str], *, header: Header, line: int) -> CsvRow:
    fields = _without_trailing_blanks(fields, width=header.width)
    key = _field(fields, header, "key")
    word = _field(fields, header, "status")
    if any("\x00" in field for field in fields):
        return _error(
            line, key.replace("\x00", ""), word.replace("\x00", ""), "The line contains a NUL character."
        )
    if len(fields) != header.width:
        return _error(line, key, word, f"The line has {len(fields)} columns; the header has {header.width}.")
    if not key:
        return _error(line, key, word, f"The {header.key_column} column is empty.")
    if not word:
        return _error(line, key, word, "The status column is empty.")
    status = normalise_status(word)
    if status not in STATUSES:
        return CsvRow(line, key, word, code=UNKNOWN_STATUS, reason=_unknown_status(word))
    raw_amount = _field(fields, header, "amount")
    amount = parse_amount(raw_amount) if raw_amount else None
    if raw_amount and amount is None:
        return _error(line, key, status, f"The amount '{raw_amount}' is not an amount like 49.90.")
    return CsvRow(line, key, status, note=_field(fields, header, "note"), amount=amount)


def _without_trailing_blanks(fields: list[str], *, width: int) -> list[str]:
    """Spreadsheets often pad a line with empty cells past the last column; those are harmless."""
    while len(fields) > width and not fields[-1].strip():
        fields = fields[:-1]
    return fields


def _field(fields: list[str], header: Header, name: str) -> str:
    index = header.positions.get(name)
    return fields[index].strip() if index is not None and index < len(fields) else ""


def _error(line: int, key: str, status: str, reason: str) -> CsvRow:
    return CsvRow(line, key, status, code=MALFORMED_ROW, reason=reason)


def _unknown_status(word: str) -> str:
    return f"'{word}' is not a referral status (the statuses are: {', '.join(STATUSES)})."


def parse_amount(text: str) -> Decimal | None:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT or amount.as_tuple().exponent < -2:
        return None
    return amount
