"""Resume machinery: which pages a producer already computed (PageLedger) and durable progress of a model
stage within a run (Checkpoint)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ocr_resources.pipeline.paths import inside
from ocr_resources.pipeline.rows import RowBuffer

if TYPE_CHECKING:
    from ocr_resources.pipeline.stages.base import StageContext



class PageLedger:
    """Resume bookkeeping for one stage and partition: which pages exist now, which this producer already
    computed from the same input (skipped), and which were computed in this run (and how they ended).
    Holds a few small tuples per page, never a page's content."""

    def __init__(self, ctx: StageContext, asset_key: str):
        self.done = {} if ctx.force else ctx.store.done_pages(ctx.container_id, asset_key, ctx.producer_id)
        self.live: list[tuple[str, int]] = []
        self.computed: dict[tuple[str, int], tuple[str, str]] = {}
        self.fresh: list[tuple[str, int]] = []  # computed by this run, in order (for checkpoints)
        self.restored: dict[tuple[str, int], tuple[str, str]] = {}  # from a crashed run's checkpoint
        self.resumed = 0
        self.skipped = 0
        self._digest = hashlib.sha256()

    def needed(self, document_id: str, page_no: int, input_hash: str) -> bool:
        """Register a live page; False when its stored result is current (the page is skipped)."""
        self.live.append((document_id, page_no))
        self._digest.update(f"{document_id}|{page_no}|{input_hash}\n".encode())
        restored = self.restored.get((document_id, page_no))
        if restored is not None and restored[0] == input_hash:  # its rows are in the checkpoint: commit them
            self.computed[(document_id, page_no)] = restored
            self.resumed += 1
            return False
        if self.done.get((document_id, page_no)) == input_hash:
            self.skipped += 1
            return False
        return True

    def record(self, document_id: str, page_no: int, input_hash: str, ok: bool) -> None:
        key = (document_id, page_no)
        if key in self.computed and self.computed[key][1] == "error":
            return  # one failed part (e.g. one table of the page) marks the whole page for a retry
        if key not in self.computed:
            self.fresh.append(key)
        self.computed[key] = (input_hash, "ok" if ok else "error")

    @property
    def fingerprint(self) -> str:
        return self._digest.hexdigest()[:16]

    def tables(self) -> tuple[pa.Table, pa.Table]:
        keys = list(self.computed)
        results = pa.table({
            "document_id": pa.array([k[0] for k in keys], pa.string()),
            "page_no": pa.array([k[1] for k in keys], pa.int32()),
            "input_hash": pa.array([self.computed[k][0] for k in keys], pa.string()),
            "status": pa.array([self.computed[k][1] for k in keys], pa.string())})
        live = pa.table({"document_id": pa.array([k[0] for k in self.live], pa.string()),
                         "page_no": pa.array([k[1] for k in self.live], pa.int32())})
        return results, live

    def stats(self) -> dict[str, int]:
        return {"pages_computed": len(self.computed) - self.resumed, "pages_skipped": self.skipped,
                "pages_from_checkpoint": self.resumed}


class Checkpoint:
    """Durable progress of one model stage on one partition, so that a crash costs only the pages computed
    since the last save, while the commit stays one transaction per partition.

    Every `ctx.checkpoint_pages` pages (or when the rows held pass `ctx.spill_bytes`) every buffer is written
    to `part-N.<table>.parquet` and then `part-N.manifest.parquet` lists the pages whose rows are complete in
    that part; a part without its manifest is incomplete and dropped. The folder is keyed by producer, so
    another model never reuses it; a rerun adopts the parts and skips their pages (when the page's input
    hash still matches), and the commit inserts them with the rest. `force` starts afresh."""

    def __init__(self, ctx: StageContext, asset_key: str, out: dict[str, RowBuffer], ledger: PageLedger):
        base = ctx.spill_base
        self.dir = inside(base, base / "checkpoints" / asset_key / ctx.container_id / ctx.producer_id)
        self.out, self.ledger = out, ledger
        self.every, self.limit = max(1, ctx.checkpoint_pages), ctx.spill_bytes
        self.adopted: list[Path] = []
        self.since = 0
        self.saved = 0
        for buf in out.values():
            buf.spill_bytes = 1 << 62  # spills happen here, at page boundaries, never mid-page
        if ctx.force:
            shutil.rmtree(self.dir, ignore_errors=True)
        manifests = sorted(self.dir.glob("part-*.manifest.parquet")) if self.dir.is_dir() else []
        complete = {m.name.split(".")[0] for m in manifests}
        for f in self.dir.iterdir() if self.dir.is_dir() else []:
            if f.name.split(".")[0] not in complete:
                f.unlink()
        for m in manifests:
            for row in pq.read_table(m).to_pylist():
                ledger.restored[(row["document_id"], row["page_no"])] = (row["input_hash"], row["status"])
            for table, buf in out.items():
                part = self.dir / f"{m.name.split('.')[0]}.{table}.parquet"
                if part.exists():
                    buf.adopt(part)
                    self.adopted.append(part)
        self.part = 1 + max((int(m.name.split(".")[0].split("-")[1]) for m in manifests), default=0)
        if ledger.restored:
            ctx.logger.info("%s[%s]: resuming from a checkpoint of %d pages", asset_key, ctx.container_id,
                            len(ledger.restored))

    def page_done(self) -> None:
        self.since += 1
        held = sum(buf.held_bytes() for buf in self.out.values())
        if self.since >= self.every or held >= self.limit:
            self.save()

    def save(self) -> None:
        pages = self.ledger.fresh[self.saved :]
        if not pages:
            return
        name = f"part-{self.part:06d}"
        self.dir.mkdir(parents=True, exist_ok=True)  # buffers with no rows write nothing, the manifest still goes
        for table, buf in self.out.items():
            buf.spill_to(self.dir / f"{name}.{table}.parquet")
        manifest = pa.table({
            "document_id": pa.array([k[0] for k in pages], pa.string()),
            "page_no": pa.array([k[1] for k in pages], pa.int32()),
            "input_hash": pa.array([self.ledger.computed[k][0] for k in pages], pa.string()),
            "status": pa.array([self.ledger.computed[k][1] for k in pages], pa.string())})
        tmp = self.dir / f"{name}.manifest.tmp"
        pq.write_table(manifest, tmp)
        os.replace(tmp, self.dir / f"{name}.manifest.parquet")  # written last: the part is now complete
        self.saved += len(pages)
        self.part += 1
        self.since = 0

    def finish(self) -> list[Path]:
        """Drop adopted rows of pages that were not taken from the checkpoint after all (their input changed
        or they no longer exist); returns the folder to remove once the partition is committed. The rest is
        saved first, so a failed commit (a lock held too long) does not cost the model work either."""
        self.save()
        taken = {k for k, v in self.ledger.restored.items() if self.ledger.computed.get(k) == v}
        if len(taken) < len(self.ledger.restored):
            keys = pa.array([f"{d}\x00{p}" for d, p in taken], pa.string())
            for path in self.adopted:
                t = pq.read_table(path)
                key = pc.binary_join_element_wise(t["document_id"], pc.cast(t["page_no"], pa.string()), "\x00")
                pq.write_table(t.filter(pc.is_in(key, value_set=keys)), path)
        return [self.dir]

