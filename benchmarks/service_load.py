"""Loopback load test of `tagdecide serve` beside a naive FastAPI + pydantic endpoint.

Fits `thresholds` (with the taxonomy) on the built-in synthetic catalogue's training split
and starts, each in a subprocess on 127.0.0.1 (a free port), `tagdecide serve` and a naive
endpoint: FastAPI parsing the same JSON into pydantic models (one per track, a dict of
scores each) and deciding ``score >= 0.5`` per tag. Both get the same requests of the test
split's scores (248 tags + 41 categories per track): 1-track and 1,000-track requests, from
1 and from 4 client threads. Latency is measured per request by the client (send to full
answer). Then, while one largest-allowed request (10,000 tracks) is decided, another client
asks ``GET /health`` every 20 ms: its latency says whether the server stays live (beside the
same probe with nothing else sent, for the machine's own noise).

Every scenario stops at its request count or its time cap; the servers are stopped at the
end; all traffic goes to 127.0.0.1.

Usage: python benchmarks/service_load.py [--single 1000] [--batch 30] [--cap 240]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

TAGDECIDE = shutil.which("tagdecide") or str(Path(sys.executable).parent / "tagdecide")
HOST = "127.0.0.1"
LARGEST = 10_000  # tracks: the service's default limit


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0


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


def naive_app(tag_names: list[str]) -> FastAPI:
    """The naive endpoint: pydantic objects per track, a constant cut."""
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

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve_naive(port: int, tags_path: str) -> None:
    import uvicorn

    tag_names = json.loads(Path(tags_path).read_text())
    uvicorn.run(naive_app(tag_names), host=HOST, port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def bodies(names: list[str], matrix: np.ndarray, size: int, count: int, tag: str) -> list[bytes]:
    """``count`` JSON bodies of ``size`` tracks each, cycling through the rows of ``matrix``."""
    out = []
    for request in range(count):
        rows = [(request * size + offset) % len(matrix) for offset in range(size)]
        tracks = [
            {
                "id": f"{tag}{request}-{offset}",
                "scores": dict(zip(names, matrix[row].tolist(), strict=True)),
            }
            for offset, row in enumerate(rows)
        ]
        out.append(json.dumps({"tracks": tracks}).encode())
    return out


def wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit("a server stopped before answering")
            try:
                if client.get(f"{url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise SystemExit(f"a server did not answer within {seconds:.0f} s")


def run_load(url: str, payloads: list[bytes], n_tracks: int, clients: int, cap: float) -> Outcome:
    """Send every payload once, from ``clients`` threads, within ``cap`` seconds."""
    outcome = Outcome()
    lock = threading.Lock()
    next_index = iter(range(len(payloads)))
    deadline = time.monotonic() + cap
    headers = {"content-type": "application/json"}

    def client_loop() -> None:
        with httpx.Client(base_url=url, timeout=60.0) as client:
            while time.monotonic() < deadline:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                started = time.perf_counter()
                try:
                    response = client.post("/v1/decide", content=payloads[index], headers=headers)
                    ok = response.status_code == 200 and len(response.json()["tracks"]) == n_tracks
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - started
                with lock:
                    outcome.latencies.append(elapsed)
                    outcome.errors += not ok

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.seconds = time.perf_counter() - started
    return outcome


def post_file(url: str, body_path: str, n_tracks: int) -> None:
    """Child process of :func:`health_during`: post one body, print the outcome as JSON."""
    body = Path(body_path).read_bytes()
    started = time.perf_counter()
    try:
        with httpx.Client(base_url=url, timeout=300.0) as client:
            response = client.post(
                "/v1/decide", content=body, headers={"content-type": "application/json"}
            )
        ok = response.status_code == 200 and len(response.json()["tracks"]) == n_tracks
    except httpx.HTTPError:
        ok = False
    print(json.dumps({"seconds": time.perf_counter() - started, "ok": ok}))


def health_during(url: str, body_path: Path, n_tracks: int) -> tuple[Outcome, Outcome]:
    """The large request's outcome, and ``GET /health``'s every 20 ms while it runs.

    The large request is sent by another process, so that its client's work (building and
    sending 100 MB, reading the answer) cannot delay the probe's client.
    """
    big, health = Outcome(), Outcome()
    command = [sys.executable, __file__, "--post", url, str(body_path), str(n_tracks)]
    with httpx.Client(base_url=url, timeout=60.0) as client:
        client.get("/health")  # connect first: the probe measures the server, not the connect
        sender = subprocess.Popen(command, stdout=subprocess.PIPE)
        while sender.poll() is None:
            started = time.perf_counter()
            try:
                ok = client.get("/health").status_code == 200
            except httpx.HTTPError:
                ok = False
            health.latencies.append(time.perf_counter() - started)
            health.errors += not ok
            time.sleep(0.02)
    output, _ = sender.communicate()
    try:
        posted = json.loads(output)
        big.latencies.append(posted["seconds"])
        big.errors += not posted["ok"]
    except (ValueError, KeyError):
        big.errors += 1
    return big, health


def health_idle(url: str, count: int = 50) -> Outcome:
    """``GET /health`` every 20 ms with nothing else sent: the machine's own noise."""
    outcome = Outcome()
    with httpx.Client(base_url=url, timeout=60.0) as client:
        client.get("/health")
        for _ in range(count):
            started = time.perf_counter()
            try:
                ok = client.get("/health").status_code == 200
            except httpx.HTTPError:
                ok = False
            outcome.latencies.append(time.perf_counter() - started)
            outcome.errors += not ok
            time.sleep(0.02)
    return outcome


def percentiles(outcome: Outcome) -> tuple[float, float, float]:
    if not outcome.latencies:
        return float("nan"), float("nan"), float("nan")
    latencies = np.array(outcome.latencies) * 1000
    p50, p99 = np.percentile(latencies, [50, 99])
    return float(p50), float(p99), float(latencies.max())


def start(command: list[str], url: str) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(url, server)
    except BaseException:
        stop(server)
        raise
    return server


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=1000, help="1-track requests per run.")
    parser.add_argument("--batch", type=int, default=30, help="1,000-track requests per run.")
    parser.add_argument("--cap", type=float, default=240.0, help="Overall time cap, seconds.")
    parser.add_argument(
        "--serve-naive", nargs=2, metavar=("PORT", "TAGS_JSON"), help=argparse.SUPPRESS
    )
    parser.add_argument("--post", nargs=3, metavar=("URL", "BODY", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_naive:
        serve_naive(int(args.serve_naive[0]), args.serve_naive[1])
        return
    if args.post:
        post_file(args.post[0], args.post[1], int(args.post[2]))
        return
    started = time.monotonic()

    import tagdecide
    from tagdecide.demo import split_scores
    from tagdecide.synth import make_catalogue

    catalogue = make_catalogue(seed=0)
    train = split_scores(catalogue, catalogue.train)
    model = tagdecide.make_strategy("thresholds")
    model.fit(train, catalogue.train.truth, taxonomy=catalogue.taxonomy)
    names = [*catalogue.taxonomy.tags, *catalogue.taxonomy.categories]
    test = np.hstack([catalogue.test.tag_scores, catalogue.test.category_scores])
    singles = bodies(names, test, 1, args.single, "s")
    batches = bodies(names, test, 1000, args.batch, "b")
    largest = bodies(names, test, LARGEST, 1, "l")[0]
    scenarios = [
        ("1 track", 1, 1, singles),
        ("1 track", 1, 4, singles),
        ("1,000 tracks", 1000, 1, batches),
        ("1,000 tracks", 1000, 4, batches),
    ]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        model_path = Path(folder) / "model.json"
        tagdecide.save_model(model, model_path)
        tags_path = Path(folder) / "tags.json"
        tags_path.write_text(json.dumps(list(catalogue.taxonomy.tags)))
        largest_path = Path(folder) / "largest.json"
        largest_path.write_bytes(largest)
        servers = {
            "naive": [sys.executable, __file__, "--serve-naive", "{port}", str(tags_path)],
            "tagdecide": [TAGDECIDE, "serve", str(model_path), "--host", HOST, "--port", "{port}"],
        }
        runs = len(servers) * (len(scenarios) + 1)
        for server_name, template in servers.items():
            port = free_port()
            url = f"http://{HOST}:{port}"
            server = start([part.replace("{port}", str(port)) for part in template], url)
            try:
                run_load(url, singles[:20], 1, 1, cap=10.0)  # warm-up
                run_load(url, batches[:2], 1000, 1, cap=20.0)
                for label, size, clients, payloads in scenarios:
                    share = max((args.cap - (time.monotonic() - started)) / runs, 2.0)
                    outcome = run_load(url, payloads, size, clients, cap=share)
                    results.append((server_name, label, clients, len(payloads[0]), outcome))
                    runs -= 1
                idle = health_idle(url)
                big, health = health_during(url, largest_path, LARGEST)
                runs -= 1
                results.append((server_name, "GET /health idle", 1, 0, idle))
                results.append((server_name, "10,000 tracks", 1, len(largest), big))
                results.append((server_name, "GET /health meanwhile", 1, 0, health))
            finally:
                stop(server)

    print(
        f"loopback, model 'thresholds' ({len(catalogue.taxonomy.tags)} tags, "
        f"{len(catalogue.taxonomy.categories)} categories), {sys.platform}"
    )
    header = (
        f"{'server':<10} {'request':<22} {'clients':>7} {'body MB':>8} {'requests':>9} "
        f"{'errors':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    print(header)
    print("-" * len(header))
    total_errors = 0
    naive_p50: dict[tuple[str, int], float] = {}
    ours_p99: dict[tuple[str, int], float] = {}
    for server_name, label, clients, body_bytes, outcome in results:
        p50, p99, most = percentiles(outcome)
        count = len(outcome.latencies)
        rate = count / outcome.seconds if outcome.seconds else float("nan")
        print(
            f"{server_name:<10} {label:<22} {clients:>7} {body_bytes / 1e6:>8.2f} {count:>9} "
            f"{outcome.errors:>7} {rate:>8.1f} {p50:>8.1f} {p99:>8.1f} {most:>8.1f}"
        )
        total_errors += outcome.errors
        if server_name == "naive":
            naive_p50[label, clients] = p50
        else:
            ours_p99[label, clients] = p99
    for clients in (1, 4):
        key = ("1,000 tracks", clients)
        print(
            f"1,000 tracks, {clients} client(s): tagdecide p99 / naive p50 = "
            f"{ours_p99[key] / naive_p50[key]:.3f} (target <= 0.2)"
        )
    print(f"total wall time {time.monotonic() - started:.1f} s (data and model included)")
    if total_errors:
        raise SystemExit(f"{total_errors} requests failed")


if __name__ == "__main__":
    main()
