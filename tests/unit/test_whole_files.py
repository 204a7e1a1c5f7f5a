"""A file written whole: readers never see a part, every writer has its own temporary name, the file is the
owner's only, and a failed write leaves nothing behind. Secret files and the column-lineage cache use it."""

from __future__ import annotations

import stat
import threading

import pytest

from local_stack.secret_files import write_private_text
from orchestration.whole_files import write_whole


def test_threads_writing_one_secret_file_leave_one_whole_file_of_the_owner_only(tmp_path):
    target = tmp_path / "secrets" / "vault-root.json"
    texts = [chr(ord("a") + n) * 100_000 for n in range(6)]
    errors = []

    def write(text: str) -> None:
        try:
            for _ in range(20):
                write_private_text(target, text)
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [p.name for p in target.parent.iterdir()] == ["vault-root.json"]
    assert target.read_text() in texts
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_failed_write_keeps_the_old_content_and_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "column_lineage.json"
    write_whole(target, b"old")

    def disk_full(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("orchestration.whole_files.os.replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_whole(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["column_lineage.json"]
