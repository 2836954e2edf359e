"""Loopback load test of `tagdecide serve`: requests/s and latency for small and large requests.

Fits `thresholds` (with the taxonomy) on the built-in synthetic catalogue's training split,
starts `tagdecide serve` on 127.0.0.1 (a free port) in a subprocess, and sends the test
split's scores (248 tags + 41 categories per track) from a few client threads: a fixed
number of 1-track requests, then of 1,000-track requests. Every scenario stops at its
request count or at its share of the time cap, whichever comes first; the server is
stopped at the end. Latency is measured per request by the client (send to full answer).

Usage: python benchmarks/service_load.py [--clients 4] [--single 2000] [--batch 40]
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

import tagdecide
from tagdecide.demo import split_scores
from tagdecide.synth import make_catalogue

TAGDECIDE = shutil.which("tagdecide") or str(Path(sys.executable).parent / "tagdecide")
HOST = "127.0.0.1"


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def bodies(tag_names: list[str], matrix: np.ndarray, size: int, count: int) -> list[bytes]:
    """``count`` JSON bodies of ``size`` tracks each, cycling through the rows of ``matrix``."""
    out = []
    for request in range(count):
        rows = [(request * size + offset) % len(matrix) for offset in range(size)]
        tracks = [
            {
                "id": f"r{request}-{row}",
                "scores": dict(zip(tag_names, matrix[row].tolist(), strict=True)),
            }
            for row in rows
        ]
        out.append(json.dumps({"tracks": tracks}).encode())
    return out


def wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit("the server stopped before answering")
            try:
                if client.get(f"{url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise SystemExit(f"the server did not answer within {seconds:.0f} s")


def run_load(url: str, payloads: list[bytes], n_tracks: int, clients: int, cap: float) -> Outcome:
    """Send every payload once, from ``clients`` threads, within ``cap`` seconds."""
    outcome = Outcome()
    lock = threading.Lock()
    next_index = iter(range(len(payloads)))
    deadline = time.monotonic() + cap
    headers = {"content-type": "application/json"}

    def client_loop() -> None:
        with httpx.Client(base_url=url, timeout=30.0) as client:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4, help="Concurrent client threads.")
    parser.add_argument("--single", type=int, default=2000, help="1-track requests to send.")
    parser.add_argument("--batch", type=int, default=40, help="1,000-track requests to send.")
    parser.add_argument("--cap", type=float, default=60.0, help="Overall time cap, seconds.")
    args = parser.parse_args()
    started = time.monotonic()

    catalogue = make_catalogue(seed=0)
    train = split_scores(catalogue, catalogue.train)
    model = tagdecide.make_strategy("thresholds")
    model.fit(train, catalogue.train.truth, taxonomy=catalogue.taxonomy)
    names = [*catalogue.taxonomy.tags, *catalogue.taxonomy.categories]
    test = np.hstack([catalogue.test.tag_scores, catalogue.test.category_scores])
    scenarios = [
        ("1 track", 1, bodies(names, test, 1, args.single)),
        ("1,000 tracks", 1000, bodies(names, test, 1000, args.batch)),
    ]
    port = free_port()
    url = f"http://{HOST}:{port}"
    with tempfile.TemporaryDirectory() as folder:
        model_path = Path(folder) / "model.json"
        tagdecide.save_model(model, model_path)
        server = subprocess.Popen(
            [TAGDECIDE, "serve", str(model_path), "--host", HOST, "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(url, server)
            run_load(url, scenarios[0][2][:20], 1, 1, cap=10.0)  # warm-up
            remaining = args.cap - (time.monotonic() - started)
            results = []
            for index, (label, size, payloads) in enumerate(scenarios):
                share = max(remaining / (len(scenarios) - index), 1.0)
                before = time.monotonic()
                outcome = run_load(url, payloads, size, args.clients, cap=share)
                remaining -= time.monotonic() - before
                results.append((label, size, len(payloads[0]), outcome))
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=15)

    print(
        f"tagdecide serve on {HOST}, model 'thresholds' ({len(catalogue.taxonomy.tags)} tags, "
        f"{len(catalogue.taxonomy.categories)} categories), {args.clients} client threads, "
        f"{sys.platform}"
    )
    header = (
        f"{'request':<13} {'body KB':>8} {'requests':>9} {'errors':>7} {'req/s':>8} "
        f"{'tracks/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
    )
    print(header)
    print("-" * len(header))
    total_errors = 0
    for label, size, body_bytes, outcome in results:
        latencies = np.array(outcome.latencies) * 1000
        count = len(latencies)
        rate = count / outcome.seconds if outcome.seconds else 0.0
        p50, p99 = np.percentile(latencies, [50, 99]) if count else (float("nan"),) * 2
        print(
            f"{label:<13} {body_bytes / 1000:>8.1f} {count:>9} {outcome.errors:>7} "
            f"{rate:>8.1f} {rate * size:>9.0f} {p50:>8.1f} {p99:>8.1f}"
        )
        total_errors += outcome.errors
    print(f"total wall time {time.monotonic() - started:.1f} s (data and model included)")
    if total_errors:
        raise SystemExit(f"{total_errors} requests failed")


if __name__ == "__main__":
    main()
