"""The peer a CC-NEWS user would pick, on the same WARC files as `cargo bench --bench pipeline -- --warc`:
datatrove's WarcReader -> Trafilatura -> JsonlWriter, local executor, one task per file, as many workers as
cores. Prints records per second, and the CPU per record it can be at most.

    python3 benches/datatrove/warc_to_jsonl.py DIR_OF_WARC_FILES [WORKERS]

Needs PyPI datatrove, warcio, faust-cchardet, python-magic, orjson, trafilatura (and lxml_html_clean with
lxml 5.2+). Not part of the test command: a benchmark, run by hand (docs/performance.md).
"""

import glob
import os
import shutil
import sys
import tempfile
import time

from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.readers import WarcReader
from datatrove.pipeline.writers import JsonlWriter


def main() -> None:
    folder = os.path.abspath(sys.argv[1])
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count() or 1
    files = sorted(glob.glob(os.path.join(folder, "*.warc.gz")))
    if not files:
        sys.exit(f"no *.warc.gz in {folder}")
    out = tempfile.mkdtemp(prefix="datatrove-out-")
    logs = tempfile.mkdtemp(prefix="datatrove-logs-")
    executor = LocalPipelineExecutor(
        pipeline=[
            WarcReader(folder, glob_pattern="*.warc.gz"),
            Trafilatura(favour_precision=True, timeout=1.0),
            JsonlWriter(out, compression=None),
        ],
        tasks=len(files),
        workers=workers,
        logging_dir=logs,
    )
    started = time.monotonic()
    executor.run()
    elapsed = time.monotonic() - started
    rows = 0
    for path in glob.glob(os.path.join(out, "*.jsonl")):
        with open(path, "rb") as f:
            rows += sum(1 for _ in f)
    # Records read: the response records of the files (what the reader yields before extraction).
    import warcio.archiveiterator

    records = 0
    for path in files:
        with open(path, "rb") as f:
            records += sum(1 for r in warcio.archiveiterator.ArchiveIterator(f) if r.rec_type == "response")
    print(f"datatrove {workers} worker(s): {records} response records, {rows} documents written, {elapsed:.2f} s")
    print(f"datatrove records/s: {records / elapsed:.0f}")
    # The executor's pool processes are not reaped by this process, so their CPU time cannot be read here:
    # what is printed is the bound of every worker busy for the whole run.
    print(f"datatrove CPU ms/record, at most (workers x wall / records): {workers * elapsed * 1000 / max(records, 1):.1f}")
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()
