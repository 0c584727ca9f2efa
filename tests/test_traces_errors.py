"""Every bad-input case of issue #3: a clear InputError naming the file and line (or JSONL record) and what
was expected; ``skip_bad_rows`` loads the rest and reports the count and the first line numbers.

Bad files are real rows from tests/data/traces with one field broken in memory (see SOURCES.md).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from breakeven.errors import InputError, UnknownNameError
from tests.conftest import DATA
from traces import load_trace, summarize

TR = DATA / "traces"


def _azure_lines(n: int = 6) -> list[str]:
    # CRLF and no final newline, like the real file.
    return (TR / "AzureLLMInferenceTrace_code.csv").read_bytes().decode().split("\r\n")[: n + 1]


def _azure_bytes(lines: list[str]) -> bytes:
    return "\r\n".join(lines).encode()


def _named(data: bytes, name: str) -> io.BytesIO:
    stream = io.BytesIO(data)
    stream.name = name
    return stream


def _bad_azure(line_no: int, replacement: str) -> io.BytesIO:
    lines = _azure_lines()
    lines[line_no - 1] = replacement
    return _named(_azure_bytes(lines), "azure_bad.csv")


@pytest.mark.parametrize(
    ("line_no", "row", "message"),
    [
        (3, "2023-11-16 18:17:04.0319600,3180", r"azure_bad\.csv:3: expected 3 fields, found 2"),
        (
            4,
            "2023-11-16 18:17:04.0781490,abc,27",
            r"azure_bad\.csv:4: column 'ContextTokens': expected a non-negative integer token count, found 'abc'",
        ),
        (
            4,
            "2023-11-16 18:17:04.0781490,110,-27",
            r"azure_bad\.csv:4: column 'GeneratedTokens': expected a non-negative integer token count, found -27",
        ),
        (5, "2023-11-16 18:17:04.1206440,7433.5,14", r"azure_bad\.csv:5: column 'ContextTokens'.*found '7433.5'"),
        (5, "2023-11-16 18:17:04.1206440,NaN,14", r"azure_bad\.csv:5: column 'ContextTokens'.*found 'NaN'"),
        (5, "2023-11-16 18:17:04.1206440,,14", r"azure_bad\.csv:5: column 'ContextTokens'.*found an empty value"),
        (
            2,
            "16/11/2023 6:17pm,4808,10",
            r"azure_bad\.csv:2: column 'TIMESTAMP': expected an ISO-8601 datetime, found '16/11/2023 6:17pm'",
        ),
    ],
)
def test_bad_row_names_file_line_and_expectation(line_no: int, row: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        load_trace(_bad_azure(line_no, row))
    assert "--skip-bad-rows" in str(info.value)


def test_skip_bad_rows_loads_the_rest_and_reports_lines() -> None:
    lines = _azure_lines(8)
    lines[2] = "2023-11-16 18:17:04.0319600,3180"  # line 3: malformed
    lines[5] = "2023-11-16 18:17:04.4449940,-34,12"  # line 6: negative
    lines[7] = "not a time,1145,7"  # line 8: bad timestamp
    trace = load_trace(_named(_azure_bytes(lines), "three_bad.csv"), skip_bad_rows=True)
    assert len(trace) == 8 - 3
    assert trace.meta.skipped.count == 3
    assert trace.meta.skipped.first_lines == (3, 6, 8)
    assert any("line 6" in r and "-34" in r for r in trace.meta.skipped.reasons)
    summary = summarize(trace)
    assert summary.skipped_rows == 3
    assert summary.skipped_lines == [3, 6, 8]
    assert any("skipped 3 bad rows" in w for w in summary.warnings)


def test_error_counts_the_other_bad_rows() -> None:
    lines = _azure_lines(8)
    lines[3] = lines[3].replace(",110,", ",x,")
    lines[4] = lines[4].replace(",7433,", ",y,")
    with pytest.raises(InputError, match=r":4: .*found 'x' \(1 more bad row; pass --skip-bad-rows"):
        load_trace(io.BytesIO(_azure_bytes(lines)))


def test_line_numbers_count_blank_lines() -> None:
    lines = (TR / "burstgpt_1_first3.csv").read_text().splitlines()
    lines.insert(2, "")  # a blank line 3 pushes the third row to line 5
    lines[4] = lines[4].replace(",417,", ",-417,")
    with pytest.raises(InputError, match=r"<stream>:5: column 'Request tokens'.*-417"):
        load_trace(io.BytesIO("\n".join(lines).encode()))


def test_bad_jsonl_record_named_by_line() -> None:
    lines = (TR / "mooncake_conversation_first400.jsonl").read_text().splitlines()[:5]
    lines[2] = lines[2][:-1]  # truncated JSON on line 3
    lines[4] = lines[4].replace('"input_length": ', '"input_length": -')
    data = ("\n".join(lines) + "\n").encode()
    with pytest.raises(InputError, match=r"moon\.jsonl:3: expected a JSON object, found invalid JSON") as info:
        load_trace(_named(data, "moon.jsonl"))
    assert "1 more bad row;" in str(info.value)
    trace = load_trace(_named(data, "moon.jsonl"), skip_bad_rows=True)
    assert len(trace) == 3
    assert trace.meta.skipped.first_lines == (3, 5)
    assert "column 'input_length'" in trace.meta.skipped.reasons[1]


def test_jsonl_non_numeric_tokens() -> None:
    lines = (TR / "mooncake_conversation_first400.jsonl").read_text().splitlines()[:3]
    lines[1] = re.sub(r'"output_length": \d+', '"output_length": "lots"', lines[1])
    with pytest.raises(InputError, match=r":2: column 'output_length': expected a non-negative integer.*'lots'"):
        load_trace(io.BytesIO(("\n".join(lines) + "\n").encode()))


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.csv: empty file"):
        load_trace(path)
    with pytest.raises(InputError, match=r"empty\.csv: empty file"):
        load_trace(path, format="azure-2023")


def test_header_only_file() -> None:
    header = (TR / "vidur_splitwise_conv_first100.csv").read_text().splitlines()[0]
    with pytest.raises(InputError, match=r"no requests in the file"):
        load_trace(io.BytesIO((header + "\n").encode()))


def test_every_row_bad_with_skip() -> None:
    lines = _azure_lines(2)
    lines[1] = lines[1].replace(",4808,", ",-1,")
    lines[2] = lines[2].replace(",3180,", ",-1,")
    with pytest.raises(InputError, match=r"no valid requests left after skipping 2 bad rows"):
        load_trace(io.BytesIO(_azure_bytes(lines)), skip_bad_rows=True)


def test_unknown_format_lists_choices() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown trace format 'burstgtp' \(did you mean 'burstgpt'\?\)"):
        load_trace(TR / "burstgpt_1_first3.csv", format="burstgtp")


def test_undetectable_csv_says_what_it_found() -> None:
    with pytest.raises(InputError, match=r"header lacks the columns.*found \['when', 'a', 'b'\].*--columns"):
        load_trace(io.BytesIO(b"when,a,b\n1,2,3\n"))


def test_unknown_time_unit_and_column_key() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown time unit 'minutes'"):
        load_trace(TR / "burstgpt_1_first3.csv", time_unit="minutes")
    with pytest.raises(UnknownNameError, match=r"unknown column key 'prompt'"):
        load_trace(TR / "burstgpt_1_first3.csv", columns={"prompt": "Request tokens"})


def test_missing_and_directory_paths(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.csv: file not found"):
        load_trace(tmp_path / "nope.csv")
    with pytest.raises(InputError, match=r"is a directory"):
        load_trace(tmp_path)


def test_out_of_order_rows_are_sorted_with_a_warning() -> None:
    lines = _azure_lines(6)
    lines[3], lines[5] = lines[5], lines[3]  # rows on lines 4 and 6 swap places
    trace = load_trace(io.BytesIO(_azure_bytes(lines)))
    assert len(trace) == 6  # nothing dropped
    arrival = trace.df["arrival_s"].to_numpy()
    assert (arrival[1:] >= arrival[:-1]).all()
    assert trace.meta.warnings == ("sorted 2 out-of-order rows by arrival time; first at line 5",)
    # Rows moved with their tokens: the sorted trace equals the original file.
    original = load_trace(io.BytesIO(_azure_bytes(_azure_lines(6)))).df
    assert trace.df["input_tokens"].tolist() == original["input_tokens"].tolist()


def test_cached_tokens_above_input_is_a_bad_row() -> None:
    data = b"arrival_s,input_tokens,output_tokens,cached_tokens\n0,100,5,50\n1,100,5,150\n"
    with pytest.raises(InputError, match=r":3: column 'cached_tokens': expected at most input_tokens, found 150"):
        load_trace(io.BytesIO(data))
