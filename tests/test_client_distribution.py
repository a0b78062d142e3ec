"""The client is a distribution of its own (clients/python): httpx is its only dependency, and importing it (or the
qa.client shim) loads nothing of the server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import qa_client

import qa.client
from tests.support import ROOT

CLIENT = ROOT / "clients" / "python"
HEAVY = ("torch", "faiss", "jieba", "fastapi", "numpy", "uvicorn", "pydantic", "sentence_transformers")
# pip's words for "the package index cannot be reached" (and only those: any other failure fails the test).
NETWORK_ERROR = re.compile(
    r"NewConnectionError|ConnectTimeout|ReadTimeout|Max retries exceeded|Temporary failure in name resolution"
    r"|Name or service not known|Network is unreachable|Connection refused|Could not fetch URL"
    r"|ProxyError|SSLError"
)


def run(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def no_heavy_modules(statement: str) -> str:
    """A script that runs statement, then fails if any server dependency got imported."""
    return (
        f"import sys\n{statement}\n"
        f"heavy = {set(HEAVY)!r} & {{m.split('.')[0] for m in sys.modules}}\n"
        "assert not heavy, sorted(heavy)\n"
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of clients/python, built from a copy (so that the build leaves nothing in the repository)."""
    work = tmp_path_factory.mktemp("client-wheel")
    source = work / "src"
    shutil.copytree(CLIENT, source, ignore=shutil.ignore_patterns("*.egg-info", "build", "dist", "__pycache__"))
    out = work / "dist"
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", out, source, cwd=work)
    assert built.returncode == 0, built.stdout + built.stderr
    (found,) = out.glob("article_qa_client-0.1.0-*.whl")
    return found


def metadata(wheel: Path) -> tuple[dict[str, list[str]], list[str]]:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(z.read(meta).decode())
    fields: dict[str, list[str]] = {}
    for key, value in message.items():
        fields.setdefault(key, []).append(value)
    return fields, names


def test_the_wheel_requires_httpx_only(wheel: Path) -> None:
    fields, names = metadata(wheel)
    assert fields["Name"] == ["article-qa-client"] and fields["Version"] == ["0.1.0"]
    assert fields["Requires-Python"] == [">=3.11"]
    assert fields["Requires-Dist"] == ["httpx>=0.27"]
    assert "Provides-Extra" not in fields
    package = sorted(n for n in names if ".dist-info/" not in n)
    assert package == ["qa_client/__init__.py", "qa_client/py.typed"]


@pytest.mark.parametrize("module", ["qa_client", "qa.client"])
def test_importing_the_client_loads_no_server_dependency(module: str) -> None:
    checked = run(sys.executable, "-c", no_heavy_modules(f"import {module}"), cwd=ROOT)
    assert checked.returncode == 0, checked.stderr


def test_the_shim_re_exports_the_distribution() -> None:
    assert qa.client.__all__ == qa_client.__all__
    for name in qa_client.__all__:
        assert getattr(qa.client, name) is getattr(qa_client, name), name
        value = getattr(qa_client, name)
        if isinstance(value, type):
            assert value.__doc__ and value.__doc__.strip(), name
    assert qa_client.__version__ == "0.1.0"


def test_the_shim_says_how_to_install_a_missing_client(tmp_path: Path) -> None:
    script = "import sys\nsys.modules['qa_client'] = None  # as if not installed\nimport qa.client\n"
    failed = run(sys.executable, "-c", script, cwd=ROOT)
    assert failed.returncode != 0
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError:") and "pip install ./clients/python" in last, failed.stderr


def test_a_fresh_virtualenv_gets_the_client_and_httpx_only(wheel: Path, tmp_path: Path, live_url: str) -> None:
    venv = tmp_path / "venv"
    made = run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    python = venv / "bin" / "python"
    installed = run(python, "-m", "pip", "install", wheel, cwd=tmp_path)
    if installed.returncode != 0 and NETWORK_ERROR.search(installed.stdout + installed.stderr):
        pytest.skip(f"pip cannot reach the package index to fetch httpx:\n{installed.stderr[-2000:]}")
    assert installed.returncode == 0, installed.stdout + installed.stderr

    listed = run(python, "-m", "pip", "list", "--format=json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    dists = {d["name"].lower().replace("_", "-") for d in json.loads(listed.stdout)}
    assert {"article-qa-client", "httpx"} <= dists
    # httpx's own dependencies and the venv's tools; nothing of the server.
    allowed = {"article-qa-client", "httpx", "httpcore", "h11", "anyio", "idna", "certifi", "sniffio"}
    allowed |= {"typing-extensions", "exceptiongroup", "pip", "setuptools", "wheel"}
    assert dists <= allowed, sorted(dists - allowed)

    # The installed client (not the repository's copy: the script runs outside it) answers the real server.
    script = no_heavy_modules(
        "import qa_client\n"
        "assert qa_client.__file__.startswith(sys.prefix), qa_client.__file__\n"
        "try:\n"
        "    import qa\n"
        "except ImportError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('the server package is importable in the fresh venv')\n"
        f"with qa_client.QAClient({live_url!r}) as c:\n"
        "    assert c.health().ready\n"
        "    r = c.ask('歐盟第19輪制裁禁止了什麼進入歐洲市場？')\n"
        "    assert r.citations and not r.abstained, r\n"
    )
    used = run(python, "-c", script, cwd=tmp_path)
    assert used.returncode == 0, used.stdout + used.stderr
