"""Reads a flat-file document in bounded memory: whole lines, a chunk at a time, firewalled, then parsed.

Memory holds the compressed document and one chunk of decompressed text, never the whole text: a
1M-row orders report is read in about 30 chunks. Each chunk is cut by the PII firewall first
(load/firewall.py) and what will be landed is what gets parsed, so loading a document now and
replaying its landed copy later give the same rows, the same quarantine and the same line numbers.
Chunks end on a line break (byte 0x0A never occurs inside a UTF-8, Cp1252 or Shift_JIS character);
each chunk is decoded on its own, and one that does not decode in the document's charset is read as
Cp1252 with replacement characters, so a mislabelled document never loses its partition.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl

from orchestration.extract.gzip_stream import inflate
from orchestration.extract.reports import ReportDocument
from orchestration.load.datasets import Dataset
from orchestration.load.firewall import decode_bytes, firewall_lines, kept_positions
from orchestration.load.parse import (
    HeaderPlan,
    MissingColumnError,
    ParsedDocument,
    non_blank,
    parse_fields,
    plan_header,
    split_header,
)

CHUNK_BYTES = 8 << 20  # decompressed bytes per chunk


@dataclass(frozen=True)
class DocumentChunk:
    landed_text: str  # the chunk as it is landed: allowlisted columns only (the header first, in chunk one)
    parsed: ParsedDocument


def _text_chunks(compressed: bytes, charset: str, chunk_bytes: int) -> Iterator[str]:
    carry = b""
    for block in inflate(compressed, max(1, chunk_bytes // 8)):
        block = carry + block if carry else block
        cut = block.rfind(b"\n")
        if cut < 0:
            carry = block
            continue
        carry = block[cut + 1 :]
        yield decode_bytes(block[: cut + 1], charset)
    if carry:
        yield decode_bytes(carry, charset)


def _lines(text: str) -> list[str]:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def read_tsv(
    document: ReportDocument,
    dataset: Dataset,
    allowed: set[str],
    where: str,
    context: dict,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[DocumentChunk]:
    """Yield the document's chunks: the landed (allowlisted) text and the parsed rows of each.

    `allowed` is every column some dataset of the extraction keeps (what may be landed); the rows are
    parsed for `dataset`. A document without a header, or whose header lacks a required column, fails
    before anything is yielded.
    """
    plan: HeaderPlan | None = None
    keep: list[int] = []
    header_width = 0
    next_line = 2  # line 1 is the header; body lines are numbered as they are landed (non-blank only)
    for text in _text_chunks(document.compressed, document.charset, chunk_bytes):
        lines = _lines(text)
        landed_header = ""
        if plan is None:
            header = split_header(lines[0])
            lines = lines[1:]
            plan = plan_header(header, dataset, where)  # fails early, naming a missing required column
            keep = kept_positions(header, allowed)
            landed_header = "\t".join(header[i] for i in keep) + "\n"
            header_width = len(header)
        body = non_blank(pl.DataFrame({"line": lines}, schema={"line": pl.Utf8}))
        body = body.with_row_index("line_number", offset=next_line)
        next_line += body.height
        landed_lines = firewall_lines(body, header_width, keep)
        # Parsing the landed lines' fields is parsing the landed text: a replay gives the same result.
        # (landed field j is raw field keep[j], so the raw header's positions address the landed fields).
        rows, quarantine = parse_fields(landed_lines, plan.position, len(keep), dataset, context)
        landed_text = landed_header + (landed_lines["line"].str.join("\n").item() + "\n" if body.height else "")
        yield DocumentChunk(
            landed_text=landed_text,
            parsed=ParsedDocument(rows=rows, quarantine=quarantine, dropped_columns=plan.dropped_columns,
                                  missing_optional=plan.missing_optional),
        )
    if plan is None:
        raise MissingColumnError(f"{dataset.report_type} for {where}: empty document, no header row")
