"""No self-inflicted harm (issue 17, API.md "Second round"): every form
answers 303 with its result shown once; Idempotency-Key on the sending API
calls (same key and body: the first answer again, nothing sent; another
body: 422; concurrent duplicates never send twice; across servers); the
campaign estimate and the SMS dry run; unqueue; the FAQ import that
replaces; settings that stay defaults, secrets cleared by null, timeouts of
at least 1 s; CSV exports that honour the page's filter."""

from __future__ import annotations

import concurrent.futures
import csv
import html.parser
import io
import itertools
import json
import uuid

import pytest

from conftest import DB, wait_until

_phones = itertools.count(1)
JSON = {"Content-Type": "application/json"}


def phones(n):
    return [f"+63925{next(_phones):07d}" for _ in range(n)]


def keyed(api, path, body, key):
    return api.post(path, body=json.dumps(body), headers=dict(JSON, **{"Idempotency-Key": key}))


def new_campaign(api, recipients=(), **fields):
    body = {"name": f"Harm {uuid.uuid4().hex[:6]}", "type": "text", "body": "Hi {name}"}
    body.update(fields)
    r = api.post("/blu8x8/api/campaigns", json=body)
    assert r.status == 201, r
    if recipients:
        assert api.post(f"/blu8x8/api/campaigns/{r.json['id']}/recipients",
                        json={"phones": list(recipients)}).status == 200
    return r.json["id"]


def batches(server):
    return server.sql("SELECT COUNT(*) FROM sms_batches")[0][0]


def to(eightx8, phone):
    return [r for r in eightx8.requests if phone.encode() in r.body]


# ------------------------------------------------------------ idempotency

def test_sms_same_key_and_body_answers_the_first_answer_and_sends_once(server, eightx8):
    api = server.client
    p = phones(2)
    body = {"text": "Kape tayo", "phones": p}
    key = str(uuid.uuid4())
    first = keyed(api, "/blu8x8/api/sms", body, key)
    assert first.status == 202, first
    n = batches(server)
    again = keyed(api, "/blu8x8/api/sms", body, key)
    assert again.status == 202 and again.body == first.body
    assert again.header("idempotent-replayed") == "true"
    assert batches(server) == n
    assert wait_until(lambda: to(eightx8, p[0]) and to(eightx8, p[1]), what="both SMS sent")
    assert not eightx8.wait_for(len(eightx8.requests) + 1, timeout=1.0)
    assert len(to(eightx8, p[0])) == 1 and len(to(eightx8, p[1])) == 1
    # The same key with another body is refused, and sends nothing.
    other = keyed(api, "/blu8x8/api/sms", {"text": "Kape tayo!", "phones": p}, key)
    assert other.status == 422 and "Idempotency-Key" in other.json["error"]
    assert batches(server) == n
    # Another key is another send; no key at all too.
    assert keyed(api, "/blu8x8/api/sms", body, str(uuid.uuid4())).status == 202
    assert api.post("/blu8x8/api/sms", json=body).status == 202
    assert batches(server) == n + 2


def test_a_refusal_is_replayed_too_and_keys_are_per_route(server):
    api = server.client
    key = str(uuid.uuid4())
    bad = keyed(api, "/blu8x8/api/sms", {"text": "", "phones": phones(1)}, key)
    assert bad.status == 422
    assert keyed(api, "/blu8x8/api/sms", {"text": "", "phones": []}, key).status == 422
    again = keyed(api, "/blu8x8/api/sms", {"text": "", "phones": []}, key)
    assert again.status == 422
    cid = new_campaign(api, phones(1))
    # The same key on another route is another request.
    r = keyed(api, f"/blu8x8/api/campaigns/{cid}/queue",
              {"send_at": "2099-01-01T10:00:00Z"}, key)
    assert r.status == 200 and r.json["state"] == "queued"
    assert keyed(api, "/blu8x8/api/sms", {"text": "x", "phones": []},
                 "k" * 256).status == 400


def test_campaign_send_queue_and_test_replay_their_first_answer(server, eightx8):
    api = server.client
    p = phones(2)
    cid = new_campaign(api, p)
    key = str(uuid.uuid4())
    first = keyed(api, f"/blu8x8/api/campaigns/{cid}/send", {}, key)
    assert first.status == 200 and first.json["state"] == "sending"
    again = keyed(api, f"/blu8x8/api/campaigns/{cid}/send", {}, key)
    assert again.status == 200 and again.body == first.body     # not a 409 "already sending"
    assert wait_until(lambda: api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "done",
                      timeout=30, what="campaign done")
    assert len(to(eightx8, p[0])) == 1 and len(to(eightx8, p[1])) == 1
    # Without the key, the same call is refused: the state moved on.
    assert api.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 409

    # Send Test: one message to the phone, the same UMID twice.
    tkey = str(uuid.uuid4())
    t1 = keyed(api, f"/blu8x8/api/campaigns/{cid}/test", {"phone": "0917 555 4001"}, tkey)
    t2 = keyed(api, f"/blu8x8/api/campaigns/{cid}/test", {"phone": "0917 555 4001"}, tkey)
    assert t1.status == 200 and t2.body == t1.body and t1.json["umid"]
    assert len(to(eightx8, "+639175554001")) == 1
    t3 = keyed(api, f"/blu8x8/api/campaigns/{cid}/test", {"phone": "0917 555 4002"}, tkey)
    assert t3.status == 422 and not to(eightx8, "+639175554002")

    # Queue: the replay does not move a later send_at.
    q = new_campaign(api, phones(1))
    qkey = str(uuid.uuid4())
    body = {"send_at": "2099-05-01T08:00:00Z"}
    q1 = keyed(api, f"/blu8x8/api/campaigns/{q}/queue", body, qkey)
    assert q1.status == 200
    assert api.post(f"/blu8x8/api/campaigns/{q}/queue",
                    json={"send_at": "2099-06-01T08:00:00Z"}).status == 200
    q2 = keyed(api, f"/blu8x8/api/campaigns/{q}/queue", body, qkey)
    assert q2.body == q1.body
    assert api.get(f"/blu8x8/api/campaigns/{q}").json["send_at"].startswith("2099-06-01")


def test_concurrent_duplicates_never_send_twice(server, eightx8):
    api = server.client
    eightx8.latency = 0.5                    # the first test send is still in flight
    cid = new_campaign(api, phones(1))
    key = str(uuid.uuid4())
    body = {"phone": "0917 555 4100"}
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: keyed(api, f"/blu8x8/api/campaigns/{cid}/test", body,
                                                key), range(6)))
    eightx8.latency = 0
    statuses = sorted(a.status for a in answers)
    assert statuses.count(200) >= 1 and set(statuses) <= {200, 409}, statuses
    assert len({a.body for a in answers if a.status == 200}) == 1
    assert len(to(eightx8, "+639175554100")) == 1
    # Once answered, every later one is the replay.
    assert keyed(api, f"/blu8x8/api/campaigns/{cid}/test", body, key).status == 200

    skey = str(uuid.uuid4())
    sbody = {"text": "Once only", "phones": phones(3)}
    before = batches(server)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: keyed(api, "/blu8x8/api/sms", sbody, skey), range(8)))
    assert set(a.status for a in answers) <= {202, 409}
    assert batches(server) == before + 1


@pytest.mark.skipif(DB != "pgsql", reason="two servers share one PostgreSQL database")
def test_a_key_holds_across_servers(make_server, eightx8):
    a = make_server()
    b = make_server(share_db_with=a)
    key = str(uuid.uuid4())
    body = {"text": "One server or the other", "phones": phones(1)}
    first = keyed(a.client, "/blu8x8/api/sms", body, key)
    assert first.status == 202
    again = keyed(b.client, "/blu8x8/api/sms", body, key)
    assert again.status == 202 and again.body == first.body
    assert a.sql("SELECT COUNT(*) FROM sms_batches")[0][0] == 1
    assert keyed(b.client, "/blu8x8/api/sms", dict(body, text="Other"), key).status == 422


# ---------------------------------------------------- estimate and dry run

def test_campaign_estimate_counts_before_sending(server):
    api = server.client
    assert api.patch("/blu8x8/api/settings", json={"send_interval": 2}).status == 200
    named, nameless, gone = phones(3)
    assert api.post("/blu8x8/api/contacts", json={"name": "Ana Cruz", "phone": named}).status == 201
    g = api.post("/blu8x8/api/contacts", json={"name": "Gone", "phone": gone}).json
    cid = new_campaign(api, [named, nameless, gone], body="Hi {name}!",
                       fallback_text="Hi {name}! " + "x" * 150)
    assert api.patch(f"/blu8x8/api/contacts/{g['id']}", json={"opted_out": True}).status == 200
    e = api.get(f"/blu8x8/api/campaigns/{cid}/estimate").json
    assert e["recipients"] == 3 and e["sendable"] == 2 and e["opted_out"] == 1
    assert e["empty"] == {"name": 1}
    assert e["sms_parts"] == 4                   # 2 parts each, if every fallback goes
    assert e["seconds"] == 4                     # 2 messages, one every 2 s
    # A daily cap of one: the second message waits for the next local day.
    assert api.patch(f"/blu8x8/api/campaigns/{cid}", json={"daily_cap": 1}).status == 200
    assert api.get(f"/blu8x8/api/campaigns/{cid}/estimate").json["seconds"] > 4
    assert api.patch(f"/blu8x8/api/campaigns/{cid}", json={"daily_cap": None}).status == 200
    # Without {name} nobody gets an empty one.
    plain = new_campaign(api, [nameless], body="Hello")
    assert api.get(f"/blu8x8/api/campaigns/{plain}/estimate").json["empty"] == {"name": 0}
    assert api.get("/blu8x8/api/campaigns/999999/estimate").status == 404
    assert api.patch("/blu8x8/api/settings", json={"send_interval": None}).status == 200
    # The page shows them after the first click, and sends nothing.
    path = f"/blu8x8/campaigns/{cid}"
    r = api.post_form(f"{path}/send", {}, page=path)
    assert r.posted.status == 303
    assert '<strong id="confirm-sendable">2</strong>' in r.text
    assert '<span id="confirm-opted-out">1</span>' in r.text
    assert api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "draft"


def test_sms_dry_run_counts_and_creates_nothing(server, eightx8):
    api = server.client
    p1, p2, p3 = phones(3)
    assert api.post("/blu8x8/api/contacts", json={"name": "Ben", "phone": p1}).status == 201
    o = api.post("/blu8x8/api/contacts", json={"name": "Out", "phone": p3}).json
    assert api.patch(f"/blu8x8/api/contacts/{o['id']}", json={"opted_out": True}).status == 200
    before, sent = batches(server), len(eightx8.requests)
    r = api.post("/blu8x8/api/sms", json={"text": "Hi {name}, a café treat", "dry_run": True,
                                          "phones": [p1, p2, p3, "nope"]})
    assert r.status == 200, r
    out = r.json
    assert out["dry_run"] is True and "id" not in out
    assert out["recipients"] == 2 and out["opted_out"] == 1 and out["invalid_count"] == 1
    assert out["invalid"][0]["value"] == "nope"
    assert out["parts"] == 1 and out["parts_total"] == 2 and out["empty"] == {"name": 1}
    assert batches(server) == before
    assert server.sql("SELECT COUNT(*) FROM messages WHERE phone = ?", (p2,))[0][0] == 0
    assert not eightx8.wait_for(sent + 1, timeout=1.0)
    # Validation is the same as a real send.
    assert api.post("/blu8x8/api/sms", json={"text": "", "dry_run": True,
                                             "phones": [p1]}).status == 422


# ----------------------------------------------------------- post/redirect/get

def test_every_form_answers_303_and_its_result_shows_once(server):
    api = server.client
    cid = new_campaign(api, phones(1))
    path = f"/blu8x8/campaigns/{cid}"
    forms = [
        ("/blu8x8/sms", {"text": "", "phones": "x"}, "/blu8x8/sms"),
        ("/blu8x8/sms", {"text": "Hi", "phones": phones(1)[0]}, "/blu8x8/sms"),
        (f"{path}/send", {}, path),
        (f"{path}/queue", {"send_at": "someday"}, path),
        (f"{path}/test", {"phone": "not a phone"}, path),
        (f"{path}/pause", {}, path),
        (f"{path}/retry-failed", {}, path),
        (f"{path}/recipients", {"who": "0917 555 4200"}, path),
        (f"{path}/recipients/import", {"csv": "0917 555 4201\nbad"}, path),
        (path, {"name": "", "type": "text"}, path),
        ("/blu8x8/campaigns", {"name": "", "type": "text"}, "/blu8x8/campaigns/new"),
        ("/blu8x8/contacts", {"phone": "bad"}, "/blu8x8/contacts"),
        ("/blu8x8/contacts/import", {"csv": "name,phone\nA,0917 555 4202"}, "/blu8x8/contacts"),
        ("/blu8x8/tags", {"name": ""}, "/blu8x8/tags"),
        ("/blu8x8/users", {"login": ""}, "/blu8x8/users"),
        ("/blu8x8/faqs", {"prompt": ""}, "/blu8x8/faqs"),
        ("/blu8x8/faqs/import", {"csv": "Q?,A."}, "/blu8x8/faqs"),
        ("/blu8x8/settings", {"send_interval": "-1"}, "/blu8x8/settings"),
    ]
    for action, fields, lands in forms:
        r = api.post_form(action, fields, page=lands)
        assert r.posted.status == 303, (action, r.posted)
        assert r.posted.header("location") == lands, (action, r.posted.header("location"))
        assert r.posted.header("cache-control") == "no-store"
        # The page shows the result once; a reload (a GET) shows the page only.
        reloaded = api.get(lands)
        assert reloaded.status == 200, (action, reloaded)
    # The results themselves: an import report at the top of the campaign page.
    r = api.post_form(f"{path}/recipients/import", {"csv": "0917 555 4203\nbad"}, page=path)
    assert r.status == 200 and 'id="report"' in r.text and "Line 2" in r.text
    assert r.text.index('id="report"') < r.text.index("<h2>Message</h2>")
    assert 'id="report"' not in api.get(path).text


def test_unqueue_puts_a_queued_campaign_back_to_draft(server):
    api = server.client
    cid = new_campaign(api, phones(1))
    assert api.post(f"/blu8x8/api/campaigns/{cid}/unqueue", json={}).status == 409
    r = api.post(f"/blu8x8/api/campaigns/{cid}/queue", json={"send_at": "2099-01-01T00:00:00Z"})
    assert r.status == 200 and r.json["state"] == "queued"
    r = api.post(f"/blu8x8/api/campaigns/{cid}/unqueue", json={})
    assert r.status == 200 and r.json["state"] == "draft" and r.json["send_at"] is None
    assert api.patch(f"/blu8x8/api/campaigns/{cid}", json={"name": "Editable again"}).status == 200
    # The page's button.
    assert api.post(f"/blu8x8/api/campaigns/{cid}/queue", json={}).status == 200
    path = f"/blu8x8/campaigns/{cid}"
    assert 'id="unqueue"' in api.get(path).text
    r = api.post_form(f"{path}/unqueue", {}, page=path)
    assert r.posted.status == 303 and "Back to Draft" in r.text
    assert api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "draft"


# ------------------------------------------------------------------- FAQ

def faq_import(api, text, mode=None):
    path = "/blu8x8/api/faqs/import" + (f"?mode={mode}" if mode else "")
    return api.post(path, body=text.encode(), headers={"Content-Type": "text/csv"})


def test_faq_import_replace_replaces_every_pair(server):
    api = server.client
    for f in api.get("/blu8x8/api/faqs?per_page=1000").json["items"]:
        api.delete(f"/blu8x8/api/faqs/{f['id']}")
    assert faq_import(api, "prompt,completion\nHours?,8 to 8\nDelivery?,Yes\n").json["added"] == 2
    exported = api.get("/blu8x8/faqs.csv").csv_text
    # Re-importing the export appends by default (duplicates)...
    assert faq_import(api, exported).json["added"] == 2
    assert api.get("/blu8x8/api/faqs").json["total"] == 4
    # ...and replaces with mode=replace.
    r = faq_import(api, exported, "replace")
    assert r.status == 200 and r.json["added"] == 2 and r.json["replaced"] == 4
    assert [f["prompt"] for f in api.get("/blu8x8/api/faqs").json["items"]] == ["Hours?",
                                                                               "Delivery?"]
    # A file without one valid pair replaces nothing.
    assert faq_import(api, "just one column\n", "replace").status == 422
    assert api.get("/blu8x8/api/faqs").json["total"] == 2
    assert faq_import(api, exported, "merge").status == 422
    # The page's choice.
    r = api.post_form("/blu8x8/faqs/import", {"csv": "Menu?,On the site", "mode": "replace"},
                      page="/blu8x8/faqs")
    assert r.posted.status == 303 and "Replaced the 2 pair(s)" in r.text
    assert api.get("/blu8x8/api/faqs").json["total"] == 1


# -------------------------------------------------------------- settings

class _Form(html.parser.HTMLParser):
    """The fields a browser submits from one form (inputs, selects, textareas)."""

    def __init__(self, form_class):
        super().__init__()
        self.form_class, self.inside, self.fields = form_class, False, {}
        self.select = self.textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = self.form_class in (a.get("class") or "").split()
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("checkbox", "radio",
                                                                     "password", "file"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("type") in ("checkbox", "radio") and "checked" in a:
            self.fields[a["name"]] = a.get("value", "on")
        elif tag == "select":
            self.select = a.get("name")
        elif tag == "option" and self.select and ("selected" in a
                                                  or self.select not in self.fields):
            self.fields[self.select] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = a.get("name")
            self.fields[self.textarea] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.fields[self.textarea] += data


def form_fields(page, form_class):
    f = _Form(form_class)
    f.feed(page)
    f.fields.pop("csrf", None)
    return f.fields


def saved_keys(server):
    return {k for (k,) in server.sql("SELECT key FROM settings")}


def test_settings_stay_defaults_and_secrets_clear(server):
    api = server.client
    for key in list(saved_keys(server)):
        assert api.patch("/blu8x8/api/settings", json={key: None}).status == 200
    assert saved_keys(server) == set()
    assert api.patch("/blu8x8/api/settings", json={"send_interval": 1}).status == 200
    assert saved_keys(server) == {"send_interval"}
    s = api.get("/blu8x8/api/settings").json
    assert s["openai_model"]["source"] == "default" and s["send_interval"]["source"] == "database"
    # The page sends every field as shown; only the changed one is stored.
    fields = form_fields(api.get("/blu8x8/settings").text, "settings-form")
    assert fields["send_interval"] == "1" and fields["openai_model"] == "gpt-4o"
    fields["sms_senders"] = fields["sms_senders"].replace("\n", "\r\n")   # as browsers send it
    fields["openai_max_tokens"] = "300"
    r = api.post_form("/blu8x8/settings", fields)
    assert r.posted.status == 303 and "Saved." in r.text, r.text[:2000]
    assert saved_keys(server) == {"send_interval", "openai_max_tokens"}
    # A secret: set, then cleared by null (API) and by the page's box.
    assert api.patch("/blu8x8/api/settings", json={"openai_key": "sk-one"}).status == 200
    assert api.get("/blu8x8/api/settings").json["openai_key"]["set"] is True
    assert api.patch("/blu8x8/api/settings", json={"openai_key": None}).status == 200
    assert api.get("/blu8x8/api/settings").json["openai_key"]["set"] is False
    assert "openai_key" not in saved_keys(server)
    assert api.patch("/blu8x8/api/settings", json={"openai_key": "sk-two"}).status == 200
    assert 'id="clear-openai_key"' in api.get("/blu8x8/settings").text
    r = api.post_form("/blu8x8/settings", {"clear_openai_key": "1"})
    assert r.posted.status == 303
    assert api.get("/blu8x8/api/settings").json["openai_key"]["set"] is False
    for key in ("send_interval", "openai_max_tokens"):
        assert api.patch("/blu8x8/api/settings", json={key: None}).status == 200


def test_timeouts_refuse_zero(server):
    api = server.client
    for key in ("openai_timeout", "http_timeout"):
        r = api.patch("/blu8x8/api/settings", json={key: 0})
        assert r.status == 422 and "at least 1 second" in r.json["fields"][key]
        r = api.patch("/blu8x8/api/settings", json={key: 0.5})
        assert r.status == 422
    assert api.patch("/blu8x8/api/settings", json={"openai_timeout": 1}).status == 200
    assert api.patch("/blu8x8/api/settings", json={"openai_timeout": None}).status == 200


def test_openai_timeout_directive_refuses_zero(make_server):
    h = make_server("Blu8x8OpenAITimeout 0", start=False)
    out = h.check_config()
    assert out.returncode != 0 and "Blu8x8OpenAITimeout" in out.stderr + out.stdout


# ------------------------------------------------------------------- CSV

def test_csv_exports_honour_the_state_filter(server, eightx8):
    api = server.client
    good, bad = phones(2)
    eightx8.reject_msisdn(bad)
    cid = new_campaign(api, [good, bad], body="Hi")
    assert api.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
    assert wait_until(lambda: api.get(f"/blu8x8/api/campaigns/{cid}").json["counts"]
                      .get("failed", 0) == 1, timeout=30, what="one failed")
    rows = list(csv.DictReader(io.StringIO(
        api.get(f"/blu8x8/campaigns/{cid}/recipients.csv?state=failed").csv_text)))
    assert [r["phone"] for r in rows] == [bad]
    both = api.get(f"/blu8x8/campaigns/{cid}/recipients.csv").csv_text
    assert good in both and bad in both
    assert api.get(f"/blu8x8/campaigns/{cid}/recipients.csv?state=nonsense").status == 422
    page = api.get(f"/blu8x8/campaigns/{cid}?state=failed").text
    assert f'recipients.csv?state=failed" id="recipients-csv"' in page
    # sms.csv too.
    p1, p2 = phones(2)
    eightx8.reject_msisdn(p2)
    api.post("/blu8x8/api/sms", json={"text": "Filter me", "phones": [p1, p2]})
    assert wait_until(lambda: any(i["phone"] == p2 and i["state"] == "failed" for i in
                                  api.get("/blu8x8/api/sms?state=failed").json["items"]),
                      timeout=30, what="the SMS failed")
    text = api.get("/blu8x8/sms.csv?state=failed").csv_text
    assert p2 in text and p1 not in text


# ------------------------------------------------------- one "sent" number

def test_one_sent_number_on_the_list_the_api_and_the_page(server, eightx8):
    api = server.client
    ok, gone = phones(2)
    cid = new_campaign(api, [ok, gone], body="Hi")
    assert api.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
    assert wait_until(lambda: api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "done",
                      timeout=30, what="campaign done")
    # One message reached 8x8 but never the phone.
    server.write_sql("UPDATE messages SET state = 'undelivered' WHERE campaign_id = ? "
                     "AND phone = ?", (cid, gone))
    listed = [c for c in api.get("/blu8x8/api/campaigns?state=all&per_page=1000").json["items"]
              if c["id"] == cid][0]
    live = api.get(f"/blu8x8/api/campaigns/{cid}/progress").json
    assert listed["progress"]["sent"] == live["sent"] == 1 and live["failed"] == 1
    page = api.get(f"/blu8x8/campaigns/{cid}").text
    assert '<span id="summary-sent">1</span> sent' in page
    assert '<span id="progress-text">1 / 2 sent</span>' in page
    # The funnel gives rates too.
    funnel = {f["label"]: f for f in live["funnel"]}
    assert funnel["Accepted by 8x8"]["rate"] == 100 and funnel["Failed"]["rate"] == 50
    assert "2 · 100%" in page
