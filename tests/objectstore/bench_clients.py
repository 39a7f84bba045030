"""obstore against s3fs on a local S3 server: the measurement behind flexsync.storage.object_store's choice.

Run by hand (not collected by pytest): ``.venv/bin/python tests/objectstore/bench_clients.py``. It
starts moto's S3 server on 127.0.0.1 (a free port), writes and reads 300 objects of 8 KiB one at a
time and in batches, and one 32 MiB object, with each client; prints seconds. s3fs is optional
(skipped with a line when it is not installed).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import urllib.request
from collections.abc import Callable

N_SMALL, SMALL, BIG = 300, 8192, 32 << 20


def _timed(label: str, fn: Callable[[], object]) -> None:
    started = time.perf_counter()
    fn()
    print(f"{label:<34} {time.perf_counter() - started:6.3f} s")


def _obstore(bucket: str, small: list[bytes], big: bytes) -> None:
    import obstore
    from obstore.store import S3Store

    store = S3Store(bucket, client_options={"allow_http": True})

    async def batch_put() -> None:
        gate = asyncio.Semaphore(16)

        async def one(i: int, data: bytes) -> None:
            async with gate:
                await obstore.put_async(store, f"o2/{i}", data)

        await asyncio.gather(*(one(i, d) for i, d in enumerate(small)))

    async def batch_get() -> None:
        gate = asyncio.Semaphore(16)

        async def one(i: int) -> bytes:
            async with gate:
                return bytes(await (await obstore.get_async(store, f"o2/{i}")).bytes_async())

        await asyncio.gather(*(one(i) for i in range(len(small))))

    _timed("obstore put 300 x 8 KiB, serial", lambda: [obstore.put(store, f"o1/{i}", d) for i, d in enumerate(small)])
    _timed("obstore put 300 x 8 KiB, 16 async", lambda: asyncio.run(batch_put()))
    _timed("obstore get 300 x 8 KiB, serial", lambda: [obstore.get(store, f"o1/{i}").bytes() for i in range(N_SMALL)])
    _timed("obstore get 300 x 8 KiB, 16 async", lambda: asyncio.run(batch_get()))
    _timed("obstore put 32 MiB", lambda: obstore.put(store, "obig", big))
    _timed("obstore get 32 MiB", lambda: obstore.get(store, "obig").bytes())


def _s3fs(bucket: str, endpoint: str, small: list[bytes], big: bytes) -> None:
    try:
        import s3fs
    except ImportError:
        print("s3fs not installed: skipped")
        return
    fs = s3fs.S3FileSystem(endpoint_url=endpoint)
    _timed("s3fs put 300 x 8 KiB, serial", lambda: [fs.pipe_file(f"{bucket}/s1/{i}", d) for i, d in enumerate(small)])
    _timed("s3fs put 300 x 8 KiB, batch", lambda: fs.pipe({f"{bucket}/s2/{i}": d for i, d in enumerate(small)}))
    _timed("s3fs get 300 x 8 KiB, serial", lambda: [fs.cat_file(f"{bucket}/s1/{i}") for i in range(N_SMALL)])
    _timed("s3fs get 300 x 8 KiB, batch", lambda: fs.cat([f"{bucket}/s2/{i}" for i in range(N_SMALL)]))
    _timed("s3fs put 32 MiB", lambda: fs.pipe_file(f"{bucket}/sbig", big))
    _timed("s3fs get 32 MiB", lambda: fs.cat_file(f"{bucket}/sbig"))


def main() -> None:
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_REGION="us-east-1",
        )
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/bench", method="PUT"), timeout=10).read()
        small = [os.urandom(SMALL) for _ in range(N_SMALL)]
        big = os.urandom(BIG)
        _obstore("bench", small, big)
        _s3fs("bench", endpoint, small, big)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
