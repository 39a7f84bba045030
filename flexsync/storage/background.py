"""Append to a Zarr array from a worker thread, so compression and I/O overlap with decoding.

Decoding (FFmpeg threads) and chunk encoding (zstd, which releases the GIL) then share the two
cores instead of taking turns. Blocks are copied into a small pool of reused buffers because
the producer (``iter_frames``) overwrites its own buffer for the next chunk.
"""

from __future__ import annotations

import queue
import threading

import numpy as np

from flexsync.storage.zarr_io import ChunkedAppender

__all__ = ["BackgroundAppender"]

_STOP = object()


class BackgroundAppender:
    """A ``ChunkedAppender`` fed through a bounded queue; use as a context manager.

    ``depth`` buffers of ``block_rows`` rows are in flight at most, so memory stays at
    ``depth`` chunks whatever the video length. An error in the worker is raised in the
    producer at its next ``append`` or at ``close``.
    """

    def __init__(self, appender: ChunkedAppender, *, block_rows: int, depth: int = 3) -> None:
        self._appender = appender
        shape = (block_rows, *appender.array.shape[1:])
        self._free: queue.Queue[np.ndarray] = queue.Queue()
        for _ in range(depth):
            self._free.put(np.empty(shape, dtype=appender.array.dtype))
        self._work: queue.Queue[object] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="zarr-append", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._work.get()
            if item is _STOP:
                return
            buffer, n = item  # type: ignore[misc]
            try:
                if self._error is None:
                    self._appender.append(buffer[:n])
            except BaseException as error:  # handed to the producer, never lost
                self._error = error
            finally:
                self._free.put(buffer)

    def borrow(self) -> np.ndarray:
        """A free buffer of ``block_rows`` rows to fill in place; hand it back with ``submit``.

        Filling the writer's own buffer saves the copy ``append`` makes. Blocks while all
        buffers are in flight (that is the back-pressure that bounds memory).
        """
        if self._error is not None:
            raise self._error
        return self._free.get()

    def submit(self, rows: np.ndarray) -> None:
        """Queue the first rows of a borrowed buffer (``rows`` is ``buffer[:n]``) for writing."""
        buffer = rows if rows.base is None else rows.base
        if self._error is not None:
            self._free.put(buffer)
            raise self._error
        self._work.put((buffer, rows.shape[0]))

    def append(self, block: np.ndarray) -> None:
        if self._error is not None:
            raise self._error
        buffer = self._free.get()
        n = block.shape[0]
        np.copyto(buffer[:n], block)
        self._work.put((buffer, n))

    def close(self) -> int:
        self._work.put(_STOP)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._appender.close()

    def __enter__(self) -> BackgroundAppender:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._work.put(_STOP)
            self._thread.join()
