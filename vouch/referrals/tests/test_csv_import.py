"""Reading a bulk status-update CSV, with no database."""

import io
from decimal import Decimal

import pytest

from vouch.errors import Invalid
from vouch.referrals.csv_import import CsvRow, check_utf8, normalise_status, read_csv


def rows(text: str) -> list[CsvRow]:
    _, found = read_csv(io.StringIO(text, newline=""))
    return list(found)


def header_error(text: str) -> str:
    with pytest.raises(Invalid) as caught:
        read_csv(io.StringIO(text, newline=""))
    assert caught.value.code == "invalid_csv"
    return caught.value.message


def test_good_rows_with_note_and_amount():
    header, found = read_csv(
        io.StringIO("referralkey_ID,status,note,amount\n12,Approved,Called her,49.90\n13,denied,,\n")
    )

    assert (header.key_kind, header.key_column) == ("id", "referralkey_ID")
    assert list(found) == [
        CsvRow(2, "12", "approved", note="Called her", amount=Decimal("49.90")),
        CsvRow(3, "13", "denied"),
    ]


@pytest.mark.parametrize(
    "column, kind",
    [("REFERRALKEY_ID", "id"), ("ReferralKey_ExternalId", "external_id"), (" referralkey_email ", "email")],
)
def test_the_key_column_is_case_insensitive(column, kind):
    header, _ = read_csv([f"{column},Status\n"])
    assert header.key_kind == kind


@pytest.mark.parametrize(
    "word, status",
    [
        ("Pending Denial", "pending_denial"),
        ("  QUALIFIED ", "qualified"),
        ("offer   unclaimed", "offer_unclaimed"),
    ],
)
def test_statuses_match_case_insensitively_with_spaces_as_underscores(word, status):
    assert normalise_status(word) == status
    [row] = rows(f"referralkey_ID,status\n1,{word}\n")
    assert (row.status, row.code) == (status, "")


@pytest.mark.parametrize(
    "text, words",
    [
        ("referralkey_ID,note\n", "no status column"),
        (
            "id,status\n",
            "no key column: add one of referralkey_ID, referralkey_externalid or referralkey_email",
        ),
        (
            "referralkey_ID,referralkey_email,status\n",
            "more than one key column (referralkey_ID, referralkey_email)",
        ),
        ("referralkey_ID,status,status\n", "more than once: status"),
        ("", "empty"),
        ("\n1,approved\n", "no key column"),
    ],
)
def test_a_wrong_header_says_what_is_missing(text, words):
    assert words in header_error(text)


def test_garbage_rows_become_errors_with_the_spreadsheet_line():
    found = rows(
        "referralkey_ID,status,amount\n"
        "1,approved,\n"
        "this is, not, a, row\n"
        ",approved,\n"
        "2,,\n"
        "3,Paid,\n"
        "4,approved,12.345\n"
        "5,approved,-1\n"
        "6,approved,lots\n"
    )

    assert [(r.line, r.code) for r in found] == [
        (2, ""),
        (3, "malformed_row"),
        (4, "malformed_row"),
        (5, "malformed_row"),
        (6, "unknown_status"),
        (7, "malformed_row"),
        (8, "malformed_row"),
        (9, "malformed_row"),
    ]
    reasons = {r.line: r.reason for r in found}
    assert reasons[3] == "The line has 4 columns; the header has 3."
    assert reasons[4] == "The referralkey_ID column is empty."
    assert reasons[5] == "The status column is empty."
    assert reasons[6].startswith(
        "'Paid' is not a referral status (the statuses are: in_progress, pending, flagged,"
    )
    assert reasons[9] == "The amount 'lots' is not an amount like 49.90."


def test_blank_lines_count_as_lines_and_a_quoted_note_over_two_lines_is_one():
    found = rows('referralkey_ID,status,note\n\n1,approved,"first line\nsecond line"\n,,\n2,denied,\n')

    assert [(r.line, r.key, r.note) for r in found] == [
        (3, "1", "first line\nsecond line"),
        (5, "2", ""),
    ]


def test_empty_cells_padding_a_line_are_harmless_but_extra_values_are_not():
    found = rows("referralkey_ID,status\n1,approved,,\n2,approved,x\n3,approved\n")

    assert [(r.line, r.code) for r in found] == [(2, ""), (3, "malformed_row"), (4, "")]


def test_semicolon_separated_files_from_spreadsheets_in_other_locales():
    [row] = rows("referralkey_email;status;note\nLevi@Yahoo.com;Voided;duplicate, refunded\n")

    assert (row.key, row.status, row.note) == ("Levi@Yahoo.com", "voided", "duplicate, refunded")


def test_rows_are_read_lazily():
    def lines():
        yield "referralkey_ID,status\n"
        yield "1,approved\n"
        raise AssertionError("read too far")

    _, found = read_csv(lines())

    assert next(found).key == "1"


def test_a_line_the_csv_module_cannot_read_is_an_error_row_and_the_next_lines_still_count():
    found = rows(f'referralkey_ID,status,note\n1,approved,"{"x" * 200_000}"\n2,approved,\n')

    assert [(r.line, r.code) for r in found] == [(2, "malformed_row"), (3, "")]
    assert "could not be read as CSV" in found[0].reason


def test_a_file_that_is_not_utf8_is_invalid_csv():
    check_utf8(io.BytesIO("referralkey_email,status\nfrançois@example.com,approved\n".encode()))
    with pytest.raises(Invalid) as caught:
        check_utf8(io.BytesIO("referralkey_email,status\nfrançois@example.com,approved\n".encode("latin-1")))
    assert caught.value.code == "invalid_csv"


def test_a_decoding_error_while_reading_rows_is_invalid_csv():
    good = b"".join(b"%d,approved\n" % i for i in range(1, 2000))
    raw = io.BytesIO(b"referralkey_ID,status\n" + good + b"2,d\xe9nied\n")
    _, found = read_csv(io.TextIOWrapper(raw, encoding="utf-8", newline=""))

    with pytest.raises(Invalid):
        list(found)


def test_a_nul_character_makes_the_line_malformed_and_is_not_echoed():
    [row] = rows("referralkey_externalid,status,note\nEXT\x00-1,approved,hi\n")

    assert (row.code, row.key, row.reason) == ("malformed_row", "EXT-1", "The line contains a NUL character.")
