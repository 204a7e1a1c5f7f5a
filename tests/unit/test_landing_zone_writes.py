"""Landing a document is atomic whoever else lands the same one at the same moment: the key ends as one
complete blob, and no temporary file is left behind."""

import threading

from orchestration.land.landing_zone import LocalLandingZone


def test_threads_landing_the_same_document_leave_one_whole_file_and_no_temporary_one(tmp_path):
    zone = LocalLandingZone(tmp_path)
    blobs = [bytes([n]) * 200_000 for n in range(8)]
    errors = []

    def land(blob: bytes) -> None:
        try:
            for _ in range(20):
                zone.put("t0123456789ab/settlements/2026-11-25/doc.env", blob)
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=land, args=(b,)) for b in blobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.name for p in files] == ["doc.env"]
    assert files[0].read_bytes() in blobs
