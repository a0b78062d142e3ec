"""The serving state: a pipeline it starts serving is moved out of the cyclic garbage collector's sight."""

from __future__ import annotations

import gc

from qa.server.state import Pipeline, State


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
