"""shared/core/blobs/csv_head.py: judging a CSV from its first bytes."""

from __future__ import annotations

import codecs

import pytest

from shared.core.blobs.csv_head import csv_head_problem

BOM = codecs.BOM_UTF8


def whole(content: bytes | str, required_columns=()) -> str | None:
    """The verdict on a blob whose head is the whole blob."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return csv_head_problem(data, len(data), required_columns)


def truncated(head: bytes | str, blob_size: int = 1_000_000, required_columns=()) -> str | None:
    """The verdict on the first bytes of a larger blob."""
    data = head.encode("utf-8") if isinstance(head, str) else head
    assert blob_size > len(data)
    return csv_head_problem(data, blob_size, required_columns)


@pytest.mark.parametrize("content", [
    "MYCT,MMIN,PRP\n125,256,198\n29,8000,269\n",
    "MYCT,MMIN,PRP\n125,256,198",
    "MYCT,MMIN,PRP\r\n125,256,198\r\n",
    "MYCT,MMIN,PRP\r125,256,198\r",
    '"last, first",age\n"Doe, Jane",42\n',
    "naïve,Zürich,日本\nä,ö,ü\n",
])
def test_usable_csv(content):
    assert whole(content) is None


def test_utf8_bom_is_accepted_and_not_part_of_the_first_column():
    assert whole(BOM + b"id,value\n1,2\n", required_columns=["id", "value"]) is None


def test_crlf_header_columns_match_required_columns():
    assert whole("a,b,c\r\n1,2,3\r\n", required_columns=["a", "c"]) is None


def test_quoted_header_fields_with_commas_are_single_columns():
    assert whole('"last, first","age"\n"Doe, Jane",42\n', required_columns=["last, first", "age"]) is None


@pytest.mark.parametrize("content, byte, offset", [
    ("name,city\nJosé,Zürich\n".encode("latin-1"), 0xE9, 13),
    (BOM + "name,city\nJosé,Zürich\n".encode("latin-1"), 0xE9, 16),
    ("name,city\n".encode("utf-16"), 0xFF, 0),
])
def test_non_utf8_bytes_are_rejected_with_their_offset(content, byte, offset):
    assert whole(content) == f"not UTF-8 text (byte 0x{byte:02x} at offset {offset})"


def test_non_utf8_bytes_inside_a_truncated_head_are_rejected():
    assert truncated("name,city\nJosé,Zürich\n".encode("latin-1")) == "not UTF-8 text (byte 0xe9 at offset 13)"


def test_whole_blob_ending_inside_a_multibyte_character_is_rejected():
    content = "name\nZürich".encode()[:-5]  # ends with the first byte of 'ü'
    assert whole(content).startswith("not UTF-8 text (byte 0xc3 at offset 6)")


@pytest.mark.parametrize("content", ["MYCT,MMIN\n", "MYCT,MMIN", "MYCT,MMIN\n\n\n", "MYCT,MMIN\n , \n"])
def test_header_only(content):
    assert whole(content) == "no data rows (header only)"


@pytest.mark.parametrize("content", ["", "\nMYCT,MMIN\n1,2\n", "\r\nMYCT,MMIN\r\n1,2\r\n"])
def test_empty_first_line(content):
    assert whole(content) == "no header row (the file starts with an empty line)"


@pytest.mark.parametrize("content, expected", [
    (",,\n1,2,3\n", "the header row's 3 column names are all empty (',,')"),
    (" , \nMYCT\n1\n", "the header row's 2 column names are all empty (' , ')"),
    ("," * 50 + "\n1\n", f"the header row's 51 column names are all empty ({',' * 40!r})"),  # shown cut to 40
])
def test_a_header_of_empty_names_says_so_not_that_the_file_starts_with_an_empty_line(content, expected):
    assert whole(content) == expected


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_missing_columns_in_a_file_separated_otherwise_say_how_it_looks_separated(separator):
    content = separator.join(["MYCT", "MMIN", "PRP"]) + "\n" + separator.join(["125", "256,5", "198"]) + "\n"
    assert whole(content, required_columns=["MYCT", "PRP"]) == (
        f"missing required columns: MYCT, PRP (header has: {content.splitlines()[0]}); "
        f"the file looks {separator!r}-separated, but columns are read as ','-separated")


def test_a_pipe_separated_file_with_spaces_in_its_values_is_hinted_as_pipe_separated():
    content = "MYCT|MAX MEM|PRP\n125|256 k|198\n"
    assert whole(content, required_columns=["PRP"]) == (
        "missing required columns: PRP (header has: MYCT|MAX MEM|PRP); "
        "the file looks '|'-separated, but columns are read as ','-separated")


@pytest.mark.parametrize("content, header", [
    ("id\n1\n", "id"), ("a,b\n1,2\n", "a, b"), ("a,b;c\n1,2;3\n", "a, b;c"),
    ('id,name\n"1";"a"\n"2";"b"\n', "id, name"),  # ';' sniffed from the rows, but the header has none
])
def test_no_separator_hint_when_the_sniffer_finds_none_a_comma_or_one_the_header_lacks(content, header):
    assert whole(content, required_columns=["zz"]) == f"missing required columns: zz (header has: {header})"


def test_missing_required_columns_are_listed_with_the_header():
    assert whole("MYCT, MMIN ,PRP\n1,2,3\n", required_columns=["MYCT", "CACH", "MMIN", "ERP"]) == \
        "missing required columns: CACH, ERP (header has: MYCT, MMIN, PRP)"


def test_required_columns_are_case_sensitive():
    assert whole("myct\n1\n", required_columns=["MYCT"]).startswith("missing required columns: MYCT")


@pytest.mark.parametrize("columns, more", [(25, ", ..."), (21, ", ..."), (20, "")])
def test_long_headers_are_shown_cut_to_20_columns(columns, more):
    header = ",".join(f"c{index}" for index in range(columns))
    problem = whole(f"{header}\n" + ",".join("1" * columns) + "\n", required_columns=["missing"])
    assert problem == f"missing required columns: missing (header has: {', '.join(f'c{i}' for i in range(20))}{more})"


def test_a_quoted_header_name_keeps_its_line_break_as_written():
    assert whole('"a\r\nb",c\n1,2\n', required_columns=["a\r\nb", "c"]) is None


# --- heads of larger blobs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("head", ["MYCT,MMIN\n", "MYCT,MMIN\r\n", "MYCT,MMIN\n125,2", "MYCT,MMIN\r125,2",
                                  BOM + b"MYCT,MMIN\n"])
def test_truncated_head_with_a_complete_header_is_accepted_without_a_data_row(head):
    assert truncated(head, required_columns=["MYCT", "MMIN"]) is None


@pytest.mark.parametrize("line_break", ["\n", "\r"])
def test_the_separator_hint_of_a_truncated_head_judges_every_complete_line(line_break):
    head = line_break.join(["name;id", "x,1", "y,2", "z"])  # the header alone would look ';'-separated
    assert truncated(head, required_columns=["name"]) == "missing required columns: name (header has: name;id)"


def test_the_separator_hint_of_a_truncated_head_leaves_out_the_cut_last_line():
    assert truncated("MYCT;PRP\n1;2\n3;4\n5", required_columns=["PRP"]) == (
        "missing required columns: PRP (header has: MYCT;PRP); "
        "the file looks ';'-separated, but columns are read as ','-separated")


def test_truncated_head_whose_only_line_break_comes_first_has_no_header_row():
    assert truncated("\nMYCT,MMIN") == "no header row (the file starts with an empty line)"


def test_truncated_head_cut_inside_a_multibyte_character_is_accepted():
    content = "name,city\nJosé,Zürich\nLi,東京\n".encode()
    for cut in (content.index("é".encode()) + 1, content.index("東".encode()) + 1, content.index("東".encode()) + 2):
        assert truncated(content[:cut], blob_size=len(content)) is None, cut


def test_truncated_head_still_checks_required_columns():
    assert truncated("MYCT,MMIN\n1,", required_columns=["PRP"]).startswith("missing required columns: PRP")


@pytest.mark.parametrize("head", ["MYCT,MMIN,PRP", "x" * 4096, "naïve".encode()[:3]])
def test_truncated_head_without_a_newline_has_no_complete_header(head):
    assert truncated(head).startswith("no complete header row in the first ")


def test_truncated_head_reports_its_size_in_bytes():
    assert truncated("x" * 65536) == "no complete header row in the first 65,536 bytes"


@pytest.mark.parametrize("content", [
    b"MYCT,MMIN\n1,\x002\n",
    b"\x00\x00\x00\x00,\x00\n1,2\n",
    "MYCT,MMIN\n1,2\n".encode("utf-16-le"),
])
def test_nul_bytes_are_rejected_with_a_clear_reason(content):
    assert whole(content) == "contains NUL bytes (binary or UTF-16 data, not UTF-8 CSV text)"
