"""Output that arrives in chunks (from a container or a remote sandbox), made whole lines."""

from __future__ import annotations

import codecs

from shipyard.sandboxes.base import LineCallback

STREAMS = ("stdout", "stderr")


class Lines:
    """Keeps each stream's text for the result and hands every whole line to `on_line` as it
    completes; `close()` hands over what is left without a newline."""

    def __init__(self, on_line: LineCallback | None) -> None:
        self._on_line = on_line
        self._kept: dict[str, list[str]] = {stream: [] for stream in STREAMS}
        self._partial = dict.fromkeys(STREAMS, "")
        # Bytes may split a UTF-8 character between chunks: decode each stream incrementally.
        self._decoders = {stream: codecs.getincrementaldecoder("utf-8")("replace") for stream in STREAMS}

    async def feed(self, stream: str, chunk: str | bytes) -> None:
        text = self._decoders[stream].decode(chunk) if isinstance(chunk, bytes) else chunk
        *whole, self._partial[stream] = (self._partial[stream] + text).split("\n")
        for line in whole:
            await self._emit(stream, line, "\n")

    async def close(self) -> None:
        for stream in STREAMS:
            rest, self._partial[stream] = self._partial[stream], ""
            rest += self._decoders[stream].decode(b"", final=True)
            if rest:
                await self._emit(stream, rest, "")

    def text(self, stream: str) -> str:
        return "".join(self._kept[stream])

    async def _emit(self, stream: str, line: str, newline: str) -> None:
        self._kept[stream].append(line + newline)
        if self._on_line is not None:
            await self._on_line(stream, line)
