"""Benchmark: the campaign sender (issue 4, "Benchmarks").

Starts real httpd servers with the built module and 8x8 stand-ins, then:

1. interval 0, 20,000 recipients, stand-in latency 50 ms: sustained
   messages/s (target >= 1,000), and the same at 0 ms latency;
2. interval 0.1 s, 100 messages: |actual gap - 0.1 s| p50/p95/max between
   request starts as the stand-in received them (target p95 <= 10 ms) and
   the total drift over the run (target <= 1%);
3. the worker's resident memory before and after 20,000 sends (target:
   growth <= 5 MB).

The throughput runs use the stand-in's command line (record=False, its own
process) so that the stand-in's bookkeeping is not what is measured. Prints
figures next to their targets; it never fails on timing.
"""

import pathlib
import signal
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

import conftest  # noqa: E402  (the integration harness: Httpd, new_root, free_port)
from standins import EightByEight  # noqa: E402

N = 20_000
PACED = 100
INTERVAL = 0.1
STANDINS = HERE.parent / "integration" / "standins.py"


def line(label, value, target=""):
    print(f"  {label:<52} {value:>14}   {('target ' + target) if target else ''}")


def start_standin(latency: float):
    port = conftest.free_port()
    proc = subprocess.Popen([sys.executable, str(STANDINS), "--port", str(port),
                             "--latency", str(latency), "--no-validate"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    banner = proc.stdout.readline()
    if "listening" not in banner:
        raise RuntimeError(f"stand-in did not start: {banner}")
    return proc, f"http://127.0.0.1:{port}"


def server_for(url: str) -> conftest.Httpd:
    directives = f"Blu8x8ChatAppsURL {url}\nBlu8x8ApiKey bench-key\n"
    h = conftest.Httpd(conftest.new_root(), directives, None, None)
    h.start()
    return h


def campaign(api, n: int, first: int) -> int:
    cid = api.post("/blu8x8/api/campaigns",
                   json={"name": f"Bench {n}", "type": "text",
                         "body": "Hi {name}, fresh beans this week!"}).json["id"]
    phones = "\n".join(f"+6391{first + i:08d}" for i in range(n)) + "\n"
    r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients/import", body=phones,
                 headers={"Content-Type": "text/csv"}, timeout=120)
    assert r.status == 200 and r.json["added"] == n, r
    return cid


def rss_kb(pid: int) -> int:
    for row in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1])
    return 0


def wait_processed(api, cid: int, total: int, timeout: float = 300.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        p = api.get(f"/blu8x8/api/campaigns/{cid}/progress").json
        if p["processed"] >= total:
            return
        time.sleep(0.2)
    raise RuntimeError(f"campaign {cid} not finished: {p}")


def throughput(h: conftest.Httpd, cid: int) -> tuple[float, dict]:
    """Messages/s between the first and the last answer recorded (sent_at)."""
    api = h.client
    api.patch("/blu8x8/api/settings", json={"send_interval": 0})
    assert api.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
    wait_processed(api, cid, N)
    rows = h.sql("SELECT MIN(sent_at), MAX(sent_at), COUNT(*) FROM messages "
                 "WHERE campaign_id = ? AND state = 'queued'", (cid,))
    first, last, count = rows[0]
    counts = api.get(f"/blu8x8/api/campaigns/{cid}/progress").json["counts"]
    span = iso_seconds(last) - iso_seconds(first)
    return (count - 1) / span if span > 0 else float("inf"), counts


def iso_seconds(t: str) -> float:
    import datetime
    return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def bench_throughput() -> None:
    print(f"interval 0, {N:,} recipients (stand-in in its own process, record=False):")
    proc50, url50 = start_standin(0.05)
    proc0, url0 = start_standin(0.0)
    h50 = h0 = None
    try:
        h50 = server_for(url50)
        api = h50.client
        pid = h50.wait_worker()
        cold = rss_kb(pid)
        # A small campaign first: libcurl's handles and connections and SQLite's
        # page cache fill once; what matters is that sends do not grow memory.
        warm_cid = campaign(api, 200, 3 * N)
        api.patch("/blu8x8/api/settings", json={"send_interval": 0})
        assert api.post(f"/blu8x8/api/campaigns/{warm_cid}/send", json={}).status == 200
        wait_processed(api, warm_cid, 200)
        cid = campaign(api, N, 0)
        warm = rss_kb(pid)
        rate, counts = throughput(h50, cid)
        after = rss_kb(pid)
        line("stand-in latency 50 ms: sustained rate", f"{rate:,.0f} msg/s", ">= 1,000 msg/s")
        line("  recipients queued / failed / unknown",
             f"{counts['queued']}/{counts['failed']}/{counts['unknown']}")
        cid2 = campaign(api, N, N)
        rate2, _ = throughput(h50, cid2)
        after2 = rss_kb(pid)
        line("  second campaign, 50 ms: sustained rate", f"{rate2:,.0f} msg/s")
        print("worker resident memory (one worker: 200 warm-up sends, then 2 x 20,000):")
        line("idle, before any send", f"{cold / 1024:.1f} MB")
        line("after the 200 warm-up sends", f"{warm / 1024:.1f} MB")
        line(f"after {N:,} more sends", f"{after / 1024:.1f} MB",
             f"growth <= 5 MB (here {(after - warm) / 1024:+.1f} MB; "
             f"{(after - cold) / 1024:+.1f} MB from idle)")
        line(f"after {2 * N:,} more sends", f"{after2 / 1024:.1f} MB",
             f"no further growth (here {(after2 - after) / 1024:+.1f} MB)")

        h0 = server_for(url0)
        cid = campaign(h0.client, N, 0)
        rate, counts = throughput(h0, cid)
        line("stand-in latency 0 ms: sustained rate", f"{rate:,.0f} msg/s", ">= 1,000 msg/s")
        line("  recipients queued / failed / unknown",
             f"{counts['queued']}/{counts['failed']}/{counts['unknown']}")
    finally:
        for h in (h50, h0):
            if h:
                h.stop()
        for proc in (proc50, proc0):
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)


def bench_pacing() -> None:
    print(f"interval {INTERVAL} s, {PACED} messages (gaps between request starts, "
          "as the stand-in received them):")
    standin = EightByEight().start()
    h = None
    try:
        h = server_for(standin.url)
        api = h.client
        api.patch("/blu8x8/api/settings", json={"send_interval": INTERVAL})
        cid = campaign(api, PACED, 0)
        assert api.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
        assert standin.wait_for(PACED, timeout=PACED * INTERVAL + 30)
        times = [r.time for r in standin.requests[:PACED]]
        gaps = [b - a for a, b in zip(times, times[1:])]
        errors = sorted(abs(g - INTERVAL) * 1000 for g in gaps)
        p95 = errors[int(0.95 * (len(errors) - 1))]
        total = times[-1] - times[0]
        ideal = INTERVAL * (PACED - 1)
        line("|gap - 0.1 s| p50", f"{statistics.median(errors):.2f} ms")
        line("|gap - 0.1 s| p95", f"{p95:.2f} ms", "<= 10 ms")
        line("|gap - 0.1 s| max", f"{errors[-1]:.2f} ms")
        line(f"total drift over {PACED - 1} gaps", f"{(total - ideal) * 1000:+.1f} ms "
             f"({abs(total - ideal) / ideal * 100:.2f}%)", "<= 1%")
    finally:
        if h:
            h.stop()
        standin.stop()


def main() -> int:
    bench_pacing()
    bench_throughput()
    return 0


if __name__ == "__main__":
    sys.exit(main())
