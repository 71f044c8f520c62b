"""Benchmark: /blu8x8-metrics scrape time with 100,000 messages (issue 20).

Starts a real httpd with the built module (the integration harness's Httpd,
worker off), imports 100,000 recipients into a campaign that is then being
sent, moves half of them on as receipts would (delivered, read), and times
scrapes of /blu8x8-metrics. A scrape reads counts kept by triggers, so its
time must not grow with the messages. Prints figures; never fails on timing.
"""

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
sys.path.insert(0, str(HERE))

import common  # noqa: E402
import conftest  # noqa: E402  (the integration harness: Httpd, new_root)
from conftest import Client  # noqa: E402

N = 100_000
RUNS = 50


def main() -> int:
    # An 8x8 account is needed to start a send; nothing is sent (no worker).
    server = conftest.Httpd(conftest.new_root(), "Blu8x8ApiKey bench-key\n", None, None,
                            worker=False).start()
    api = server.client
    scraper = Client(server.port, None)
    try:
        def scrape_ms():
            return common.median_ms(
                lambda: scraper.get("/blu8x8-metrics"), RUNS,
                ok=lambda r: r.status == 200 and b"blu8x8_messages_total" in r.body)

        empty = scrape_ms()
        cid = api.post("/blu8x8/api/campaigns",
                       json={"name": "Bench", "type": "text", "body": "Hi"}).json["id"]
        body = "".join(f"0917{i:07d}\n" for i in range(N))
        r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients/import", body=body,
                     headers={"Content-Type": "text/csv"}, timeout=300)
        assert r.status == 200 and r.json["added"] == N, r
        r = api.post(f"/blu8x8/api/campaigns/{cid}/send", json={})
        assert r.status == 200, r
        # Half the campaign accepted and then delivered or read (as the
        # sender and the receipts would leave it; the triggers keep counting).
        server.write_sql("UPDATE messages SET state = 'queued', umid = 'u' || id "
                         "WHERE campaign_id = ? AND id % 2 = 0", (cid,))
        server.write_sql("UPDATE messages SET state = CASE WHEN id % 4 = 0 THEN 'read' "
                         "ELSE 'delivered' END WHERE campaign_id = ? AND state = 'queued'", (cid,))
        full = scrape_ms()
        print(f"/blu8x8-metrics scrape (median of {RUNS}, client-measured):")
        print(f"  {'empty database':<46} {empty[0]:>7.1f} ms   (max {empty[1]:.1f} ms)")
        print(f"  {f'{N:,} messages, half delivered':<46} {full[0]:>7.1f} ms   "
              f"(max {full[1]:.1f} ms)   target: no growth with the messages")
    finally:
        server.stop()
    return common.server_problems(server)


if __name__ == "__main__":
    common.run(main)
