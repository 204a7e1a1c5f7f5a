"""Writing a file whole or not at all: readers see the old content or the new one, never a part.

Every write gets a temporary name of its own beside the target (mkstemp: mode 0600 from the first byte, O_EXCL),
then is renamed over it. A name shared by writers (one per process, or a fixed one) let two threads write the
same file at once and leave a temporary file behind: CI once found one in the landing zone. A write that fails
removes its temporary file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_whole(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Replace `path` with `data` atomically, owner-only (0600). `durable`: on disk before the rename (fsync)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)  # the umask's mode: other users may need to pass through
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
