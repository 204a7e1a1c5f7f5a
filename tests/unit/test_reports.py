"""Report download helpers: charsets as Amazon names them."""

from orchestration.extract.reports import parse_charset


def test_charset_from_content_type():
    assert parse_charset("text/plain; charset=Cp1252", "utf-8") == "cp1252"
    assert parse_charset("text/plain;charset=UTF-8", "latin-1") == "utf-8"
    assert parse_charset("text/plain", "utf-8") == "utf-8"
    assert parse_charset(None, "cp1252") == "cp1252"
