"""The embedded Temporal dev server starts even when its chosen port is taken before it binds."""

from __future__ import annotations

import socket

from temporalio.client import Client

from shipyard.engine.devserver import DevServer


async def test_a_port_taken_meanwhile_is_replaced_by_a_free_one() -> None:
    server = DevServer()
    taken = server.port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen()
        await server.start()
        try:
            assert server.port != taken
            await Client.connect(server.address)  # it answers on the new port
        finally:
            await server.stop()
