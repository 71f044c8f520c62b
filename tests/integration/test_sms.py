"""SMS with sender accounts (issue 8) against a real httpd and the 8x8
stand-in: the composer's API and page, the payloads 8x8 receives (single and
batch, the chosen sender as `source`, one clientMessageId per message), the
per-message outcome of a batch answer, retries, SMS delivery receipts on the
webhook, the log and its CSV export, HTML escaping, and the crash test (the
worker SIGKILLed during a 5,000-message send never sends anyone twice).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import signal
import uuid

from conftest import Client, stays, wait_until

SUB = "BluCoffeePH_NOTIF"
SINGLE = f"/api/v1/subaccounts/{SUB}/messages"
BATCH = f"/api/v1/subaccounts/{SUB}/messages/batch"
_phones = itertools.count(1)


# ------------------------------------------------------------------- helpers

def new_phones(n: int) -> list[str]:
    return [f"+63939{next(_phones):07d}" for _ in range(n)]


def send(api, **body):
    return api.post("/blu8x8/api/sms", json=body)


def send_ok(api, **body) -> dict:
    r = send(api, **body)
    assert r.status == 202, r
    return r.json


def batch(api, bid) -> dict:
    r = api.get(f"/blu8x8/api/sms/batches/{bid}")
    assert r.status == 200, r
    return r.json


def wait_done(api, bid, timeout=15.0) -> dict:
    return wait_until(lambda: (lambda b: b if b["state"] == "done" else None)(batch(api, bid)),
                      timeout, what=f"SMS send {bid} done")


def rows(server, bid) -> list[dict]:
    cols = ("id", "phone", "name", "body", "sender", "encoding", "parts", "client_message_id",
            "umid", "state", "error_code", "error_message", "kind", "channel", "price")
    return [dict(zip(cols, r)) for r in server.sql(
        f"SELECT {', '.join(cols)} FROM messages WHERE sms_batch_id = ? ORDER BY id", (bid,))]


def sms_requests(eightx8, path) -> list:
    return [r for r in eightx8.requests if r.path == path]


def contact(api, name, phone, **extra) -> dict:
    r = api.post("/blu8x8/api/contacts", json={"name": name, "phone": phone, **extra})
    assert r.status == 201, r
    return r.json


def hook(server, body):
    return Client(server.port, None).post("/viber/status", body=json.dumps(body).encode(),
                                          headers={"Content-Type": "application/json"})


def sms_receipt(umid, cmid, state, **extra):
    status = {"state": state, "timestamp": "2026-11-01T08:20:03.12Z"}
    status.update(extra.pop("status", {}))
    payload = {"umid": umid, "clientMessageId": cmid, "subAccountId": SUB,
               "source": "Blu Coffee", "destination": "+639170000001", "status": status}
    payload.update(extra)
    return {"namespace": "SMS", "eventType": "outbound_message_status_changed",
            "description": "SMS delivery receipt", "payload": payload}


# ------------------------------------------------------------------ payloads

def test_one_recipient_goes_through_the_single_endpoint(server, eightx8):
    api = server.client
    phone = new_phones(1)[0]
    out = send_ok(api, sender="Blu Orders", text="Your order shipped", phones=[phone])
    assert out["recipients"] == 1 and out["opted_out"] == 0 and out["invalid"] == []
    assert out["encoding"] == "GSM-7" and out["parts"] == 1
    # The row exists at once.
    assert len(rows(server, out["id"])) == 1
    wait_done(api, out["id"])
    (req,) = sms_requests(eightx8, SINGLE)
    row = rows(server, out["id"])[0]
    assert req.headers["Authorization"] == "Bearer test-8x8-key"
    assert req.json == {"destination": phone, "text": "Your order shipped", "source": "Blu Orders",
                        "clientMessageId": row["client_message_id"], "encoding": "AUTO"}
    assert row["state"] == "queued" and row["umid"] == eightx8.umids[row["client_message_id"]]
    assert (row["kind"], row["channel"], row["sender"]) == ("sms", "sms", "Blu Orders")
    assert sms_requests(eightx8, BATCH) == []


def test_several_recipients_go_in_one_batch_with_their_own_ids(server, eightx8):
    api = server.client
    phones = new_phones(3)
    ana = contact(api, "Ana Reyes", new_phones(1)[0])
    out = send_ok(api, sender="Blu Service", text="Hi {name}, your number is {phone}",
                  phones=phones, contact_ids=[ana["id"]])
    assert out["recipients"] == 4
    wait_done(api, out["id"])
    (req,) = sms_requests(eightx8, BATCH)
    body = req.json
    assert body["template"] == {"source": "Blu Service", "encoding": "AUTO"}
    assert body["includeMessagesInResponse"] is True and body["clientBatchId"]
    by_phone = {m["destination"]: m for m in body["messages"]}
    table = rows(server, out["id"])
    assert set(by_phone) == {r["phone"] for r in table}
    for r in table:
        m = by_phone[r["phone"]]
        assert m["clientMessageId"] == r["client_message_id"]
        assert m["text"] == r["body"]
        assert r["state"] == "queued" and r["umid"] == eightx8.umids[r["client_message_id"]]
    assert by_phone[ana["phone"]]["text"] == f"Hi Ana Reyes, your number is {ana['phone']}"
    assert by_phone[phones[0]]["text"] == f"Hi , your number is {phones[0]}"
    assert len({r["client_message_id"] for r in table}) == 4


def test_same_text_for_all_is_in_every_message_as_8x8s_schema_asks(server, eightx8):
    api = server.client
    out = send_ok(api, text="Sale today", phones=new_phones(2))
    wait_done(api, out["id"])
    (req,) = sms_requests(eightx8, BATCH)
    assert req.json["template"] == {"source": "Blu Coffee", "encoding": "AUTO"}
    assert all(m["text"] == "Sale today" for m in req.json["messages"])
    # 8x8's clientBatchId: at most 20 characters.
    assert 0 < len(req.json["clientBatchId"]) <= 20
    assert {r["sender"] for r in rows(server, out["id"])} == {"Blu Coffee"}


def test_a_rejected_message_in_a_batch_fails_only_that_one(server, eightx8):
    api = server.client
    phones = new_phones(3)
    eightx8.reject_msisdn(phones[1], 1002, "Invalid MSISDN")
    out = send_ok(api, sender="Blu Acctg", text="Statement ready", phones=phones)
    wait_done(api, out["id"])
    states = {r["phone"]: r for r in rows(server, out["id"])}
    assert states[phones[1]]["state"] == "failed"
    assert states[phones[1]]["error_code"] == "1002"
    assert states[phones[1]]["error_message"] == "Invalid MSISDN"
    for ph in (phones[0], phones[2]):
        assert states[ph]["state"] == "queued" and states[ph]["umid"]
    log = api.get("/blu8x8/api/sms?state=failed&sender=Blu%20Acctg").json
    assert [i["phone"] for i in log["items"]] == [phones[1]]
    assert log["items"][0]["error_code"] == "1002"


def test_a_refused_single_send_is_failed_with_8x8s_code(server, eightx8):
    api = server.client
    phone = new_phones(1)[0]
    eightx8.reject_msisdn(phone, 1002, "Invalid MSISDN")
    out = send_ok(api, text="Hello", phones=[phone])
    wait_done(api, out["id"])
    (row,) = rows(server, out["id"])
    assert (row["state"], row["error_code"], row["error_message"]) == \
        ("failed", "1002", "Invalid MSISDN")


# ------------------------------------------------------------------- retries

def test_429_on_a_batch_is_retried_after_retry_after_with_the_same_ids(server, eightx8):
    api = server.client
    phones = new_phones(3)
    eightx8.rate_limit(retry_after=1, path_contains="/messages/batch")
    out = send_ok(api, text="Rate limited", phones=phones)
    wait_done(api, out["id"])
    first, second = sms_requests(eightx8, BATCH)
    assert second.time - first.time >= 0.9                      # waited for Retry-After
    ids = lambda req: [m["clientMessageId"] for m in req.json["messages"]]  # noqa: E731
    assert ids(first) == ids(second)
    assert {r["state"] for r in rows(server, out["id"])} == {"queued"}
    assert all(eightx8.sends_by_msisdn[ph] == 1 for ph in phones)


def test_server_errors_are_retried_then_the_batch_goes_through(server, eightx8):
    api = server.client
    phones = new_phones(2)
    eightx8.fail(500, times=2, path_contains="/messages/batch")
    out = send_ok(api, text="After errors", phones=phones)
    wait_done(api, out["id"])
    assert len(sms_requests(eightx8, BATCH)) == 3
    table = rows(server, out["id"])
    assert {r["state"] for r in table} == {"queued"}
    assert all(eightx8.sends_by_msisdn[ph] == 1 for ph in phones)


def test_a_4xx_on_a_batch_fails_every_message_with_the_code(server, eightx8):
    api = server.client
    eightx8.fail(400, code=1005, message="Invalid source", path_contains="/messages/batch")
    out = send_ok(api, text="Bad source", phones=new_phones(2))
    wait_done(api, out["id"])
    assert len(sms_requests(eightx8, BATCH)) == 1
    assert {(r["state"], r["error_code"], r["error_message"]) for r in rows(server, out["id"])} \
        == {("failed", "1005", "Invalid source")}


# ------------------------------------------------------------------ receipts

def test_sms_receipts_update_the_log(server, eightx8):
    api = server.client
    phones = new_phones(2)
    out = send_ok(api, text="Receipts", phones=phones)
    wait_done(api, out["id"])
    a, b = rows(server, out["id"])
    r = hook(server, sms_receipt(a["umid"], a["client_message_id"], "delivered",
                                 price={"total": 0.0065, "perSms": 0.0065, "currency": "EUR"},
                                 smsCount=1))
    assert r.status == 200, r
    r = hook(server, sms_receipt(b["umid"], b["client_message_id"], "undelivered",
                                 status={"detail": "rejected_by_operator", "errorCode": 15,
                                         "errorMessage": "Unknown subscriber"}))
    assert r.status == 200, r
    log = {i["phone"]: i for i in api.get("/blu8x8/api/sms?per_page=1000").json["items"]}
    assert log[a["phone"]]["state"] == "delivered"
    assert log[a["phone"]]["price"] == "0.0065 EUR"
    assert log[b["phone"]]["state"] == "undelivered"
    assert (log[b["phone"]]["error_code"], log[b["phone"]]["error_message"]) == \
        ("15", "Unknown subscriber")
    # A late "sent" never moves a delivered SMS back.
    hook(server, sms_receipt(a["umid"], a["client_message_id"], "sent"))
    assert api.get("/blu8x8/api/sms?state=delivered").json["items"][0]["phone"] == a["phone"]
    page = api.get("/blu8x8/sms").text
    assert "0.0065 EUR" in page and "Unknown subscriber" in page


# ------------------------------------------------------------------ composer

def test_composer_refuses_what_cannot_be_sent(server):
    api = server.client
    phone = new_phones(1)[0]
    r = send(api, sender="Blu Nobody", text="Hi", phones=[phone])
    assert r.status == 422 and "sender" in r.json["fields"], r
    assert "Blu Coffee" in r.json["fields"]["sender"]
    r = send(api, text="x" * 1531, phones=[phone])
    assert r.status == 422 and "11 SMS parts" in r.json["fields"]["text"], r
    r = send(api, text="\U0001F600" * 336, phones=[phone])      # 672 UCS-2 units: 11 parts
    assert r.status == 422 and "text" in r.json["fields"], r
    r = send(api, text="Hi")
    assert r.status == 422 and "phones" in r.json["fields"], r
    r = send(api, text="   ", phones=[phone])
    assert r.status == 422 and "text" in r.json["fields"], r
    r = send(api, text="Hi", phones=["not a phone"])
    assert r.status == 422 and "phones" in r.json["fields"], r
    r = send(api, text="Hi", phones="0917 1")                    # a string: one bad number
    assert r.status == 422, r
    r = api.post("/blu8x8/api/sms", body=json.dumps({"text": "Hi", "phones": [phone]}),
                 headers={"Content-Type": "text/plain"})
    assert r.status == 415
    assert server.sql("SELECT COUNT(*) FROM messages WHERE phone = ?", (phone,))[0][0] == 0
    assert server.sql("SELECT COUNT(*) FROM sms_batches WHERE total = 0 AND state != 'composing'")\
        == [(0,)]
    # 10 parts exactly is fine; the sender matches whatever the case.
    out = send_ok(api, sender="blu orders", text="x" * 1530, phones=[phone])
    assert out["sender"] == "Blu Orders" and out["parts"] == 10
    wait_done(api, out["id"])


def test_opted_out_are_skipped_and_duplicates_collapsed(server, eightx8):
    api = server.client
    tag = f"sms-{uuid.uuid4().hex[:6]}"
    p1, p2, p3 = new_phones(3)
    a = contact(api, "Opted In", p1, tags=[tag])
    contact(api, "Opted Out", p2, tags=[tag], opted_out=True)
    local = "0" + p1[3:]                                        # the same number, written locally
    out = send_ok(api, text="Hello {name}", tags=[tag], contact_ids=[a["id"]],
                  phones=[local, p2, p3, p3, "12"])
    assert out["recipients"] == 2                              # p1 and p3
    assert out["opted_out"] == 1
    assert out["duplicates"] == 4              # p3 again; p1 as contact and in the tag; p2 in the tag
    assert out["invalid_count"] == 1 and out["invalid"][0]["value"] == "12"
    wait_done(api, out["id"])
    table = rows(server, out["id"])
    assert sorted(r["phone"] for r in table) == sorted([p1, p3])
    assert {r["phone"]: r["body"] for r in table}[p1] == "Hello Opted In"
    assert eightx8.sends_by_msisdn[p2] == 0


def test_opted_out_after_composing_is_skipped_at_send_time(make_server, eightx8):
    h = make_server(worker=False)
    api = h.client
    p1, p2 = new_phones(2)
    c = contact(api, "Changes Mind", p1)
    out = send_ok(api, text="Hi", phones=[p1, p2])
    r = api.patch(f"/blu8x8/api/contacts/{c['id']}", json={"opted_out": True})
    assert r.status == 200, r
    # The worker starts after the opt-out (as after a restart).
    h.stop()
    h.worker = True
    h.base_directives = h.base_directives.replace("Blu8x8Worker Off\n", "")
    h.start()
    wait_done(api, out["id"])
    states = {r["phone"]: r["state"] for r in rows(h, out["id"])}
    assert states == {p1: "skipped", p2: "queued"}
    assert eightx8.sends_by_msisdn[p1] == 0


def test_big_tag_send_uses_chunks_of_at_most_10000(make_server, eightx8):
    h = make_server()
    api = h.client
    tag = "bulk"
    csv_text = "name,phone,tags\n" + "".join(f"P{i},{p},{tag}\n"
                                             for i, p in enumerate(new_phones(12000)))
    r = api.post("/blu8x8/api/contacts/import", body=csv_text, headers={"Content-Type": "text/csv"})
    assert r.status == 200 and r.json["added"] == 12000, r
    out = send_ok(api, text="Bulk", tags=[tag])
    assert out["recipients"] == 12000
    b = wait_done(api, out["id"], timeout=60)
    sizes = [len(x.json["messages"]) for x in sms_requests(eightx8, BATCH)]
    assert sizes == [10000, 2000]
    assert b["counts"]["queued"] == 12000 and b["with_umid"] == 12000


# ----------------------------------------------------------------------- log

def test_log_api_filters_and_batch_status(server):
    api = server.client
    p1, p2 = new_phones(2)
    o1 = send_ok(api, sender="Blu Intrnal", text="Internal note", phones=[p1])
    o2 = send_ok(api, sender="Blu Service", text="Service note", phones=[p2])
    for o in (o1, o2):
        wait_done(api, o["id"])
    items = api.get("/blu8x8/api/sms?sender=Blu%20Intrnal").json["items"]
    assert {i["phone"] for i in items} == {p1}
    item = items[0]
    for key in ("id", "created_at", "sender", "phone", "name", "text", "encoding", "parts", "umid",
                "state", "error_code", "error_message"):
        assert key in item, key
    assert (item["text"], item["encoding"], item["parts"], item["state"]) == \
        ("Internal note", "GSM-7", 1, "queued")
    newest = api.get("/blu8x8/api/sms?per_page=2").json
    assert newest["items"][0]["phone"] == p2 and newest["per_page"] == 2
    r = api.get("/blu8x8/api/sms?state=bogus")
    assert r.status == 422 and "state" in r.json["fields"]
    b = batch(api, o1["id"])
    assert b["state"] == "done" and b["total"] == 1 and b["counts"]["queued"] == 1
    assert b["with_umid"] == 1 and b["sender"] == "Blu Intrnal"
    assert api.get("/blu8x8/api/sms/batches/999999").status == 404


def test_csv_export(server):
    api = server.client
    phone = new_phones(1)[0]
    contact(api, "Csv, Person", phone)
    out = send_ok(api, sender="Blu Orders", text='Line "one"\nline two', phones=[phone])
    wait_done(api, out["id"])
    r = api.get("/blu8x8/sms.csv?sender=Blu%20Orders")
    assert r.status == 200 and r.header("content-type").startswith("text/csv")
    assert r.csv_text.splitlines()[0] == ("created_at,sender,phone,name,text,encoding,parts,umid,"
                                          "state,error_code,error_message,error_id")
    found = [x for x in csv.DictReader(io.StringIO(r.csv_text)) if x["phone"] == phone]
    assert len(found) == 1
    row = found[0]
    assert (row["sender"], row["name"], row["text"], row["encoding"], row["parts"], row["state"]) \
        == ("Blu Orders", "Csv, Person", 'Line "one"\nline two', "GSM-7", "1", "queued")
    assert row["umid"] and row["created_at"].endswith("Z")
    assert all(x["sender"] == "Blu Orders" for x in csv.DictReader(io.StringIO(r.csv_text)))


# --------------------------------------------------------------------- pages

def test_sms_page_escapes_contact_names(server):
    api = server.client
    phone = new_phones(1)[0]
    c = contact(api, "<script>alert(1)</script>", phone)
    out = send_ok(api, text="Hi {name}", contact_ids=[c["id"]])
    wait_done(api, out["id"])
    page = api.get("/blu8x8/sms").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    page = api.get(f"/blu8x8/sms?contact_ids[]={c['id']}").text
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_composer_page_sends_with_the_form_and_shows_refusals(server, eightx8):
    api = server.client
    page = api.get("/blu8x8/sms").text
    assert '<option value="Blu Coffee" selected>Blu Coffee (default)</option>' in page
    for sender in ("Blu Orders", "Blu Service", "Blu Acctg", "Blu Intrnal"):
        assert f'<option value="{sender}">' in page
    assert 'data-sms-count-of="sms-text"' in page and 'data-api="/blu8x8/api/sms-count"' in page
    p1, p2 = new_phones(2)
    r = api.post_form("/blu8x8/sms", {"sender": "Blu Service", "text": "From the form",
                                      "phones": f"{p1}\r\n{p2}"})
    assert r.status == 200, r
    assert "2 SMS queued from Blu Service" in r.text
    bid = server.sql("SELECT MAX(id) FROM sms_batches")[0][0]
    wait_done(api, bid)
    assert {r["phone"] for r in rows(server, bid)} == {p1, p2}
    r = api.post_form("/blu8x8/sms", {"sender": "Blu Coffee", "text": "x" * 1531, "phones": p1},
                      page="/blu8x8/sms")
    assert r.status == 422 and "at most 10 are allowed" in r.text
    assert "x" * 1531 in r.text                                 # what was typed is kept
    r = api.post("/blu8x8/sms", form={"text": "No token", "phones": p1})
    assert r.status == 403


def test_send_sms_from_the_contacts_page(server, eightx8):
    api = server.client
    p1, p2 = new_phones(2)
    a = contact(api, "Selected One", p1)
    b = contact(api, "Selected Two", p2)
    page = api.get(f"/blu8x8/contacts?q={p1[1:]}").text
    assert f'name="contact_ids[]" value="{a["id"]}" form="send-sms"' in page
    assert 'id="send-sms"' in page and 'action="/blu8x8/sms"' in page
    # The browser submits the checked boxes with the GET form.
    composer = api.get(f"/blu8x8/sms?contact_ids%5B%5D={a['id']}&contact_ids%5B%5D={b['id']}").text
    assert "Selected contacts (2)" in composer
    assert f'<input type="hidden" name="contact_ids[]" value="{a["id"]}">' in composer
    assert "Selected Two" in composer
    r = api.post_form("/blu8x8/sms", {"text": "Hello {name}", "contact_ids[]": [a["id"], b["id"]],
                                      "phones": ""}, page="/blu8x8/sms")
    assert r.status == 200 and "2 SMS queued" in r.text, r
    bid = server.sql("SELECT MAX(id) FROM sms_batches")[0][0]
    wait_done(api, bid)
    assert {r["phone"]: r["body"] for r in rows(server, bid)} == \
        {p1: "Hello Selected One", p2: "Hello Selected Two"}


# --------------------------------------------------------------------- crash

def test_worker_killed_during_a_5000_sms_send_never_sends_twice(make_server, eightx8):
    h = make_server()
    api = h.client
    phones = new_phones(5000)
    eightx8.latency = 1.5                       # the kill lands while the batch is in flight
    out = send_ok(api, text="Crash test", phones=phones)
    assert out["recipients"] == 5000
    assert eightx8.wait_for(1, timeout=15, path_contains="/messages/batch"), "nothing sent"
    pid = h.wait_worker()
    os.kill(pid, signal.SIGKILL)
    # A receipt naming one message arrives while no worker runs.
    cmid = h.sql("SELECT client_message_id FROM messages WHERE sms_batch_id = ? ORDER BY id "
                 "LIMIT 1", (out["id"],))[0][0]
    assert hook(h, sms_receipt(str(uuid.uuid4()), cmid, "delivered")).status == 200
    h.wait_worker(timeout=15, not_pid=pid)
    b = wait_done(api, out["id"], timeout=30)
    # The stand-in finishes the killed request (it counts the sends at its answer)...
    wait_until(lambda: len(eightx8.sends_by_msisdn) == len(phones), what="the batch counted")
    # ...and nothing is sent again while the new worker runs.
    stays(lambda: (len(sms_requests(eightx8, BATCH)), sum(eightx8.sends_by_msisdn.values())), api)
    assert max(eightx8.sends_by_msisdn.values()) == 1            # nobody twice
    assert len(sms_requests(eightx8, BATCH)) == 1                # never resent automatically
    states = {r["phone"]: r["state"] for r in rows(h, out["id"])}
    # Never silently skipped: every row was sent, or waits for a human.
    assert set(states.values()) <= {"unknown", "delivered"}, b["counts"]
    assert b["counts"]["unknown"] == 4999 and b["counts"]["delivered"] == 1
    assert all(eightx8.sends_by_msisdn[ph] == 1 for ph in phones)
    assert "may have reached 8x8" in api.get("/blu8x8/api/sms?state=unknown&per_page=1")\
        .json["items"][0]["error_message"]


def test_csv_export_guards_formulas(server):
    api = server.client
    phone = new_phones(1)[0]
    contact(api, "+Plus name", phone)
    out = send_ok(api, sender="Blu Orders", text="=1+2 and -more", phones=[phone])
    wait_done(api, out["id"])
    r = api.get("/blu8x8/sms.csv?sender=Blu%20Orders")
    found = [x for x in csv.DictReader(io.StringIO(r.csv_text)) if x["phone"] == phone]
    assert len(found) == 1
    assert found[0]["text"] == "'=1+2 and -more"
    assert found[0]["name"] == "'+Plus name"
    assert found[0]["phone"] == phone and phone.startswith("+")   # numbers stay
