"""Helpers shared by the tests: a real uvicorn server on a free loopback port, and the `qa` command run as users run
it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette

from qa.config import LLMSettings, Settings

ROOT = Path(__file__).resolve().parent.parent


def run_qa(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The `qa` command in a process of its own, offline, with these environment variables set besides."""
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", *args],
        cwd=cwd,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def folder_options(seeds_dir: Path, index_dir: Path, library_dir: Path) -> list[str]:
    """The command line's options naming the three folders."""
    return ["--seeds-dir", str(seeds_dir), "--index-dir", str(index_dir), "--library-dir", str(library_dir)]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Starlette, *, port: int | None = None, **config: Any) -> Iterator[str]:
    """Run app with uvicorn in a thread (extra uvicorn.Config options given); yield its base URL; stop it after."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def gold_path() -> Path:
    """The shared development question set (../shared/eval/dev.jsonl); it is measured on, never copied here."""
    shared = ROOT.parent / "shared" / "eval" / "dev.jsonl"
    if not shared.is_file():
        import pytest

        pytest.skip(f"the shared development set is not at {shared}")
    return shared


def configured(settings: Settings, **changes: Any) -> Settings:
    """A copy of settings with fields changed, named as their environment variables are (less the QA_ prefix):
    `llm_base_url` sets settings.llm.base_url, `allowed_origins` settings.server.allowed_origins, and so on."""
    groups = {"llm": settings.llm, "retrieval": settings.retrieval, "answering": settings.answering}
    groups["server"] = settings.server
    updates: dict[str, dict[str, Any]] = {name: {} for name in groups}
    top: dict[str, Any] = {}
    for name, value in changes.items():
        if name.startswith("llm_") and name[4:] in LLMSettings.model_fields:
            updates["llm"][name[4:]] = value
            continue
        group = next((g for g, model in groups.items() if g != "llm" and name in type(model).model_fields), None)
        if group is None:
            if name not in Settings.model_fields:
                raise KeyError(f"no setting {name!r}")
            top[name] = value
        else:
            updates[group][name] = value
    for group, values in updates.items():
        if values:
            model = groups[group]
            top[group] = type(model).model_validate({**model.model_dump(), **values})
    return settings.model_copy(update=top)
