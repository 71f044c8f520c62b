"""What the benchmarks share: wrk with its Lua summary (DONE, STATIC_LUA,
wrk()) and what the wrk benches print around it (wrk_missing, print_static,
finish), the test server with production logging (BenchHttpd), the
client-side median of repeated requests (median_ms), and the end of a bench
that ran one server (server_problems, run).

The benchmarks run as scripts; each puts tests/integration (the harness,
conftest) and tests/bench (this file) on sys.path before importing it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import conftest
from conftest import Httpd

# wrk's closing summary as one JSON line (latencies in microseconds).
DONE = r"""
function done(summary, latency, requests)
  io.write(string.format("WRKJSON {\"requests\": %d, \"status_errors\": %d, \"connect\": %d, "
    .. "\"read\": %d, \"write\": %d, \"timeout\": %d, \"p50\": %d, \"p99\": %d, \"duration\": %d}\n",
    summary.requests, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50),
    latency:percentile(99), summary.duration))
end
"""

STATIC_LUA = DONE   # the default request: GET of the URL


class BenchHttpd(Httpd):
    """The test server with production logging (no per-request debug lines)."""

    def write_files(self) -> None:
        super().write_files()
        conf = self.conf_path.read_text().replace("blu8x8:debug", "blu8x8:info")
        self.conf_path.write_text(conf)


def wrk(port: int, path: str, script: str, *, threads: int, connections: int,
        seconds: int) -> dict:
    """Runs wrk with a script that ends in DONE; answers its summary, with
    the request rate and the socket errors summed."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        lua = f.name
    try:
        out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                              "--timeout", "5s", "-s", lua, f"http://127.0.0.1:{port}{path}"],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(lua)
    m = re.search(r"^WRKJSON (.*)$", out, re.M)
    if not m:
        raise RuntimeError("wrk printed no summary:\n" + out)
    r = json.loads(m.group(1))
    r["rate"] = r["requests"] / (r["duration"] / 1e6)
    r["socket_errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return r


def wrk_missing() -> bool:
    """True, having said so, when wrk is not installed."""
    if not shutil.which("wrk"):
        print("wrk is not installed (Debian package wrk; `make bench` installs it)")
        return True
    return False


def print_static(measured: dict, static: dict) -> None:
    """The static file's figures (wrk, same run) and the measured rate's
    ratio to them, against the target ratio 0.5."""
    ratio = measured["rate"] / static["rate"] if static["rate"] else 0.0
    print(f"static   : {static['rate']:9.0f} req/s   p50 {static['p50'] / 1000:.2f} ms   "
          f"p99 {static['p99'] / 1000:.2f} ms   (/static.txt, 512 bytes)")
    print(f"ratio    : {ratio:.2f}   (target >= 0.5: {'met' if ratio >= 0.5 else 'NOT met'})")


def finish(h: Httpd, problems: list) -> int:
    """Prints the problems of a wrk bench; its server's files are removed
    when there were none, else kept for a look. The exit status."""
    for p in problems:
        print("PROBLEM:", p)
    if not problems:
        shutil.rmtree(h.root, ignore_errors=True)
    else:
        print("server files kept in", h.root)
    return 1 if problems else 0


def median_ms(fn, runs: int, ok=lambda r: r.status == 200, label=None):
    """Calls fn() runs times, one after the other, timed by the client.
    Each answer must pass ok (the assertion names label, when given, and the
    answer). Answers (median ms, max ms, the last answer)."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = fn()
        times.append((time.perf_counter() - t) * 1000)
        assert ok(r), r if label is None else (label, r)
    return statistics.median(times), max(times), r


def server_problems(server) -> int:
    """Prints what the stopped server's log shows went wrong (crashes,
    sanitizer reports); the exit status: 1 when anything did."""
    problems = server.problems()
    if problems:
        print("server problems:\n" + "\n".join(problems))
        return 1
    return 0


def run(main) -> None:
    """Runs a bench's main() as the script's exit status, with the module
    the harness would load unless B8_MODULE names one."""
    os.environ.setdefault("B8_MODULE", str(conftest.MODULE))
    sys.exit(main())
