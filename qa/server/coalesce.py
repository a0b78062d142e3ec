"""A transport whose writes made in one turn of the event loop go out as one.

uvicorn writes a response's head and its body separately: two TCP segments, and a client woken twice (on a loaded
machine, preempted between them). Held until the turn ends, a JSON reply's head and body go out in one write; a
streamed body's head still goes out at once, at the end of the turn it was written in. Measured on one article
(POST /ask over loopback on 2 cores, five alternating runs of 200 questions each): p50 3.81 -> 3.57 ms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


class CoalescingTransport(asyncio.Transport):
    """Wraps a transport: writes are held until the end of the loop turn (or until it closes), then written as one."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Hold data until the end of this turn of the loop."""
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))  # a copy: the caller may reuse its buffer

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        """Hold each piece."""
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Write what is held, as one."""
        if self._held:
            data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
            self._held.clear()
            self._transport.write(data)

    def close(self) -> None:
        """Write what is held, then close."""
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        """Write what is held, then close the write end."""
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        """Drop what is held and close at once."""
        self._held.clear()
        self._transport.abort()

    def can_write_eof(self) -> bool:
        """Whether the wrapped transport can close its write end."""
        return self._transport.can_write_eof()

    def get_write_buffer_size(self) -> int:
        """Bytes held here and in the wrapped transport's buffer."""
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """The wrapped transport's flow-control limits."""
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the wrapped transport's flow-control limits."""
        self._transport.set_write_buffer_limits(high, low)

    def is_closing(self) -> bool:
        """Whether the wrapped transport is closing or closed."""
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The wrapped transport's socket, peer name and so on."""
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        """Stop reading from the wrapped transport."""
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        """Read from the wrapped transport again."""
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        """Whether the wrapped transport is reading."""
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Hand the wrapped transport's data to another protocol (a WebSocket upgrade)."""
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        """The protocol the wrapped transport's data goes to."""
        return self._transport.get_protocol()
