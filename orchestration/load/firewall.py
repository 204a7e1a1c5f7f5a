"""The PII firewall for documents: what may be landed at all.

Before a flat-file document is encrypted into the landing zone it is cut down, in memory, to the
columns some raw table allowlists; every other column (buyer names, e-mails, phones, addresses, tax
ids, tracking numbers) never touches disk, not even encrypted. A line with the wrong number of fields
cannot be cut safely (a shifted city may sit under an allowlisted header), so it is landed as a marker
and quarantined on load. JSON API pages are already reduced by the extractor that fetched them.
"""

from __future__ import annotations

import gzip

from orchestration.extract.reports import ReportDocument
from orchestration.load.datasets import Dataset

UNPARSEABLE = "#UNPARSEABLE-LINE-REMOVED-BY-FIREWALL"


def decode(document: ReportDocument) -> str:
    raw = gzip.decompress(document.compressed)
    try:
        return raw.decode(document.charset)
    except UnicodeDecodeError:
        # Amazon labels some EU documents UTF-8 while sending Cp1252; never lose the partition over it.
        return raw.decode("cp1252", errors="replace")


def firewall_document(document: ReportDocument, datasets: tuple[Dataset, ...]) -> ReportDocument:
    """The document with only allowlisted columns (UTF-8); the dropped column names go into its context."""
    if any(d.document_format != "tsv" for d in datasets):
        return document
    allowed = set().union(*(d.allowlist for d in datasets))
    lines = decode(document).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return document
    header = [h.strip().lstrip("\ufeff") for h in lines[0].split("\t")]
    keep = [i for i, name in enumerate(header) if name in allowed]
    out = ["\t".join(header[i] for i in keep)]
    for line in lines[1:]:
        if not line.strip():
            continue
        fields = line.split("\t")
        out.append("\t".join(fields[i] for i in keep) if len(fields) == len(header) else UNPARSEABLE)
    context = {**document.context, "dropped_columns": [h for i, h in enumerate(header) if i not in keep]}
    compressed = gzip.compress(("\n".join(out) + "\n").encode("utf-8"), mtime=0)
    return ReportDocument(
        document.report_type, document.report_id, document.document_id, "utf-8", compressed, context
    )
