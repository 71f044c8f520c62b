"""Benchmark: a campaign with 100,000 recipients (issue 3, "Scale and speed").

Starts a real httpd with the built module (the integration harness's Httpd),
imports 100,000 pasted numbers (10% duplicates, 1% invalid) through
POST /blu8x8/api/campaigns/{id}/recipients/import, then times the recipients
API page and the campaign page. Prints figures next to their targets; it
never fails on timing.
"""

import pathlib
import random
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
sys.path.insert(0, str(HERE))

import common  # noqa: E402
import conftest  # noqa: E402  (the integration harness: Httpd, new_root)

N = 100_000
RUNS = 9


def numbers(n: int) -> str:
    rng = random.Random(3)
    unique = int(n * 0.89)
    lines = [f"0917{i:07d}" for i in rng.sample(range(10_000_000), unique)]
    lines += rng.sample(lines, n // 10)                 # 10% duplicates
    lines += [f"09x7{i:06d}" for i in range(n // 100)]  # 1% invalid
    rng.shuffle(lines)
    return "\n".join(lines) + "\n"


def timed(fn):
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def line(label, value, target):
    print(f"  {label:<46} {value:>10}   target {target}")


def main() -> int:
    server = conftest.Httpd(conftest.new_root(), "", None, None, worker=False).start()
    api = server.client
    try:
        cid = api.post("/blu8x8/api/campaigns",
                       json={"name": "Bench", "type": "text", "body": "Hi {name}"}).json["id"]
        body = numbers(N)
        secs, r = timed(lambda: api.post(f"/blu8x8/api/campaigns/{cid}/recipients/import",
                                         body=body, headers={"Content-Type": "text/csv"},
                                         timeout=120))
        assert r.status == 200, r
        rep = r.json
        print(f"import of {N:,} pasted numbers ({len(body) / 1e6:.1f} MB):")
        line("time", f"{secs:.2f} s", "<= 3 s")
        print(f"  added {rep['added']:,}, duplicates {rep['duplicates']:,}, "
              f"invalid {rep['invalid_count']:,}")

        # Top up to exactly N recipients for the page timings.
        missing = N - rep["added"]
        r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients/import",
                     body="".join(f"0918{i:07d}\n" for i in range(missing)),
                     headers={"Content-Type": "text/csv"}, timeout=120)
        assert r.status == 200 and r.json["added"] == missing, r
        total = api.get(f"/blu8x8/api/campaigns/{cid}").json["counts"]["total"]
        last = (total + 49) // 50
        print(f"pages with {total:,} recipients (median of {RUNS}, client-measured):")
        for label, path in [
            ("recipients API, page 1", f"/blu8x8/api/campaigns/{cid}/recipients"),
            (f"recipients API, page {last // 2}",
             f"/blu8x8/api/campaigns/{cid}/recipients?page={last // 2}"),
            (f"recipients API, page {last} (last)",
             f"/blu8x8/api/campaigns/{cid}/recipients?page={last}"),
            ("recipients API, state=pending page 2",
             f"/blu8x8/api/campaigns/{cid}/recipients?state=pending&page=2"),
            ("campaign API object (counts)", f"/blu8x8/api/campaigns/{cid}"),
            ("campaign page (HTML)", f"/blu8x8/campaigns/{cid}"),
            (f"campaign page (HTML), page {last}", f"/blu8x8/campaigns/{cid}?page={last}"),
            ("campaigns list page", "/blu8x8/campaigns"),
        ]:
            med, worst, _ = common.median_ms(lambda: api.get(path), RUNS)
            line(label, f"{med:.1f} ms", f"<= 100 ms (max {worst:.1f} ms)")
        secs, r = timed(lambda: api.get(f"/blu8x8/campaigns/{cid}/recipients.csv", timeout=120))
        line("recipients.csv export (all rows)", f"{secs:.2f} s", "(no target)")
    finally:
        server.stop()
    return common.server_problems(server)


if __name__ == "__main__":
    common.run(main)
