"""A connection the server keeps alive stays usable for as long as a client would reuse it."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from shipyard.cli.server import RunningServer


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> bytes:
    """The status line of the answer to one health request on this connection (b"" once it closed)."""
    writer.write(f"GET /api/health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    except asyncio.IncompleteReadError:
        return b""
    status, *headers = head.decode("latin-1").split("\r\n")
    length = next(int(h.split(":")[1]) for h in headers if h.lower().startswith("content-length:"))
    await reader.readexactly(length)
    return status.encode()


async def test_an_idle_connection_outlasts_httpxs_keep_alive_expiry(server: RunningServer) -> None:
    """httpx (our CLI's client, and most Python clients) reuses an idle connection for up to 5 s.
    A server that closes it at 5 s races the client's next request, which is then lost unanswered."""
    url = urlsplit(server.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        assert (await _answer(reader, writer, url.netloc)).startswith(b"HTTP/1.1 200")
        await asyncio.sleep(5.5)  # past httpx's keepalive_expiry, and past uvicorn's default timeout
        assert (await _answer(reader, writer, url.netloc)).startswith(b"HTTP/1.1 200")
    finally:
        writer.close()
