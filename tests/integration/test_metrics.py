"""Metrics for Prometheus (issue 20, item 5): /blu8x8-metrics parsed with
Prometheus's own text-format parser (python3-prometheus-client), figures
that move when messages are sent, receipts arrive, the webhook answers and
OpenAI is asked; the queues per lane; this server's worker; Require local.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import os
import signal
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import DB, ROOT, WEBHOOK_AUTH, Client, free_port, wait_until

PATH = "/blu8x8-metrics"
_phones = itertools.count(1)

REQUIRED = {
    "blu8x8_messages": "counter",
    "blu8x8_webhook_requests": "counter",
    "blu8x8_eightx8_requests": "counter",
    "blu8x8_queue_depth": "gauge",
    "blu8x8_worker_up": "gauge",
    "blu8x8_sender_active": "gauge",
    "blu8x8_openai_request_seconds": "histogram",
}


# ------------------------------------------------------------------ helpers

def new_phones(n: int) -> list[str]:
    return [f"+63945{next(_phones):07d}" for _ in range(n)]


def scrape(h, client: Client | None = None) -> dict:
    """Families by name (the parser drops _total from counters)."""
    r = (client or Client(h.port, None)).get(PATH)
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/plain; version=0.0.4"), r
    return {f.name: f for f in text_string_to_metric_families(r.text)}


def value(families: dict, name: str, sample: str | None = None, **labels) -> float:
    """The sample of family `name` (sample name defaults to the family's,
    with _total for counters) whose labels are exactly `labels`."""
    fam = families[name]
    want = sample or (name + "_total" if fam.type == "counter" else name)
    found = [s.value for s in fam.samples if s.name == want and s.labels == labels]
    assert len(found) == 1, f"{want}{labels}: {found} in {fam.samples}"
    return found[0]


def count(families: dict, name: str, **labels) -> float:
    """A counter's sample, 0 while it is not listed (codes appear once seen)."""
    found = [s.value for s in families[name].samples
             if s.name == name + "_total" and s.labels == labels]
    return found[0] if found else 0


def messages(f, channel, state) -> float:
    return value(f, "blu8x8_messages", channel=channel, state=state)


def queue(f, lane) -> float:
    return value(f, "blu8x8_queue_depth", lane=lane)


def make_campaign(api, phones) -> int:
    r = api.post("/blu8x8/api/campaigns", json={"name": f"Metrics {uuid.uuid4().hex[:6]}",
                                                 "type": "text", "body": "Hello {name}"})
    assert r.status == 201, r
    cid = r.json["id"]
    r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients", json={"phones": phones})
    assert r.status == 200 and r.json["added"] == len(phones), r
    return cid


def hook(h, body, auth=WEBHOOK_AUTH):
    return Client(h.port, None, webhook_auth=auth).post("/viber/status", json=body)


def receipt(umid, state="delivered"):
    return {"namespace": "ChatApps", "eventType": "outbound_message_status_changed",
            "description": "ChatApps outbound message delivery receipt", "version": 9,
            "payload": {"umid": umid, "subAccountId": "BluCoffeePH_TwoWayViber_NOTIF",
                        "channel": "viber", "user": {"msisdn": "+639170000001"},
                        "status": {"state": state, "timestamp": "2026-11-01T08:20:03.12Z"}}}


def inbound(phone, text):
    return {"namespace": "ChatApps", "eventType": "inbound_message_received",
            "description": "ChatApps inbound message",
            "payload": {"umid": str(uuid.uuid4()), "subAccountId": "BluCoffeePH_TwoWayViber_NOTIF",
                        "timestamp": "2026-11-01T14:34:56.017Z",
                        "user": {"msisdn": phone, "channelUserId": phone.lstrip("+"),
                                 "name": "Ana"},
                        "recipient": {"channel": "viber", "channelId": "2f9c"},
                        "type": "Text", "content": {"text": text}}}


# -------------------------------------------------------------------- tests

def test_every_documented_family_parses_with_its_type(make_server):
    h = make_server(worker=False)
    f = scrape(h)
    for name, kind in REQUIRED.items():
        assert name in f and f[name].type == kind, (name, f.get(name))
    for lane in ("campaign", "direct", "sms", "ai"):
        assert queue(f, lane) == 0
    # The histogram's buckets are cumulative and end with +Inf = _count.
    hist = [s for s in f["blu8x8_openai_request_seconds"].samples if s.name.endswith("_bucket")]
    assert hist[-1].labels["le"] == "+Inf"
    assert value(f, "blu8x8_openai_request_seconds", "blu8x8_openai_request_seconds_count") == 0
    # A server without a worker says so: an alert on worker_up can tell.
    assert value(f, "blu8x8_worker_enabled") == 0 and value(f, "blu8x8_worker_up") == 0
    assert value(f, "blu8x8_database_up") == 1
    r = Client(h.port, None).post(PATH, json={})
    assert r.status == 405 and "GET" in r.header("Allow"), r


def test_sends_and_receipts_move_the_counters(make_server, eightx8):
    h = make_server()
    api = h.client
    before = scrape(h)
    phones = new_phones(3)
    cid = make_campaign(api, phones)
    assert api.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
    wait_until(lambda: len([r for r in eightx8.requests
                            if (r.json or {}).get("user", {}).get("msisdn") in phones]) == 3)
    umids = wait_until(lambda: (lambda u: u if len(u) == 3 and all(u) else None)(
        [r[0] for r in h.sql("SELECT umid FROM messages WHERE campaign_id = ? ORDER BY id",
                             (cid,))]), what="three UMIDs recorded")
    after = scrape(h)
    assert messages(after, "viber", "sending") - messages(before, "viber", "sending") == 3
    assert messages(after, "viber", "queued") - messages(before, "viber", "queued") == 3
    assert (value(after, "blu8x8_eightx8_requests", api="chatapps", code="200")
            - value(before, "blu8x8_eightx8_requests", api="chatapps", code="200")) == 3
    assert queue(after, "campaign") == 0

    # Two receipts delivered, one read; a wrong Authorization is counted as 401.
    for umid, state in zip(umids, ("delivered", "delivered", "read")):
        assert hook(h, receipt(umid, state)).status == 200
    assert hook(h, receipt(umids[0]), auth="Basic wrong").status == 401
    end = scrape(h)
    assert messages(end, "viber", "delivered") - messages(after, "viber", "delivered") == 2
    assert messages(end, "viber", "read") - messages(after, "viber", "read") == 1
    assert (value(end, "blu8x8_webhook_requests", code="200")
            - value(after, "blu8x8_webhook_requests", code="200")) == 3
    assert (count(end, "blu8x8_webhook_requests", code="401")
            - count(after, "blu8x8_webhook_requests", code="401")) == 1
    # The same receipt again changes no state: no count either.
    assert hook(h, receipt(umids[0], "delivered")).status == 200
    assert messages(scrape(h), "viber", "delivered") == messages(end, "viber", "delivered")


def test_webhook_counts_add_up_across_children(make_server):
    """Requests spread over httpd's children and threads: none is lost."""
    h = make_server(worker=False)
    before = count(scrape(h), "blu8x8_webhook_requests", code="200")
    bad_before = count(scrape(h), "blu8x8_webhook_requests", code="415")

    def post(i):
        c = Client(h.port, None)
        if i % 10 == 0:   # a wrong content type: 415
            return c.post("/viber/status", body=b"{}", headers={"Content-Type": "text/plain"})
        return c.post("/viber/status", json=receipt(f"unknown-{uuid.uuid4()}"))
    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        codes = list(pool.map(lambda i: post(i).status, range(300)))
    assert codes.count(200) == 270 and codes.count(415) == 30, codes
    f = scrape(h)
    assert count(f, "blu8x8_webhook_requests", code="200") - before == 270
    assert count(f, "blu8x8_webhook_requests", code="415") - bad_before == 30


def test_eightx8_errors_and_no_answer_are_counted_by_code(make_server, eightx8):
    h = make_server()
    api = h.client
    eightx8.fail(500, times=1)
    phone = new_phones(1)[0]
    cid = make_campaign(api, [phone])
    assert api.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
    wait_until(lambda: h.sql("SELECT state FROM messages WHERE campaign_id = ?", (cid,))[0][0]
               == "queued", what="sent after the 500")
    f = scrape(h)
    assert value(f, "blu8x8_eightx8_requests", api="chatapps", code="500") == 1
    assert value(f, "blu8x8_eightx8_requests", api="chatapps", code="200") == 1


def test_eightx8_without_an_answer_is_code_none(make_server):
    """8x8 unreachable (nobody listens): counted as code "none"."""
    h = make_server(f"Blu8x8ChatAppsURL http://127.0.0.1:{free_port()}\n", worker=False)
    cid = make_campaign(h.client, new_phones(1))
    r = h.client.post(f"/blu8x8/api/campaigns/{cid}/test", json={"phone": new_phones(1)[0]})
    assert r.status >= 400, r
    f = scrape(h)
    assert count(f, "blu8x8_eightx8_requests", api="chatapps", code="none") == 1
    assert value(f, "blu8x8_eightx8_requests", api="chatapps", code="200") == 0


def test_queues_per_lane_and_a_server_without_worker(make_server):
    """Nothing drains on a server without a worker: every lane shows its rows."""
    h = make_server("Blu8x8OpenAIKey sk-test\n", worker=False)
    api = h.client
    assert api.patch("/blu8x8/api/settings", json={"ai_respond": True}).status == 200
    # A draft's recipients are no queue; a campaign being sent is.
    cid = make_campaign(api, new_phones(3))
    assert queue(scrape(h), "campaign") == 0
    assert api.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
    # STOP queues a confirmation (direct lane); a text waits for the AI.
    stop, ask = new_phones(2)
    assert hook(h, inbound(stop, "STOP")).status == 200
    assert hook(h, inbound(ask, "Do you sell beans?")).status == 200
    r = api.post("/blu8x8/api/sms", json={"sender": "Blu Orders", "text": "Hi",
                                          "phones": new_phones(2)})
    assert r.status == 202, r
    f = scrape(h)
    assert (queue(f, "campaign"), queue(f, "direct"), queue(f, "sms"), queue(f, "ai")) \
        == (3, 1, 2, 1)
    # Cancelling the campaign empties its lane.
    assert api.post(f"/blu8x8/api/campaigns/{cid}/cancel", json={}).status == 200
    f = scrape(h)
    assert queue(f, "campaign") == 0
    assert messages(f, "viber", "cancelled") >= 3


def test_openai_request_times_fill_the_histogram(make_server, openai):
    h = make_server("Blu8x8OpenAIKey sk-test-openai\nBlu8x8AIQuietWindow 0.3\n")
    assert h.client.patch("/blu8x8/api/settings", json={"ai_respond": True}).status == 200
    openai.reply = "Yes, we do."
    assert hook(h, inbound(new_phones(1)[0], "Do you sell grinders?")).status == 200
    wait_until(lambda: value(scrape(h), "blu8x8_openai_request_seconds",
                             "blu8x8_openai_request_seconds_count") >= 1, what="an OpenAI request")
    f = scrape(h)
    count = value(f, "blu8x8_openai_request_seconds", "blu8x8_openai_request_seconds_count")
    buckets = [s for s in f["blu8x8_openai_request_seconds"].samples
               if s.name.endswith("_bucket")]
    assert [s.value for s in buckets] == sorted(s.value for s in buckets)
    assert buckets[-1].value == count
    assert value(f, "blu8x8_openai_request_seconds", "blu8x8_openai_request_seconds_sum") > 0


def test_worker_up_follows_the_worker(make_server):
    h = make_server()
    f = scrape(h)
    assert value(f, "blu8x8_worker_enabled") == 1
    assert value(f, "blu8x8_worker_up") == 1 and value(f, "blu8x8_sender_active") == 1
    pid = h.workers()[0]
    os.kill(pid, signal.SIGKILL)
    # Gone: down at once (its pid is dead), up again when httpd starts another.
    wait_until(lambda: value(scrape(h), "blu8x8_worker_up") == 0 or h.workers() != [pid],
               what="worker_up 0 or a new worker")
    h.wait_worker(not_pid=pid)
    wait_until(lambda: value(scrape(h), "blu8x8_worker_up") == 1, what="worker_up back to 1")


def test_messages_are_counted_for_every_server_the_webhook_per_server(make_server, eightx8):
    a = make_server()
    # A second server on the same database, without a worker (SQLite: the
    # same file on this machine; PostgreSQL: the same database).
    b = (make_server(worker=False, share_db_with=a) if DB == "pgsql" else
         make_server(f'Blu8x8Database sqlite3 "{a.db_path}"\n', worker=False))
    cid = make_campaign(a.client, new_phones(2))
    assert a.client.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
    umids = wait_until(lambda: (lambda u: u if len(u) == 2 and all(u) else None)(
        [r[0] for r in a.sql("SELECT umid FROM messages WHERE campaign_id = ? ORDER BY id",
                             (cid,))]), what="two UMIDs")
    before_a, before_b = scrape(a), scrape(b)
    assert hook(b, receipt(umids[0])).status == 200     # the receipt lands on server B
    fa, fb = scrape(a), scrape(b)
    # Message states are global: both servers see B's receipt.
    assert messages(fa, "viber", "delivered") - messages(before_a, "viber", "delivered") == 1
    assert messages(fb, "viber", "delivered") == messages(fa, "viber", "delivered")
    # Webhook answers are the server's own.
    assert (value(fb, "blu8x8_webhook_requests", code="200")
            - value(before_b, "blu8x8_webhook_requests", code="200")) == 1
    assert (value(fa, "blu8x8_webhook_requests", code="200")
            == value(before_a, "blu8x8_webhook_requests", code="200"))
    # Only the server that sends has the sender lease.
    assert value(fa, "blu8x8_sender_active") == 1 and value(fb, "blu8x8_sender_active") == 0


@pytest.mark.expect_log("AH01630")   # mod_authz_core: the client denied
def test_shipped_config_mounts_it_for_this_host_only(make_server):
    conf = (ROOT / "conf" / "blu8x8.conf").read_text()
    block = conf.split("<Location /blu8x8-metrics>")[1].split("</Location>")[0]
    assert [ln.strip() for ln in block.strip().splitlines()] == [
        "SetHandler blu8x8-metrics", "Require local"]
    # Seen from an address that is not allowed: 403, no figures.
    h = make_server("<Location /blu8x8-metrics>\n    Require ip 192.0.2.1\n</Location>\n",
                    worker=False)
    r = Client(h.port, None).get(PATH)
    assert r.status == 403 and b"blu8x8_" not in r.body, r
