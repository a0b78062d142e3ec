"""The serving state: a pipeline it starts serving is moved out of the cyclic garbage collector's sight; an index
another worker wrote is swapped in while a write of this one waits, never over a newer one."""

from __future__ import annotations

import dataclasses
import gc
import json
import shutil
from pathlib import Path

from qa.indexing.store import MANIFEST
from qa.server.state import Pipeline, State, Watch


def _tracked(obj: object) -> bool:
    """Whether the collector's generations (not its frozen objects) hold obj."""
    return any(o is obj for o in gc.get_objects())


def test_a_pipeline_served_is_frozen_out_of_the_collectors_walks(pipeline: Pipeline) -> None:
    gc.unfreeze()  # what earlier tests froze is walked again, this pipeline with it
    assert _tracked(pipeline.index.chunks)
    State(pipeline=pipeline)
    assert gc.get_freeze_count() > 0 and not _tracked(pipeline.index.chunks)


def test_a_pipeline_loaded_is_frozen_too(pipeline: Pipeline) -> None:
    gc.unfreeze()
    state = State(load=lambda: pipeline)
    assert state.pipeline is None and _tracked(pipeline.index.chunks)
    assert state.load() and state.pipeline is pipeline
    assert not _tracked(pipeline.index.chunks)


def _written_by_another_worker(index_dir: Path) -> None:
    manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    manifest["generation"] += 1
    (index_dir / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def test_an_index_another_worker_wrote_is_swapped_in_while_a_write_of_this_one_waits(
    tmp_path: Path, pipeline: Pipeline, index_dir: Path
) -> None:
    """A write of this worker waiting for the folder lock (another worker writing) held the worker's write lock, and
    the worker skipped every reload meanwhile: it served the index of before, up to ~10 s under a stream of writes."""
    shutil.copytree(index_dir, tmp_path / "index")
    newer = dataclasses.replace(pipeline)
    state = State(pipeline=pipeline, reload=lambda current: newer, watch=Watch(tmp_path / "index"))
    _written_by_another_worker(tmp_path / "index")
    with state._reindexing:  # this worker's write, waiting
        assert state.refresh() and state.pipeline is newer


def test_a_reload_never_puts_an_older_pipeline_over_one_a_write_served(
    tmp_path: Path, pipeline: Pipeline, index_dir: Path
) -> None:
    shutil.copytree(index_dir, tmp_path / "index")
    written = dataclasses.replace(pipeline)
    state: State

    def slow_reload(current: Pipeline) -> Pipeline:
        state._serve(written)  # this worker's write finished while the reload read the disk
        return dataclasses.replace(pipeline)

    state = State(pipeline=pipeline, reload=slow_reload, watch=Watch(tmp_path / "index"))
    _written_by_another_worker(tmp_path / "index")
    assert not state.refresh() and state.pipeline is written


def test_after_its_own_write_a_worker_looks_at_the_disk_afresh(
    tmp_path: Path, pipeline: Pipeline, index_dir: Path
) -> None:
    """Another worker may write between this one releasing the folder lock and serving its own result; a reload that
    saw that newer manifest meanwhile had its pipeline replaced by the older one, and the manifest was taken as seen:
    the worker served the older index until some later write."""
    shutil.copytree(index_dir, tmp_path / "index")
    newest = dataclasses.replace(pipeline)
    state = State(pipeline=pipeline, reload=lambda current: newest, watch=Watch(tmp_path / "index"))
    _written_by_another_worker(tmp_path / "index")
    state._seen = state._signature()  # a reload saw the other worker's manifest ...
    state._served_own(dataclasses.replace(pipeline))  # ... and then this worker's write served its older result
    assert state.refresh() and state.pipeline is newest


def test_a_write_waits_for_both_locks_within_one_budget(pipeline: Pipeline) -> None:
    """A write queued behind another waited up to the budget for this worker's lock, and the budget again for the
    index folder's: it was answered after its request timeout."""
    import threading
    import time

    from qa.server.state import Library

    given: list[float] = []

    def add(current: Pipeline, doc: object, replace: bool, wait: float) -> tuple[Pipeline, object]:
        given.append(wait)
        return current, None

    state = State(pipeline=pipeline, library=Library(add=add, remove=lambda current, doc_id, wait: current, wait=1.0))

    def busy() -> None:
        with state._reindexing:
            time.sleep(0.6)

    held = threading.Thread(target=busy)
    held.start()
    time.sleep(0.1)
    state.add_document(object())  # type: ignore[arg-type]
    held.join()
    assert len(given) == 1 and given[0] <= 1.0 - 0.4
