"""Writes made in one turn of the event loop leave as one (a response's head and body in one segment), and nothing
held is lost, reordered or late: it goes at the end of the turn, or before the connection closes."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

import uvicorn

from qa.config import Settings
from qa.server.coalesce import CoalescingTransport
from qa.server.protocol import server_config
from qa.server.state import Pipeline
from qa.wiring import build_app
from tests.support import free_port


class Recording(asyncio.Transport):
    """A transport that records what is written to it, and when it is closed or aborted."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.events.append(bytes(data))

    def close(self) -> None:
        self.events.append("close")

    def abort(self) -> None:
        self.events.append("abort")

    def is_closing(self) -> bool:
        return "close" in self.events

    def get_write_buffer_size(self) -> int:
        return 0


def test_writes_in_one_turn_leave_as_one_and_the_turn_end_flushes_them() -> None:
    async def run() -> list[Any]:
        inner = Recording()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())
        buffer = bytearray(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(buffer)
        buffer[:] = b"reused by the caller"  # what was written is a copy
        transport.write(b'{"a": 1}')
        transport.write(b"")
        assert inner.events == [] and transport.get_write_buffer_size() == 27
        await asyncio.sleep(0)  # the turn ends
        transport.writelines([b"data: 1\n\n", memoryview(b"data: 2\n\n")])
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return inner.events

    assert asyncio.run(run()) == [b'HTTP/1.1 200 OK\r\n\r\n{"a": 1}', b"data: 1\n\ndata: 2\n\n"]


def test_what_is_held_is_written_before_closing_and_dropped_on_abort() -> None:
    async def run() -> tuple[list[Any], list[Any]]:
        loop = asyncio.get_running_loop()
        closed, aborted = Recording(), Recording()
        first, second = CoalescingTransport(closed, loop), CoalescingTransport(aborted, loop)
        first.write(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
        first.close()
        second.write(b"half a reply")
        second.abort()
        assert first.is_closing()
        await asyncio.sleep(0)
        return closed.events, aborted.events

    closed, aborted = asyncio.run(run())
    assert closed == [b"HTTP/1.1 408 Request Timeout\r\n\r\n", "close"]
    assert aborted == ["abort"]


def test_qa_serve_answers_pipelined_requests_whole_and_in_order(settings: Settings, pipeline: Pipeline) -> None:
    config = server_config(build_app(settings, pipeline=pipeline), settings, host="127.0.0.1", port=free_port())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.02)
        body = json.dumps({"question": "烏克蘭打算購買多少架戰鬥機？"}, ensure_ascii=False).encode()
        ask = b"POST /ask HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(
            body
        )
        with socket.create_connection(("127.0.0.1", config.port), timeout=30) as sock:
            sock.sendall(ask + body + b"GET /live HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        head, _, rest = received.partition(b"\r\n\r\n")
        fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
        length = int(fields[b"content-length"])
        assert head.startswith(b"HTTP/1.1 200 OK") and json.loads(rest[:length])["citations"]
        assert rest[length:].startswith(b"HTTP/1.1 200 OK")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
