"""The bounded CSV reader: limits, encodings and binary files are refused in one sentence that names the line,
the limit and its setting; UTF-8 with or without a byte-order mark is read as csv would read it."""

from __future__ import annotations

import codecs
import io

import pytest

from orchestration.csv_input import CsvInputError, CsvLimits, csv_records, quoted


def read(data: bytes, **limits) -> list[tuple[int, list[str]]]:
    return list(csv_records(io.BytesIO(data), CsvLimits(**limits)))


def refusal(data: bytes, **limits) -> str:
    with pytest.raises(CsvInputError) as refused:
        read(data, **limits)
    message = str(refused.value)
    assert "\n" not in message and len(message) < 300, message
    return message


def test_rows_come_with_the_line_they_start_on_whatever_the_line_ends_and_a_bom():
    data = codecs.BOM_UTF8 + b'sku,cost\r\nA,1\r\n"two\nlines",2\n\nlast,3'
    assert read(data) == [(1, ["sku", "cost"]), (2, ["A", "1"]), (3, ["two\nlines", "2"]), (5, []),
                          (6, ["last", "3"])]


def test_utf8_text_beyond_ascii_is_read():
    assert read("sku\nKaffeebohnen-Röstung-groß-€\n".encode())[1] == (2, ["Kaffeebohnen-Röstung-groß-€"])


@pytest.mark.parametrize(("data", "expected"), [
    ("sku,cost\nCafé crème,1\n".encode("cp1252"), "looks like windows-1252"),
    ("sku,cost\nÉté,1\n".encode("latin-1"), "looks like windows-1252"),
    ("sku,cost\nA,1\n".encode("utf-16"), "the file is UTF-16, not UTF-8"),
    ("sku,cost\nA,1\n".encode("utf-16-le") * 20, "UTF-16"),
    ("sku\n日本語のテキスト\n".encode("shift_jis") * 30, "looks like cp932"),
    (bytes(range(256)) * 400, "not a CSV text file"),
    (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(1, 32)) * 50, "not a CSV text file"),
])
def test_a_file_that_is_not_utf8_text_is_named_and_refused(data, expected):
    message = refusal(data)
    assert expected in message
    assert "re-save it as UTF-8" in message or "not a CSV text file" in message


def test_the_refusal_says_where_the_first_byte_that_is_not_utf8_is():
    data = b"sku,cost\n" + b"A,1\n" * 1000 + "Café,1\n".encode("cp1252")
    assert f"near byte {9 + 4000 + 3:,}" in refusal(data)


def test_a_line_longer_than_the_limit_is_refused_without_reading_on():
    data = b"sku,cost\n" + b"x" * 20_000 + b"\n" + b"\x00" * 10  # the NULs after it are never reached
    assert refusal(data, max_line_characters=10_000) == (
        "line 2 is longer than 10,000 characters, the limit (RETKEE_CSV_MAX_LINE_CHARACTERS)")


def test_an_unclosed_quote_is_stopped_by_the_line_limit():
    assert "the row starting on line 2 (an unclosed quote?)" in refusal(b'sku,cost\n"A,1\n' + b"B,2\n" * 5000)


def test_a_field_longer_than_the_limit_names_its_line_and_column():
    assert refusal(b"sku,cost\nA," + b"9" * 1001 + b"\n") == (
        "line 2, column 2: a field of 1,001 characters; the limit is 1,000 (RETKEE_CSV_MAX_FIELD_CHARACTERS)")


def test_a_field_longer_than_csvs_own_limit_is_one_of_our_refusals_not_a_csv_error():
    """csv's default field limit is 131,072; with a higher line limit, the field limit is ours."""
    message = refusal(b"sku\n" + b"x" * 140_000 + b"\n", max_line_characters=200_000, max_field_characters=1000)
    assert message.startswith("line 2, column 1: a field of 140,000 characters")


def test_rows_beyond_the_limit_are_refused_and_the_header_does_not_count():
    assert len(read(b"a\n1\n2\n", max_rows=2)) == 3
    assert refusal(b"a\n1\n2\n3\n", max_rows=2) == "the file has more than 2 rows, the limit (RETKEE_CSV_MAX_ROWS)"


def test_bytes_beyond_the_size_limit_are_refused_as_they_are_read():
    assert "larger than 1,000 bytes, the limit (RETKEE_CSV_MAX_BYTES)" in refusal(b"a\n" + b"1\n" * 1000,
                                                                                 max_bytes=1000)


def test_broken_csv_is_one_line_naming_the_row():
    assert refusal(b'a,b\n1,"2"x"\n3,4\n\r5\n').startswith("line")


def test_limits_come_from_the_environment_and_bad_settings_are_refused():
    assert CsvLimits.from_env({"RETKEE_CSV_MAX_ROWS": "1_000", "RETKEE_CSV_MAX_BYTES": " 5000 "}) == CsvLimits(
        max_rows=1000, max_bytes=5000)
    with pytest.raises(CsvInputError, match="RETKEE_CSV_MAX_ROWS must be a whole number"):
        CsvLimits.from_env({"RETKEE_CSV_MAX_ROWS": "lots"})
    with pytest.raises(CsvInputError, match="must be at least 1"):
        CsvLimits.from_env({"RETKEE_CSV_MAX_LINE_CHARACTERS": "0"})


def test_a_quoted_value_is_escaped_and_cut():
    assert quoted("a\x1b[2J\nb") == "'a\\x1b[2J\\nb'"
    shown = quoted("[/x]" * 1000)
    assert shown.startswith("'[/x][/x]") and shown.endswith("… (4,000 characters)") and len(shown) < 110
