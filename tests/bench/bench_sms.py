"""Benchmark: 50,000 SMS to a tag through the 8x8 SMS batch endpoint (issue 8).

Starts the 8x8 stand-in as its own process (CLI, 50 ms added to every
answer, nothing recorded) and a real httpd with the built module and its
worker (the integration harness's Httpd), imports 50,000 contacts with one
tag, then times POST /blu8x8/api/sms to that tag until every row has a UMID
(polling GET /blu8x8/api/sms/batches/{id}). Prints the figures next to the
target; it never fails on timing.
"""

import os
import pathlib
import subprocess
import sys
import time
import types

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

import conftest  # noqa: E402  (the integration harness: Httpd, new_root)

N = 50_000
LATENCY = 0.05
TAG = "bench-sms"
TIMEOUT = 120.0


def start_standin():
    proc = subprocess.Popen([sys.executable, str(HERE.parent / "integration" / "standins.py"),
                             "--latency", str(LATENCY), "--no-validate"], stdout=subprocess.PIPE,
                            text=True)
    banner = proc.stdout.readline()            # "8x8 stand-in listening on http://..."
    if "listening on" not in banner:
        proc.kill()
        raise RuntimeError(f"the stand-in did not start: {banner!r}")
    return proc, banner.rsplit(" ", 1)[1].strip()


def line(label, value, target="(no target)"):
    print(f"  {label:<44} {value:>10}   {target}")


def main() -> int:
    standin, url = start_standin()
    server = conftest.Httpd(conftest.new_root(), "", types.SimpleNamespace(url=url), None)
    try:
        server.start()
        api = server.client
        contacts = "name,phone,tags\n" + "".join(f"Customer {i},+63917{i:07d},{TAG}\n"
                                                 for i in range(N))
        t = time.perf_counter()
        r = api.post("/blu8x8/api/contacts/import", body=contacts,
                     headers={"Content-Type": "text/csv"}, timeout=TIMEOUT)
        assert r.status == 200 and r.json["added"] == N, r
        print(f"{N:,} contacts with tag {TAG!r} imported in {time.perf_counter() - t:.2f} s")

        t0 = time.perf_counter()
        r = api.post("/blu8x8/api/sms", json={"sender": "Blu Coffee", "tags": [TAG],
                                             "text": "Blu Coffee: fresh beans are in, {name}!"},
                     timeout=TIMEOUT)
        t_answer = time.perf_counter() - t0
        assert r.status == 202 and r.json["recipients"] == N, r
        bid = r.json["id"]
        deadline = time.time() + TIMEOUT
        while True:
            b = api.get(f"/blu8x8/api/sms/batches/{bid}").json
            if b["with_umid"] >= N or b["state"] == "done" or time.time() > deadline:
                break
            time.sleep(0.05)
        t_all = time.perf_counter() - t0
        print(f"{N:,} SMS to a tag, 8x8 stand-in answering in {LATENCY * 1000:.0f} ms:")
        line("POST /api/sms answered (rows composed)", f"{t_answer:.2f} s")
        line("every row has a UMID", f"{t_all:.2f} s", "target <= 10 s")
        line("throughput", f"{N / t_all:,.0f} SMS/s")
        print(f"  send state {b['state']}, with UMID {b['with_umid']:,}, counts "
              + ", ".join(f"{k} {v:,}" for k, v in b["counts"].items() if v))
        ok = b["with_umid"] == N
        if not ok:
            print("  NOT every row got a UMID")
    finally:
        server.stop()
        standin.terminate()
        standin.wait(10)
    problems = server.problems()
    if problems:
        print("server problems:\n" + "\n".join(problems))
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("B8_MODULE", str(conftest.MODULE))
    sys.exit(main())
