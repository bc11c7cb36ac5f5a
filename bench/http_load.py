"""A cheap HTTP load generator for the serving benchmark, run as a process of its own.

A load generator must not be what limits the server it measures. This one, unlike Tornado's
``AsyncHTTPClient`` in the benchmark's own process, costs the server's CPUs little per request:

- the request bytes (request line, headers with the token, body) are built once, before timing;
- each client holds one keep-alive HTTP/1.1 connection (a raw asyncio stream) for the whole run;
- it reads each answer by its ``Content-Length`` and checks only the status line, without parsing
  the JSON (a first answer per client is checked in full beforehand: 200 and the answer's key);
- it runs in a separate process, so its Python never holds the server's interpreter lock.

Usage (the benchmark runs it; one JSON object is printed)::

    python bench/http_load.py --port 8888 --path /lepton-lab/api/v1/models/m:predict \\
        --token T --bodies bodies.txt --clients 32 --requests 20 [--warm 2]

``bodies.txt`` holds one JSON body per line; client ``k``'s ``i``-th request sends body
``(k * requests + i) % len(bodies)``. Output: ``{"seconds", "requests", "errors",
"latencies_ms"}`` (every request's latency, the clients together).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time


def request_bytes(host: str, port: int, path: str, token: str, body: bytes) -> bytes:
    """One complete keep-alive POST request with ``body``."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: token {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status code and body of the next answer on a keep-alive connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length) if length else b""


async def run(args: argparse.Namespace) -> dict[str, object]:
    with open(args.bodies, "rb") as file:
        bodies = [line.rstrip(b"\n") for line in file if line.strip()]
    requests = [request_bytes(args.host, args.port, args.path, args.token, body) for body in bodies]
    connections = [await asyncio.open_connection(args.host, args.port) for _ in range(args.clients)]
    for k, (reader, writer) in enumerate(connections):  # warm, and a full check of one answer each
        for i in range(args.warm):
            writer.write(requests[(k + i) % len(requests)])
            status, answer = await read_answer(reader)
            if status != args.expect or (
                args.expect == 200 and not (b'"predictions"' in answer or b'"outputs"' in answer)
            ):
                raise SystemExit(f"warm-up request answered {status}: {answer[:300]!r}")
    latencies: list[float] = []
    errors = 0

    async def client(k: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal errors
        for i in range(args.requests):
            start = time.perf_counter()
            writer.write(requests[(k * args.requests + i) % len(requests)])
            status, _ = await read_answer(reader)
            latencies.append((time.perf_counter() - start) * 1000)
            errors += status != args.expect

    start = time.perf_counter()
    await asyncio.gather(*(client(k, r, w) for k, (r, w) in enumerate(connections)))
    seconds = time.perf_counter() - start
    for _, writer in connections:
        writer.close()
    return {
        "seconds": seconds,
        "requests": args.clients * args.requests,
        "errors": errors,
        "latencies_ms": latencies,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--bodies", required=True, help="file with one JSON body per line")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=20, help="requests per client")
    parser.add_argument("--warm", type=int, default=2, help="untimed requests per client first")
    parser.add_argument(
        "--expect",
        type=int,
        default=200,
        help="the status every answer must have (404: the route's own cost)",
    )
    args = parser.parse_args()
    json.dump(asyncio.run(run(args)), sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
