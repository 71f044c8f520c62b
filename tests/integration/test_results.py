"""Which campaign sold coffee (issue 19): tracked button links, replies and
leads attributed to the latest campaign in the window, results, timeline,
retargeting and the dashboard's days."""
from __future__ import annotations

import datetime
import itertools
import re
import uuid

import pytest

import conftest
from conftest import Httpd, _servers, new_root, wait_until

PUBLIC = "https://blu.example.ph"
SHOP = "https://shop.example.ph/beans?promo=barako"
BROWSER = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
           "(KHTML, like Gecko) Mobile/15E148 Viber/21.0")
INTENT_Q = ("Is this message showing interest in our coffee products and services? "
            "Answer Yes or No.")
_phones = itertools.count(1)


def new_phone() -> str:
    return f"+63928{next(_phones):07d}"


def iso(dt: datetime.datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def now_iso(**delta) -> str:
    return iso(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(**delta))


@pytest.fixture(scope="module")
def rserver(eightx8, openai):
    """A server with a public URL, the AI reply and Da Vinci (leads) on."""
    h = Httpd(new_root(), "Blu8x8OpenAIKey sk-test-openai\nBlu8x8AIQuietWindow 0.2\n"
              "Blu8x8OpenAITimeout 2\n", eightx8, openai).start()
    _servers.append(h)
    r = h.client.patch("/blu8x8/api/settings", json={
        "public_url": PUBLIC, "send_interval": 0, "ai_respond": True, "da_vinci": True})
    assert r.status == 200, r
    yield h
    conftest.close_module_server(h)


@pytest.fixture(autouse=True)
def _check_rserver_log(request, _expected_tags):
    """As the shared server's: crashes, and error-level lines no test expects."""
    yield
    if "rserver" in request.fixturenames:
        h = request.getfixturevalue("rserver")
        problems = h.problems() + h.log_errors(conftest._expected)
        assert not problems, "server problems:\n" + "\n".join(problems)


@pytest.fixture(autouse=True)
def _answers(openai):
    # Intent: a message with "buy" is a lead; every reply is a plain thanks.
    def reply(req):
        if req["messages"][0]["content"] == INTENT_Q:
            return "Yes" if "buy" in req["messages"][-1]["content"].lower() else "No"
        return "Thanks!"
    openai.reply_fn = reply
    yield


# ------------------------------------------------------------------ helpers

def make_campaign(api, phones, **fields) -> int:
    body = {"name": f"Results {uuid.uuid4().hex[:6]}", "type": "text", "body": "Fresh Barako",
            "button_caption": "Order now", "button_url": SHOP}
    body.update(fields)
    r = api.post("/blu8x8/api/campaigns", json=body)
    assert r.status == 201, r
    cid = r.json["id"]
    r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients", json={"phones": list(phones)})
    assert r.status == 200 and r.json["added"] == len(phones), r
    return cid


def send(h, cid) -> None:
    c = h.client
    assert c.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200

    def processed():
        counts = c.get(f"/blu8x8/api/campaigns/{cid}/progress").json["counts"]
        return counts["pending"] == 0 and counts["sending"] == 0
    wait_until(processed, what=f"campaign {cid} sent")


def sent_campaign(h, n, **fields):
    phones = [new_phone() for _ in range(n)]
    cid = make_campaign(h.client, phones, **fields)
    send(h, cid)
    return cid, phones


def button_link(eightx8, phone) -> str:
    sends = [r.json for r in eightx8.requests
             if (r.json or {}).get("user", {}).get("msisdn") == phone
             and r.json.get("type") == "buttons"]
    assert sends, f"no button message to {phone}"
    return sends[-1]["content"]["button"]["action"]


def row(h, cid, phone) -> dict:
    cols = ("id", "state", "umid", "clicks", "clicked_at", "replied_at", "sent_at")
    r = h.sql(f"SELECT {', '.join(cols)} FROM messages WHERE campaign_id = ? AND phone = ?",
              (cid, phone))
    return dict(zip(cols, r[0]))


def hook(h, body):
    r = h.client.as_user(None).post("/viber/status", json=body)
    assert r.status == 200, r


def receipt(h, cid, phone, state):
    umid = row(h, cid, phone)["umid"]
    hook(h, {"namespace": "ChatApps", "eventType": "outbound_message_status_changed",
             "version": 9, "payload": {
                 "umid": umid, "subAccountId": "BluCoffeePH_TwoWayViber_NOTIF",
                 "channel": "viber", "user": {"msisdn": phone},
                 "status": {"state": state, "timestamp": now_iso()}}})


def reply(h, phone, text="Hello"):
    umid = str(uuid.uuid4())
    hook(h, {"namespace": "ChatApps", "eventType": "inbound_message_received",
             "payload": {"umid": umid, "subAccountId": "BluCoffeePH_TwoWayViber_NOTIF",
                         "timestamp": now_iso(),
                         "user": {"msisdn": phone, "channelUserId": phone.lstrip("+"),
                                  "name": "Ana"},
                         "recipient": {"channel": "viber", "channelId": "2f9c"},
                         "type": "Text", "content": {"text": text}}})
    return h.sql("SELECT id, campaign_id FROM inbound WHERE umid = ?", (umid,))[0]


def stats(h, cid) -> dict:
    r = h.client.get(f"/blu8x8/api/campaigns/{cid}/stats")
    assert r.status == 200, r
    return r.json


def click(h, path, ua=BROWSER, method="GET"):
    return h.client.as_user(None).request(method, path, headers={"User-Agent": ua})


def clicks_become(h, cid, phone, n) -> dict:
    """Clicks are written by the recorder thread just after the answer, in
    the order they came: waits for n, and there must not be more."""
    r = wait_until(lambda: (lambda r: r if r["clicks"] >= n else None)(row(h, cid, phone)),
                   what=f"{n} click(s) recorded")
    assert r["clicks"] == n, r
    return r


def tap(h, eightx8, cid, phone, n=1):
    """A customer taps the button; returns once the click is recorded."""
    assert click(h, "/r/" + button_link(eightx8, phone).rsplit("/r/", 1)[1]).status == 302
    clicks_become(h, cid, phone, n)


def recount(h, cid) -> dict:
    """The results counted again from the recipient rows the API lists."""
    items = h.client.get(f"/blu8x8/api/campaigns/{cid}/recipients?per_page=1000").json["items"]
    accepted = [i for i in items
                if i["state"] in ("queued", "sent", "delivered", "read", "undelivered")]
    return {
        "accepted": len(accepted),
        "delivered": sum(i["state"] in ("delivered", "read") for i in items),
        "read": sum(i["state"] == "read" for i in items),
        "clicked": sum(i["clicked_at"] is not None for i in items),
        "replied": sum(i["replied_at"] is not None for i in items),
        "leads": h.sql("SELECT COUNT(*) FROM leads WHERE campaign_id = ?", (cid,))[0][0],
    }


# ------------------------------------------------------------------- clicks

def test_click_redirects_to_the_button_url_and_counts_once_per_get(rserver, eightx8):
    h = rserver
    cid, (p1, p2) = sent_campaign(h, 2)
    link = button_link(eightx8, p1)
    m = re.fullmatch(re.escape(PUBLIC) + r"/r/([0-9]+-[0-9a-f]{20})", link)
    assert m, link
    path = "/r/" + m.group(1)
    assert button_link(eightx8, p2) != link, "one link per recipient"
    assert row(h, cid, p1)["clicks"] == 0

    r = click(h, path)
    assert r.status == 302 and r.header("location") == SHOP
    first = clicks_become(h, cid, p1, 1)
    assert first["clicked_at"]
    r = click(h, path)
    assert r.status == 302 and r.header("location") == SHOP
    again = clicks_become(h, cid, p1, 2)
    assert again["clicked_at"] == first["clicked_at"]

    # HEAD and link-preview fetchers: sent on, not counted.
    assert click(h, path, method="HEAD").status == 302
    for ua in ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
               "WhatsApp/2.23.20.0 A", "Viber", "TelegramBot (like TwitterBot)",
               "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", ""):
        r = click(h, path, ua=ua)
        assert r.status == 302 and r.header("location") == SHOP, ua
    # One more counted click: written after anything queued before it, so
    # exactly 3 means none of those was counted.
    assert click(h, path).status == 302
    assert clicks_become(h, cid, p1, 3)["clicked_at"] == first["clicked_at"]
    assert row(h, cid, p2)["clicks"] == 0

    # The campaign's counts and results know it; the recipient row too.
    assert h.client.get(f"/blu8x8/api/campaigns/{cid}").json["counts"]["clicked"] == 1
    assert stats(h, cid)["clicked"] == 1
    items = h.client.get(f"/blu8x8/api/campaigns/{cid}/recipients").json["items"]
    mine = [i for i in items if i["phone"] == p1][0]
    assert mine["clicks"] == 3 and mine["clicked_at"] == first["clicked_at"]
    csv = h.client.get(f"/blu8x8/campaigns/{cid}/recipients.csv").csv_text
    header = csv.splitlines()[0]
    assert header.endswith("updated_at,clicked_at,clicks,replied_at"), header
    assert any(line.startswith(p1) and ",3," in line for line in csv.splitlines())


def test_tampered_or_foreign_tokens_answer_404_and_count_nothing(rserver, eightx8):
    h = rserver
    cid, (p1,) = sent_campaign(h, 1)
    path = "/r/" + button_link(eightx8, p1).rsplit("/r/", 1)[1]
    mid, sig = path[3:].split("-")
    flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    other = str(int(mid) + 1)
    for bad in (f"/r/{mid}-{flipped}", f"/r/{other}-{sig}", f"/r/{mid}-{sig[:-1]}",
                f"/r/{mid}", f"/r/{mid}-{sig}/x", f"/r/0{mid}-{sig}", "/r/",
                f"/r/{mid}-{sig.upper()}", f"/r/-{sig}"):
        r = click(h, bad)
        assert r.status == 404, bad
        assert "location" not in r.headers, bad
    # Only GET and HEAD.
    assert click(h, path, method="POST").status == 405
    # The real link: exactly one click, so none of the above counted.
    assert click(h, path).status == 302
    assert clicks_become(h, cid, p1, 1)


def test_without_a_public_url_the_button_keeps_the_plain_url(rserver, eightx8):
    h = rserver
    assert h.client.patch("/blu8x8/api/settings", json={"public_url": ""}).status == 200
    try:
        cid, (p1,) = sent_campaign(h, 1)
        assert button_link(eightx8, p1) == SHOP
    finally:
        assert h.client.patch("/blu8x8/api/settings",
                              json={"public_url": PUBLIC}).status == 200


# -------------------------------------------------------------- attribution

def test_replies_and_leads_inside_the_window_count_for_the_campaign(rserver, eightx8):
    h = rserver
    cid, (inside, outside, silent) = sent_campaign(h, 3)
    # outside: reached 8 days ago, beyond the 7-day window.
    h.write_sql("UPDATE messages SET sent_at = ? WHERE campaign_id = ? AND phone = ?",
                (now_iso(days=8), cid, outside))
    in_id, attributed = reply(h, inside, "I want to buy 2 kilos of Barako")
    assert attributed == cid
    out_id, attributed = reply(h, outside, "I want to buy beans too")
    assert attributed is None
    assert row(h, cid, inside)["replied_at"]
    assert row(h, cid, outside)["replied_at"] is None
    # Both become leads (Da Vinci); only the one inside counts for the campaign.
    wait_until(lambda: h.sql("SELECT COUNT(*) FROM leads WHERE inbound_id IN (?, ?)",
                             (in_id, out_id))[0][0] == 2, what="two leads")
    by_inbound = dict(h.sql("SELECT inbound_id, campaign_id FROM leads "
                            "WHERE inbound_id IN (?, ?)", (in_id, out_id)))
    assert by_inbound == {in_id: cid, out_id: None}
    s = stats(h, cid)
    assert (s["replied"], s["leads"], s["won"]) == (1, 1, 0)
    # An agent wins the campaign's lead: the campaign has one won lead; the
    # lead outside the window, won too, does not count for it.
    leads_by_inbound = dict(h.sql("SELECT inbound_id, id FROM leads WHERE inbound_id IN (?, ?)",
                                  (in_id, out_id)))
    for lead_id in (leads_by_inbound[in_id], leads_by_inbound[out_id]):
        r = h.client.patch(f"/blu8x8/api/leads/{lead_id}", json={"status": "won"})
        assert r.status == 200 and r.json["status"] == "won"
    assert stats(h, cid)["won"] == 1
    # A second reply keeps the first reply's time.
    first = row(h, cid, inside)["replied_at"]
    reply(h, inside, "Thanks")
    assert row(h, cid, inside)["replied_at"] == first
    assert stats(h, cid)["replied"] == 1

    # The window is a setting.
    assert h.client.patch("/blu8x8/api/settings", json={"attribution_days": 9}).status == 200
    try:
        assert reply(h, outside, "hello again")[1] == cid
    finally:
        assert h.client.patch("/blu8x8/api/settings",
                              json={"attribution_days": 7}).status == 200


def test_two_campaigns_to_one_phone_attribute_to_the_latest(rserver):
    h = rserver
    phone = new_phone()
    first = make_campaign(h.client, [phone])
    send(h, first)
    second = make_campaign(h.client, [phone])
    send(h, second)
    # Reached an hour apart, both inside the window.
    h.write_sql("UPDATE messages SET sent_at = ? WHERE campaign_id = ?", (now_iso(hours=2), first))
    h.write_sql("UPDATE messages SET sent_at = ? WHERE campaign_id = ?", (now_iso(hours=1), second))
    assert reply(h, phone, "which one?")[1] == second
    assert row(h, second, phone)["replied_at"] and row(h, first, phone)["replied_at"] is None
    assert stats(h, first)["replied"] == 0 and stats(h, second)["replied"] == 1
    # A recipient whose message never reached them (failed) does not count.
    third = make_campaign(h.client, [phone])
    send(h, third)
    h.write_sql("UPDATE messages SET state = 'failed' WHERE campaign_id = ?", (third,))
    assert reply(h, phone, "still here")[1] == second


def test_stop_is_not_a_reply(rserver):
    h = rserver
    cid, (p1,) = sent_campaign(h, 1)
    assert reply(h, p1, "STOP")[1] is None
    assert stats(h, cid)["replied"] == 0


# ------------------------------------------------------------------ results

def test_stats_equal_a_recount_from_the_recipient_rows(rserver, eightx8):
    h = rserver
    cid, phones = sent_campaign(h, 6)
    receipt(h, cid, phones[0], "read")
    receipt(h, cid, phones[1], "read")
    receipt(h, cid, phones[2], "delivered")
    receipt(h, cid, phones[3], "undelivered")
    for p in phones[:1] + phones[2:3]:
        tap(h, eightx8, cid, p)
    reply(h, phones[1], "I will buy a bag")
    wait_until(lambda: h.sql("SELECT COUNT(*) FROM leads WHERE campaign_id = ?", (cid,))[0][0],
               what="lead")
    s = stats(h, cid)
    want = recount(h, cid)
    assert {k: s[k] for k in want} == want
    assert want == {"accepted": 6, "delivered": 3, "read": 2, "clicked": 2, "replied": 1,
                    "leads": 1}
    assert s["rates"] == {"delivered": 0.5, "read": 0.3333, "clicked": 0.3333, "replied": 0.1667}

    # Timeline: every event in one bucket or another, whatever the size.
    for bucket in ("hour", "day"):
        r = h.client.get(f"/blu8x8/api/campaigns/{cid}/timeline?bucket={bucket}")
        assert r.status == 200, r
        t = r.json
        assert t and set(t[0]) == {"t", "sent", "delivered", "read", "clicked", "replied"}
        totals = {k: sum(b[k] for b in t) for k in ("sent", "delivered", "read", "clicked",
                                                    "replied")}
        assert totals == {"sent": 6, "delivered": 3, "read": 2, "clicked": 2, "replied": 1}
        assert [b["t"] for b in t] == sorted(b["t"] for b in t)
    assert h.client.get(f"/blu8x8/api/campaigns/{cid}/timeline?bucket=week").status == 422
    assert h.client.get("/blu8x8/api/campaigns/999999/stats").status == 404
    assert h.client.get("/blu8x8/api/campaigns/999999/timeline").status == 404

    # The campaign page draws the funnel and the timeline (inline SVG, no script).
    page = h.client.get(f"/blu8x8/campaigns/{cid}").text
    results = page[page.index('id="results"'):]
    for label in ("Accepted", "Delivered", "Read", "Clicked", "Replied", "Leads", "Won"):
        assert label in results
    assert "33.3%" in results and "<svg" in results and "<polyline" in results


def test_timeline_of_a_long_campaign_is_hours_then_days_on_the_page(rserver):
    h = rserver
    cid, phones = sent_campaign(h, 3)
    h.write_sql("UPDATE messages SET sent_at = ? WHERE campaign_id = ? AND phone = ?",
                (now_iso(days=5), cid, phones[0]))
    h.write_sql("UPDATE messages SET sent_at = ? WHERE campaign_id = ? AND phone = ?",
                (now_iso(days=4, hours=12), cid, phones[1]))
    hours = h.client.get(f"/blu8x8/api/campaigns/{cid}/timeline?bucket=hour").json
    days = h.client.get(f"/blu8x8/api/campaigns/{cid}/timeline?bucket=day").json
    assert 5 * 24 - 2 <= len(hours) <= 5 * 24 + 2, len(hours)   # consecutive hours
    assert 5 <= len(days) <= 6
    assert sum(b["sent"] for b in hours) == sum(b["sent"] for b in days) == 3


# -------------------------------------------------------------- retargeting

def test_retargeting_picks_exactly_the_rows_meant(rserver, eightx8):
    h = rserver
    c = h.client
    cid, (clicked, read_only, delivered, replied) = sent_campaign(h, 4)
    for p in (clicked, read_only, replied):
        receipt(h, cid, p, "read")
    receipt(h, cid, delivered, "delivered")
    tap(h, eightx8, cid, clicked)
    reply(h, replied, "nice")

    def retarget(cond):
        target = make_campaign(c, [new_phone()])
        r = c.post(f"/blu8x8/api/campaigns/{target}/recipients",
                   json={"from_campaign": {"id": cid, **cond}})
        assert r.status == 200, r
        items = c.get(f"/blu8x8/api/campaigns/{target}/recipients?per_page=100").json["items"]
        return r.json, {i["phone"] for i in items[1:]}

    assert retarget({"states": ["read"], "clicked": False})[1] == {read_only, replied}
    assert retarget({"states": ["read"], "clicked": False, "replied": False})[1] == {read_only}
    assert retarget({"clicked": True})[1] == {clicked}
    assert retarget({"replied": True})[1] == {replied}
    assert retarget({"states": ["delivered", "read"]})[1] == {clicked, read_only, delivered,
                                                              replied}
    assert retarget({"states": []})[1] == set()
    # Opted out since: left out, and said so.
    assert c.post("/blu8x8/api/contacts", json={"name": "Out", "phone": read_only,
                                                "opted_out": True}).status == 201
    report, got = retarget({"states": ["read"], "clicked": False, "replied": False})
    assert got == set() and report["opted_out"] == 1

    target = make_campaign(c, [new_phone()])
    for bad in ({"id": 999999}, {"id": cid, "states": ["gone"]}, {"id": cid, "clicked": "yes"},
                {"states": ["read"]}, "x"):
        r = c.post(f"/blu8x8/api/campaigns/{target}/recipients", json={"from_campaign": bad})
        assert r.status == 422, (bad, r)


# ---------------------------------------------------------------- dashboard

def test_dashboard_days_and_charts(rserver, eightx8):
    h = rserver
    c = h.client
    cid, phones = sent_campaign(h, 2)
    receipt(h, cid, phones[0], "read")
    r = c.get("/blu8x8/api/stats?days=30")
    assert r.status == 200, r
    days = r.json["days"]
    assert len(days) == 30
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    assert days[-1]["date"] == today and [d["date"] for d in days] == sorted(d["date"] for d in days)
    for key in ("sent", "delivered", "read", "clicked", "replies", "leads", "sms", "sms_cost"):
        assert key in days[-1]
    sent_today = h.sql("SELECT COUNT(*) FROM messages WHERE kind = 'campaign' AND sent_at >= ?",
                       (today,))[0][0]
    assert days[-1]["sent"] == sent_today >= 2
    assert days[-1]["replies"] == h.sql("SELECT COUNT(*) FROM inbound WHERE received_at >= ?",
                                        (today,))[0][0]
    assert len(c.get("/blu8x8/api/stats?days=7").json["days"]) == 7
    assert len(c.get("/blu8x8/api/stats").json["days"]) == 30
    for bad in ("0", "367", "x"):
        assert c.get(f"/blu8x8/api/stats?days={bad}").status == 422

    # SMS and their cost per sender account.
    r = c.post("/blu8x8/api/sms", json={"phones": [new_phone()], "text": "Promo"})
    assert r.status == 202, r
    wait_until(lambda: c.get("/blu8x8/api/stats?days=1").json["days"][-1]["sms"] >= 1,
               what="an SMS counted")
    page = c.get("/blu8x8/").text
    assert page.count("<svg") >= 2 and "<script src=\"http" not in page


def test_retargeting_from_the_campaign_page(rserver, eightx8):
    """The page's form: "read but didn't click" of another campaign."""
    h = rserver
    c = h.client
    cid, (clicked, read_only, unread) = sent_campaign(h, 3)
    receipt(h, cid, clicked, "read")
    receipt(h, cid, read_only, "read")
    tap(h, eightx8, cid, clicked)
    r = c.post("/blu8x8/api/campaigns", json={"name": "Second chance", "type": "text",
                                               "body": "Still thinking?"})
    target = r.json["id"]
    page = c.get(f"/blu8x8/campaigns/{target}").text
    form = page[page.index('id="retarget"'):]
    assert f'<option value="{cid}">' in form
    assert re.search(r"Read but didn(&#39;|&#x27;|')t click", form)
    r = c.post_form(f"/blu8x8/campaigns/{target}/recipients",
                    {"mode": "retarget", "from_id": str(cid), "segment": "read_not_clicked"},
                    page=f"/blu8x8/campaigns/{target}")
    assert r.status == 200, r
    items = c.get(f"/blu8x8/api/campaigns/{target}/recipients").json["items"]
    assert [i["phone"] for i in items] == [read_only]
    r = c.post_form(f"/blu8x8/campaigns/{target}/recipients",
                    {"mode": "retarget", "from_id": str(cid), "segment": "bogus"},
                    page=f"/blu8x8/campaigns/{target}")
    assert r.status == 422 and "Choose a campaign and a segment." in r.text
