"""Benchmark: the conversations list with 100,000 conversations and one
conversation with a 5,000-message thread (issue 18).

Starts a real httpd with the built module (the integration harness's
Httpd, SQLite), fills its database directly (100,000 conversations, the
last of them with 2,500 inbound messages and 2,500 replies), then times the
pages and the API answers (median of several requests). Prints the figures
next to the target; it never fails on timing.
"""

import pathlib
import sqlite3
import sys
import time
import types

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
sys.path.insert(0, str(HERE))

import common  # noqa: E402
import conftest  # noqa: E402  (the integration harness: Httpd, new_root)

CONVERSATIONS = 100_000
THREAD = 5_000
RUNS = 15


def line(label, value, target="(no target)"):
    print(f"  {label:<52} {value:>10}   {target}")


def iso(i):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_700_000_000 + i)) + ".000Z"


def fill(path):
    con = sqlite3.connect(path, timeout=30)
    con.execute("PRAGMA busy_timeout = 30000")
    with con:
        con.executemany(
            "INSERT INTO conversations (phone_key, phone, name, status, assignee_id, "
            "last_message_at, last_in_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((f"63917{i:07d}", f"+63917{i:07d}", f"Customer {i}",
              "resolved" if i % 3 == 0 else "open", 1 if i % 7 == 0 else None,
              iso(i), iso(i), iso(i), iso(i)) for i in range(CONVERSATIONS)))
        key, phone = f"63917{CONVERSATIONS - 1:07d}", f"+63917{CONVERSATIONS - 1:07d}"
        con.executemany(
            "INSERT INTO inbound (umid, namespace, channel, phone, phone_key, name, type, body, "
            "raw, received_at, ai_state) VALUES (?, 'ChatApps', 'viber', ?, ?, 'Customer', "
            "'text', ?, '{}', ?, 'answered')",
            ((f"bench-{i}", phone, key, f"Question number {i} about our coffee", iso(2 * i))
             for i in range(THREAD // 2)))
        con.executemany(
            "INSERT INTO messages (kind, channel, phone, phone_key, name, body, "
            "client_message_id, umid, state, created_at, updated_at) VALUES ('ai_reply', "
            "'viber', ?, ?, 'Customer', ?, ?, ?, 'read', ?, ?)",
            ((phone, key, f"Answer number {i}: we roast every Monday.", f"bench-cmid-{i}",
              f"bench-umid-{i}", iso(2 * i + 1), iso(2 * i + 1)) for i in range(THREAD // 2)))
        cid = con.execute("SELECT id FROM conversations WHERE phone_key = ?", (key,)).fetchone()[0]
    con.execute("ANALYZE")
    con.close()
    return cid


def main() -> int:
    nowhere = types.SimpleNamespace(url="http://127.0.0.1:9")   # no sends in this bench
    server = conftest.Httpd(conftest.new_root(), "", nowhere, None, worker=False)
    try:
        server.start()
        api = server.client
        t = time.perf_counter()
        cid = fill(str(server.db_path))
        # Statements prepared before ANALYZE would answer SQLITE_SCHEMA.
        server.stop()
        server.start()
        print(f"{CONVERSATIONS:,} conversations and a {THREAD:,}-message thread written in "
              f"{time.perf_counter() - t:.1f} s (SQLite)")
        checks = [
            ("GET /blu8x8/conversations (list page)", "/blu8x8/conversations?status=all", 100),
            ("GET /blu8x8/api/conversations", "/blu8x8/api/conversations", 100),
            ("GET /blu8x8/api/conversations?status=open", "/blu8x8/api/conversations?status=open",
             100),
            ("GET /blu8x8/api/conversations?assignee=none",
             "/blu8x8/api/conversations?assignee=none", 100),
            ("GET /blu8x8/api/conversations?page=1000", "/blu8x8/api/conversations?page=1000",
             None),
            ("GET /blu8x8/api/conversations?q=Customer 99999",
             "/blu8x8/api/conversations?q=Customer%2099999", None),
            (f"GET /blu8x8/conversations/{{id}} ({THREAD:,} messages, page)",
             f"/blu8x8/conversations/{cid}", 100),
            ("GET /blu8x8/api/conversations/{id} (latest 300)", f"/blu8x8/api/conversations/{cid}",
             100),
            ("GET /blu8x8/api/conversations/{id}?limit=5000",
             f"/blu8x8/api/conversations/{cid}?limit=5000", None),
        ]
        ok = True
        print(f"median of {RUNS} requests:")
        for label, path, target in checks:
            ms, _, r = common.median_ms(lambda: api.get(path), RUNS, label=path)
            line(label, f"{ms:.1f} ms", f"target <= {target} ms" if target else "(no target)")
            if target and ms > target:
                ok = False
        total = api.get("/blu8x8/api/conversations").json["total"]
        shown = len(api.get(f"/blu8x8/api/conversations/{cid}?limit=5000").json["messages"])
        print(f"  list total {total:,}; thread messages answered with limit=5000: {shown:,}")
        if not ok:
            print("  a figure is over its target")
    finally:
        server.stop()
    return common.server_problems(server)


if __name__ == "__main__":
    common.run(main)
