"""Loopback load test of `tagdecide serve` beside a naive FastAPI + pydantic endpoint.

Fits `thresholds` (with the taxonomy) on the built-in synthetic catalogue's training split
and starts, each in a subprocess on 127.0.0.1 (a free port), `tagdecide serve` and a naive
endpoint: FastAPI parsing the same JSON into pydantic models and deciding ``score >= 0.5``
per tag (``/v1/decide``: one pydantic object per track, a dict of scores each;
``/v2/models/model/infer``: the Open Inference Protocol's request as pydantic models, a flat
list of floats). Both servers get the same requests of the test split's scores (248 tags + 41
categories per track), in both protocols: 1-track and 1,000-track requests, from 1 and from 4
clients. Then, while one largest-allowed request (10,000 tracks, 105 MB) is decided, another
client asks ``GET /health`` every 20 ms: its latency says whether the server stays live
(beside the same probe with nothing else sent, for the machine's own noise).

The client is lean, so that it does not compete with the servers for the 2 cores more than
it must, and the same for both servers: each client is a process of its own (no interpreter
lock shared between clients) holding one keep-alive socket, and sends requests encoded in
advance (request line, headers and body in one buffer); it reads the status line, the
``Content-Length`` and the body, and checks the answer by counting bytes (one ``"tags"`` per
track, or the output's shape), without parsing JSON. Latency is from the first byte sent to
the last byte received.

Every scenario stops at its request count or its time cap; the servers are stopped at the
end; all traffic goes to 127.0.0.1. The load average is printed before and after, and the
1-minute load average at the end of each scenario beside its figures (``load``): the
machine is shared, and the figures move with it.

Usage: python benchmarks/service_load.py [--quick] [--single 2000] [--batch 40] [--cap 30]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

TAGDECIDE = shutil.which("tagdecide") or str(Path(sys.executable).parent / "tagdecide")
HOST = "127.0.0.1"
LARGEST = 10_000  # tracks: the service's default limit
MODEL = "model"  # the model's name in /v2/models/NAME, for both servers
TARGET_BATCH = 0.2  # 1,000-track p99 / the naive endpoint's p50
TARGET_SINGLE_MS = 2.0  # 1-track p99
TARGET_HEALTH_MS = 50.0  # GET /health's max while the largest request is decided


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0


# -- the naive endpoint --------------------------------------------------------------------


class NaiveTrack(BaseModel):
    id: str
    scores: dict[str, float]


class NaiveRequest(BaseModel):
    tracks: list[NaiveTrack]


class NaiveTrackOut(BaseModel):
    id: str
    tags: list[str]


class NaiveResponse(BaseModel):
    tracks: list[NaiveTrackOut]


class NaiveInput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[float]


class NaiveInferRequest(BaseModel):
    inputs: list[NaiveInput]


class NaiveOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[int]


class NaiveInferResponse(BaseModel):
    model_name: str
    outputs: list[NaiveOutput]


def serve_naive(port: int, tags_path: str) -> None:
    """The naive endpoint: pydantic objects per track (v1) or per tensor (v2), a constant cut."""
    import uvicorn

    tag_names: list[str] = json.loads(Path(tags_path).read_text())

    app = FastAPI()

    @app.post("/v1/decide", response_model=NaiveResponse)
    def decide(request: NaiveRequest) -> NaiveResponse:
        return NaiveResponse(
            tracks=[
                NaiveTrackOut(
                    id=track.id, tags=[tag for tag in tag_names if track.scores[tag] >= 0.5]
                )
                for track in request.tracks
            ]
        )

    @app.post(f"/v2/models/{MODEL}/infer", response_model=NaiveInferResponse)
    def infer(request: NaiveInferRequest) -> NaiveInferResponse:
        tensor = request.inputs[0]
        n_tracks, n_columns = tensor.shape
        matrix = np.array(tensor.data).reshape(n_tracks, n_columns)[:, : len(tag_names)]
        decisions = (matrix >= 0.5).astype(np.uint8)
        output = NaiveOutput(
            name="decisions",
            shape=list(decisions.shape),
            datatype="UINT8",
            data=decisions.ravel().tolist(),
        )
        return NaiveInferResponse(model_name=MODEL, outputs=[output])

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host=HOST, port=port, log_level="warning")


# -- requests and the lean client ------------------------------------------------------------


@dataclass
class Payload:
    """Requests encoded in advance, and what each answer must contain."""

    label: str
    protocol: str
    n_tracks: int
    requests: list[bytes]
    body_bytes: int

    def looks_right(self, answer: bytes) -> bool:
        if self.protocol == "v1":
            return answer.count(b'"tags"') == self.n_tracks
        return b'"shape":[%d,' % self.n_tracks in answer.replace(b" ", b"")


def _request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nhost: {HOST}\r\n"
    if method == "POST":
        head += f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def v1_bodies(names: list[str], matrix: np.ndarray, size: int, count: int) -> list[bytes]:
    """``count`` ``/v1/decide`` bodies of ``size`` tracks each, cycling through ``matrix``."""
    out = []
    for request in range(count):
        rows = [(request * size + offset) % len(matrix) for offset in range(size)]
        tracks = [
            {
                "id": f"r{request}-{offset}",
                "scores": dict(zip(names, matrix[row].tolist(), strict=True)),
            }
            for offset, row in enumerate(rows)
        ]
        out.append(json.dumps({"tracks": tracks}).encode())
    return out


def v2_bodies(matrix: np.ndarray, size: int, count: int) -> list[bytes]:
    """``count`` infer bodies of a ``[size, n_columns]`` FP64 tensor (flat data)."""
    out = []
    for request in range(count):
        rows = [(request * size + offset) % len(matrix) for offset in range(size)]
        tensor = {
            "name": "scores",
            "shape": [size, matrix.shape[1]],
            "datatype": "FP64",
            "data": matrix[rows].ravel().tolist(),
        }
        out.append(json.dumps({"inputs": [tensor]}).encode())
    return out


class LeanClient:
    """One keep-alive HTTP/1.1 connection: sends bytes, reads one answer by Content-Length."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection: socket.socket | None = None

    def _connect(self) -> socket.socket:
        connection = socket.create_connection((HOST, self.port), timeout=300)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def ask(self, request: bytes) -> tuple[int, bytes]:
        """``(status, body)``; a dropped connection is opened again for the next request."""
        if self.connection is None:
            self.connection = self._connect()
        try:
            self.connection.sendall(request)
            return self._answer(self.connection)
        except OSError:
            self.close()
            raise

    def _answer(self, connection: socket.socket) -> tuple[int, bytes]:
        data = b""
        while (end := data.find(b"\r\n\r\n")) < 0:
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the headers")
            data += chunk
        head = data[:end].lower()
        status = int(head[9:12])
        at = head.find(b"content-length:")
        if at < 0:
            raise ConnectionError("no content-length")
        length = int(head[at + 15 :].split(b"\r\n", 1)[0])
        body = bytearray(data[end + 4 :])
        while len(body) < length:
            chunk = connection.recv(max(65536, length - len(body)))
            if not chunk:
                raise ConnectionError("closed mid-body")
            body += chunk
        if b"connection: close" in head:
            self.close()
        return status, bytes(body)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _client_process(
    port: int, payload: Payload, indices: list[int], deadline: float, start_at: float, out: Any
) -> None:
    """One client: its share of the requests, one after the other; latencies to ``out``."""
    client = LeanClient(port)
    client.ask(_request("GET", "/health"))  # connected before the clock starts
    latencies, errors = [], 0
    while time.time() < start_at:
        time.sleep(0.001)
    for index in indices:
        if time.time() >= deadline:
            break
        started = time.perf_counter()
        try:
            status, answer = client.ask(payload.requests[index])
            ok = status == 200 and payload.looks_right(answer)
        except OSError:
            ok = False
        latencies.append(time.perf_counter() - started)
        errors += not ok
    client.close()
    out.send((latencies, errors))
    out.close()


def run_load(port: int, payload: Payload, clients: int, count: int, cap: float) -> Outcome:
    """``count`` requests split over ``clients`` processes, within ``cap`` seconds."""
    context = multiprocessing.get_context("fork")  # the payloads are shared, not copied
    start_at = time.time() + 0.3
    deadline = start_at + cap
    children = []
    for client in range(clients):
        indices = [index % len(payload.requests) for index in range(client, count, clients)]
        receiving, sending = context.Pipe(duplex=False)
        process = context.Process(
            target=_client_process,
            args=(port, payload, indices, deadline, start_at, sending),
        )
        process.start()
        sending.close()
        children.append((process, receiving))
    outcome = Outcome()
    for process, receiving in children:
        try:
            latencies, errors = receiving.recv()
        except EOFError:
            latencies, errors = [], 1
        outcome.latencies += latencies
        outcome.errors += errors
        process.join()
    outcome.seconds = min(time.time(), deadline) - start_at
    return outcome


def _post_largest(port: int, request: bytes, out: Any) -> None:
    started = time.perf_counter()
    try:
        status, answer = LeanClient(port).ask(request)
        ok = status == 200 and answer.count(b'"tags"') == LARGEST
    except OSError:
        ok = False
    out.send((time.perf_counter() - started, ok))
    out.close()


def health_probe(port: int, until: Any, count: int | None = None) -> Outcome:
    """``GET /health`` every 20 ms, ``count`` times or while ``until()`` is true."""
    outcome = Outcome()
    client = LeanClient(port)
    request = _request("GET", "/health")
    client.ask(request)
    while (count is None and until()) or (count is not None and len(outcome.latencies) < count):
        started = time.perf_counter()
        try:
            status, answer = client.ask(request)
            ok = status == 200 and answer == b'{"status":"ok"}'
        except OSError:
            ok = False
        outcome.latencies.append(time.perf_counter() - started)
        outcome.errors += not ok
        time.sleep(0.02)
    client.close()
    return outcome


def health_during(port: int, largest: bytes) -> tuple[Outcome, Outcome]:
    """The largest request's outcome (sent by another process), and ``/health`` meanwhile."""
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    sender = context.Process(target=_post_largest, args=(port, largest, sending))
    sender.start()
    sending.close()
    health = health_probe(port, sender.is_alive)
    big = Outcome()
    try:
        seconds, ok = receiving.recv()
        big.latencies.append(seconds)
        big.errors += not ok
    except EOFError:
        big.errors += 1
    sender.join()
    return big, health


# -- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def start(command: list[str], port: int, seconds: float = 60.0) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"a server stopped: {server.stderr.read().decode()[-800:]}")  # type: ignore[union-attr]
        try:
            if LeanClient(port).ask(_request("GET", "/health"))[0] == 200:
                time.sleep(1.0)  # the worker process, spawned at start, gets loaded
                return server
        except OSError:
            time.sleep(0.1)
    stop(server)
    raise SystemExit(f"a server did not answer within {seconds:.0f} s")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=15)


def percentiles(outcome: Outcome) -> tuple[float, float, float]:
    if not outcome.latencies:
        return float("nan"), float("nan"), float("nan")
    latencies = np.array(outcome.latencies) * 1000
    p50, p99 = np.percentile(latencies, [50, 99])
    return float(p50), float(p99), float(latencies.max())


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="A short run (about a minute).")
    parser.add_argument("--single", type=int, default=None, help="1-track requests per scenario.")
    parser.add_argument(
        "--batch", type=int, default=None, help="1,000-track requests per scenario."
    )
    parser.add_argument("--cap", type=float, default=30.0, help="Time cap per scenario, seconds.")
    parser.add_argument(
        "--serve-naive", nargs=2, metavar=("PORT", "TAGS_JSON"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve_naive:
        serve_naive(int(args.serve_naive[0]), args.serve_naive[1])
        return
    single = args.single or (300 if args.quick else 2000)
    batch = args.batch or (8 if args.quick else 40)
    cap = min(args.cap, 10.0) if args.quick else args.cap
    started = time.monotonic()
    load_before = load_average()

    import tagdecide
    from tagdecide.demo import split_scores
    from tagdecide.synth import make_catalogue

    catalogue = make_catalogue(seed=0)
    train = split_scores(catalogue, catalogue.train)
    model = tagdecide.make_strategy("thresholds")
    model.fit(train, catalogue.train.truth, taxonomy=catalogue.taxonomy)
    names = [*catalogue.taxonomy.tags, *catalogue.taxonomy.categories]
    test = np.hstack([catalogue.test.tag_scores, catalogue.test.category_scores])
    infer_path = f"/v2/models/{MODEL}/infer"
    # The infer tensor's columns: the model's input columns (its metadata's), for both servers.
    wanted = [*model.tag_names_, *model.required_categories]
    input_columns = [names.index(name) for name in wanted]
    payloads: list[tuple[Payload, int]] = []
    for size, count in ((1, single), (1000, batch)):
        n_bodies = min(count, 200 if size == 1 else 10)
        for protocol, path, encoded in (
            ("v1", "/v1/decide", v1_bodies(names, test, size, n_bodies)),
            ("v2", infer_path, v2_bodies(test[:, input_columns], size, n_bodies)),
        ):
            requests = [_request("POST", path, body) for body in encoded]
            label = f"{protocol} {'1 track' if size == 1 else '1,000 tracks'}"
            payloads.append((Payload(label, protocol, size, requests, len(encoded[0])), count))
    largest_body = v1_bodies(names, test, LARGEST, 1)[0]
    largest = _request("POST", "/v1/decide", largest_body)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        model_path = Path(folder) / f"{MODEL}.json"
        tagdecide.save_model(model, model_path)
        tags_path = Path(folder) / "tags.json"
        tags_path.write_text(json.dumps(list(catalogue.taxonomy.tags)))
        serve = [TAGDECIDE, "serve", str(model_path), "--host", HOST, "--port", "{port}"]
        servers = {
            "naive": [sys.executable, __file__, "--serve-naive", "{port}", str(tags_path)],
            "tagdecide": serve,
        }
        for server_name, template in servers.items():
            port = free_port()
            server = start([part.replace("{port}", str(port)) for part in template], port)
            try:
                for payload, _ in payloads:  # warm-up
                    run_load(port, payload, 1, 2 if payload.n_tracks > 1 else 50, cap)
                for payload, count in payloads:
                    for clients in (1, 4):
                        outcome = run_load(port, payload, clients, count, cap)
                        results.append(
                            (
                                server_name,
                                payload.label,
                                clients,
                                payload.body_bytes,
                                outcome,
                                os.getloadavg()[0],
                            )
                        )
                idle = health_probe(port, None, count=50)
                idle_load = os.getloadavg()[0]
                big, health = health_during(port, largest)
                load = os.getloadavg()[0]
                results.append((server_name, "GET /health idle", 1, 0, idle, idle_load))
                results.append((server_name, "v1 10,000 tracks", 1, len(largest_body), big, load))
                results.append((server_name, "GET /health meanwhile", 1, 0, health, load))
            finally:
                stop(server)

    print(
        f"loopback, model 'thresholds' ({len(catalogue.taxonomy.tags)} tags, "
        f"{len(catalogue.taxonomy.categories)} categories), {sys.platform}, "
        "tagdecide serve (default settings)"
    )
    print(f"load average before: {load_before}; after: {load_average()}")
    header = (
        f"{'server':<10} {'request':<22} {'clients':>7} {'body MB':>8} {'requests':>9} "
        f"{'errors':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'load':>5}"
    )
    print(header)
    print("-" * len(header))
    total_errors = 0
    p50s: dict[tuple[str, str, int], float] = {}
    p99s: dict[tuple[str, str, int], float] = {}
    maxima: dict[tuple[str, str, int], float] = {}
    for server_name, label, clients, body_bytes, outcome, load in results:
        p50, p99, most = percentiles(outcome)
        count = len(outcome.latencies)
        rate = count / outcome.seconds if outcome.seconds else float("nan")
        body_mb = body_bytes / 1e6
        print(
            f"{server_name:<10} {label:<22} {clients:>7} {body_mb:>8.2f} {count:>9} "
            f"{outcome.errors:>7} {rate:>8.1f} {p50:>8.1f} {p99:>8.1f} {most:>8.1f} {load:>5.2f}"
        )
        total_errors += outcome.errors
        p50s[server_name, label, clients] = p50
        p99s[server_name, label, clients] = p99
        maxima[server_name, label, clients] = most
    print("targets (tagdecide):")
    met = []
    for protocol in ("v1", "v2"):
        for clients in (1, 4):
            key = (f"{protocol} 1,000 tracks", clients)
            ratio = p99s[("tagdecide", *key)] / p50s[("naive", *key)]
            met.append(ratio <= TARGET_BATCH)
            print(
                f"  {protocol} 1,000 tracks, {clients} client(s): p99 / naive p50 = {ratio:.3f} "
                f"(target <= {TARGET_BATCH}) {'met' if met[-1] else 'MISSED'}"
            )
    for protocol in ("v1", "v2"):
        for clients in (1, 4):
            p99 = p99s["tagdecide", f"{protocol} 1 track", clients]
            met.append(p99 <= TARGET_SINGLE_MS)
            print(
                f"  {protocol} 1 track, {clients} client(s): p99 = {p99:.2f} ms "
                f"(target <= {TARGET_SINGLE_MS}) {'met' if met[-1] else 'MISSED'}"
            )
    most = maxima["tagdecide", "GET /health meanwhile", 1]
    met.append(most < TARGET_HEALTH_MS)
    print(
        f"  GET /health during the 10,000-track request: max = {most:.1f} ms "
        f"(target < {TARGET_HEALTH_MS:.0f}) {'met' if met[-1] else 'MISSED'}"
    )
    print(f"  errors: {total_errors} (target 0) {'met' if not total_errors else 'MISSED'}")
    print(f"{sum(met) + (not total_errors)} of {len(met) + 1} targets met")
    print(f"total wall time {time.monotonic() - started:.1f} s (data and model included)")
    if total_errors:
        raise SystemExit(f"{total_errors} requests failed")


if __name__ == "__main__":
    main()
