"""The socket `shipyard serve` listens on: answers on kept-alive connections go out at once."""

from __future__ import annotations

import asyncio
import socket

from shipyard.cli.server import _listen


async def test_accepted_connections_have_nagle_off() -> None:
    """asyncio turns Nagle's algorithm off only on sockets that say they are TCP; with it on, a
    response written in two parts (headers, then body) waited for the client's delayed ACK."""
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    listener = _listen("127.0.0.1", 0)
    server = await asyncio.start_server(accepted, sock=listener)
    async with server:
        _, writer = await asyncio.open_connection("127.0.0.1", listener.getsockname()[1])
        assert await asyncio.wait_for(seen, 10) != 0
        writer.close()
