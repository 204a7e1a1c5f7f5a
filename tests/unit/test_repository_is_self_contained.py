"""A user's clone has nothing beside it: no file in the repository may read a folder next to the clone.

The team keeps reference notes in a folder beside its working copies; everything the project needs from there
was copied in (sp-api-models/, docs/amazon/, tests/fixtures/) with its provenance. A path back out of the
repository would make `make test` pass only where that folder happens to sit.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SIBLING = "sha" + "red"  # spelled apart so that this file does not match its own patterns
# The ways a path to the sibling folder gets written: relative, built with pathlib, or named by its files.
PATTERNS = [
    re.compile(r"\.\./" + SIBLING + r"\b"),
    re.compile(r"parent\s*/\s*[\"']" + SIBLING + r"[\"']"),
    re.compile(r"[\"']" + SIBLING + r"[\"']\s*/"),
    re.compile(r"\b" + SIBLING + r"/(sp-api-models|spapi-|stack-notes|style\.md|hooks)"),
]
THIS_FILE = Path(__file__).resolve().relative_to(REPO_ROOT).as_posix()


def repository_files() -> list[str]:
    """Tracked files plus untracked ones git does not ignore: what a commit of the work tree would hold."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT, capture_output=True, check=True,
    ).stdout.decode()
    return [p for p in out.split("\0") if p and (REPO_ROOT / p).is_file()]


def references_outside(text: str) -> list[str]:
    return [m.group(0) for pattern in PATTERNS for m in pattern.finditer(text)]


def test_the_patterns_catch_each_way_of_reaching_the_sibling_folder():
    for line in (
        'MODELS = REPO_ROOT.parent / "' + SIBLING + '" / "sp-api-models"',
        "cat ../" + SIBLING + "/spapi-reference.md",
        "see " + SIBLING + "/spapi-money.md",
    ):
        assert references_outside(line), line
    assert not references_outside("the shared runner; a shared TLS context; shared_tables()")


def test_no_file_in_the_repository_reads_the_folder_beside_the_clone():
    files = repository_files()
    assert len(files) > 100, "git listed too few files: is this a checkout?"
    hits = []
    for path in files:
        if path == THIS_FILE:
            continue
        try:
            text = (REPO_ROOT / path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary (pictures): no path to read
        hits += [f"{path}: {ref}" for ref in references_outside(text)]
    assert not hits, "these read outside the repository; copy what they need in:\n" + "\n".join(hits)


def test_what_was_copied_in_carries_its_provenance():
    models = REPO_ROOT / "sp-api-models"
    readme = (models / "README.md").read_text()
    assert re.search(r"\b[0-9a-f]{40}\b", readme), "the models' README must name the commit they came from"
    assert "Apache License" in (models / "LICENSE").read_text()
    for model in models.glob("*.json"):
        assert model.name in readme, f"{model.name} is not listed with its origin in {models}/README.md"
    assert "_provenance" in (REPO_ROOT / "tests" / "fixtures" / "amazon_report_headers.json").read_text()
