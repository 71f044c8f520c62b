"""Conversations (issue 18), end to end: 8x8 posts inbound messages to the
webhook, the worker asks the OpenAI stand-in, agents claim leads from their
Viber pings, reply from the product (sent once by the direct lane, even
across a worker SIGKILL), and the AI stands back while they do."""

import os
import re
import signal
import time

import pytest

from conftest import inbound_event, wait_until

AI_DIRECTIVES = ("Blu8x8OpenAIKey sk-test-openai\n"
                 "Blu8x8AIQuietWindow 0.3\n"
                 "Blu8x8OpenAITimeout 2\n"
                 "Blu8x8PublicURL https://blu.example.ph\n")

INTENT_Q = ("Is this message showing interest in our coffee products and services? "
            "Answer Yes or No.")
AI_TEXT = "Thanks! An agent will contact you."

AGENTS = (("alice", "Alice", "09171110001"), ("bob", "Bob", "09171110002"))


def inbound(text, phone, name="Maria", umid=None):
    return inbound_event(phone, text, umid=umid, name=name)


def receipt(umid, state):
    return {"namespace": "ChatApps", "eventType": "outbound_message_status_changed",
            "description": "ChatApps outbound message delivery receipt",
            "payload": {"umid": umid, "subAccountId": "BluCoffeePH_TwoWayViber_NOTIF",
                        "channel": "viber", "user": {"msisdn": "+639170000001"},
                        "status": {"state": state, "timestamp": "2026-11-01T08:20:03.12Z"}}}


def post_event(h, event):
    r = h.client.as_user(None).post("/viber/status", json=event)
    assert r.status == 200, r
    return r


def intent_reply(answer):
    def reply(req):
        if req["messages"][0]["content"] == INTENT_Q:
            return answer
        return AI_TEXT
    return reply


def chat_calls(openai, phone_text=None):
    return [r for r in openai.requests
            if r.json and r.json["messages"][0]["content"] != INTENT_Q
            and (phone_text is None or phone_text in r.json["messages"][-1]["content"])]


def viber_sends(eightx8, phone=None):
    return [r.json for r in eightx8.requests
            if r.json and "user" in r.json and (phone is None or r.json["user"]["msisdn"] == phone)]


def texts_to(eightx8, phone):
    return [m["content"].get("text") for m in viber_sends(eightx8, phone)]


def pings(eightx8):
    return [m for m in viber_sends(eightx8) if m["type"] == "buttons"]


def inbound_rows(h, phone):
    return h.client.get(f"/blu8x8/api/inbound?phone={phone[1:]}").json["items"]


def conv_of(h, phone, client=None):
    items = (client or h.client).get(f"/blu8x8/api/conversations?q={phone[1:]}").json["items"]
    assert len(items) == 1, items
    return items[0]


def conversation(h, cid, client=None):
    r = (client or h.client).get(f"/blu8x8/api/conversations/{cid}")
    assert r.status == 200, r
    return r.json


def leads(h):
    return h.client.get("/blu8x8/api/leads").json["items"]


def add_agents(h):
    agents = {}
    for login, name, phone in AGENTS:
        r = h.client.post("/blu8x8/api/users", json={"login": login, "name": name,
                                                      "phone": phone, "roles": ["sales_agent"]})
        assert r.status == 201, r
        agents[login] = r.json
    return agents


@pytest.fixture
def crm(make_server, openai):
    h = make_server(AI_DIRECTIVES)
    assert h.client.patch("/blu8x8/api/settings",
                          json={"ai_respond": True, "da_vinci": True}).status == 200
    h.agents = add_agents(h)
    openai.reply_fn = intent_reply("Yes")
    return h


def claim_link(eightx8, agent_phone):
    for p in pings(eightx8):
        if p["user"]["msisdn"] == agent_phone:
            action = p["content"]["button"]["action"]
            return re.search(r"/crm/\d+/\d+\?sig=[0-9a-f]+", action).group(0)
    raise AssertionError("no ping to " + agent_phone)


def claimed_conversation(h, eightx8, phone, text="I'd like 5 kilos of Barako"):
    """A customer shows interest, the AI answers, alice claims the lead."""
    post_event(h, inbound(text, phone))
    assert wait_until(lambda: len(pings(eightx8)) == 2, timeout=20)
    assert wait_until(lambda: texts_to(eightx8, phone) == [AI_TEXT])
    page = h.client.as_user(None).get(claim_link(eightx8, "+639171110001"))
    assert page.status == 200
    conv = conv_of(h, phone)
    assert f'href="/blu8x8/conversations/{conv["id"]}"' in page.text
    return conv


# --------------------------------------------------------------- the workflow

def test_claim_hands_off_agent_replies_once_resolve_gives_the_ai_back(crm, openai, eightx8):
    h = crm
    phone = "+639175550101"
    conv = claimed_conversation(h, eightx8, phone)
    assert conv["assignee"] == "alice" and conv["status"] == "open" and conv["ai_paused"]
    assert conv["lead_id"] == leads(h)[0]["id"] and leads(h)[0]["status"] == "claimed"
    thread = conversation(h, conv["id"])["messages"]
    assert [m["kind"] for m in thread] == ["inbound", "ai", "system"]
    assert thread[2]["text"] == "Lead claimed by Alice" and thread[1]["state"] == "queued"
    # The ping named the customer's phone.
    assert "+639175550101" in pings(eightx8)[0]["content"]["text"]

    # The next message: no AI answer, no new lead, no new pings; alice hears of it.
    calls = len(openai.requests)
    post_event(h, inbound("Can you deliver on Friday?", phone))
    row = wait_until(lambda: [i for i in inbound_rows(h, phone)
                              if i["text"] == "Can you deliver on Friday?"])[0]
    assert row["ai_state"] == "skipped" and row["ai_error"] == "handled by alice"
    assert wait_until(lambda: texts_to(eightx8, "+639171110001")[1:])
    note = texts_to(eightx8, "+639171110001")[1]
    assert note.startswith("New message from Maria")
    time.sleep(1.0)   # longer than the quiet window: the AI would have been asked by now
    assert len(openai.requests) == calls
    assert len(leads(h)) == 1 and len(pings(eightx8)) == 2
    assert texts_to(eightx8, phone) == [AI_TEXT]

    # alice replies (she logs in with the sales_agent role only): sent once.
    alice = h.client.as_user("alice")
    r = alice.post(f"/blu8x8/api/conversations/{conv['id']}/messages",
                   json={"text": "Hi Maria, Friday works. Alma here."})
    assert r.status == 201, r
    msg = r.json
    assert msg["kind"] == "agent" and msg["author"] == "alice" and msg["direction"] == "out"
    assert msg["state"] in ("pending", "sending", "queued")
    assert wait_until(lambda: len(texts_to(eightx8, phone)) == 2)
    assert texts_to(eightx8, phone)[1] == "Hi Maria, Friday works. Alma here."
    assert wait_until(lambda: [m for m in conversation(h, conv["id"])["messages"]
                               if m["kind"] == "agent" and m["state"] == "queued"])
    umid = h.sql("SELECT umid FROM messages WHERE id = ?", (msg["id"],))[0][0]
    post_event(h, receipt(umid, "delivered"))
    agent_msg = [m for m in conversation(h, conv["id"])["messages"] if m["kind"] == "agent"][0]
    assert agent_msg["state"] == "delivered" and agent_msg["id"] == msg["id"]

    # Resolved: the next message gets an AI answer again.
    r = alice.post(f"/blu8x8/api/conversations/{conv['id']}/resolve", json={})
    assert r.status == 200 and r.json["status"] == "resolved" and not r.json["ai_paused"]
    post_event(h, inbound("And the price for 10 kilos?", phone))
    assert wait_until(lambda: len(texts_to(eightx8, phone)) == 3, timeout=20)
    assert texts_to(eightx8, phone)[2] == AI_TEXT
    assert inbound_rows(h, phone)[0]["ai_state"] == "answered"
    # The AI knows what the agent said (an assistant turn of its history).
    history = chat_calls(openai)[-1].json["messages"]
    assert any(m["role"] == "assistant" and m["content"] == "Hi Maria, Friday works. Alma here."
               for m in history)
    # The inbound reopened it; alice still has it, and no second lead came.
    again = conversation(h, conv["id"])
    assert again["status"] == "open" and again["assignee"] == "alice"
    assert len(leads(h)) == 1 and len(pings(eightx8)) == 2
    time.sleep(0.5)
    assert len(texts_to(eightx8, phone)) == 3


def test_agent_reply_is_sent_once_across_a_worker_sigkill(make_server, eightx8):
    h = make_server()
    phone = "+639175550102"
    post_event(h, inbound("Hello?", phone))
    conv = conv_of(h, phone)
    eightx8.script(200, delay=4, times=1)   # 8x8 takes its time: the worker dies meanwhile
    r = h.client.post(f"/blu8x8/api/conversations/{conv['id']}/messages",
                      json={"text": "Hello from Alma"})
    assert r.status == 201
    assert wait_until(lambda: viber_sends(eightx8, phone), timeout=10)
    pid = h.wait_worker()
    os.kill(pid, signal.SIGKILL)
    h.wait_worker(not_pid=pid)
    time.sleep(6)   # past the slow answer and a few rounds of the new worker's direct lane
    assert len(viber_sends(eightx8, phone)) == 1
    state = [m for m in conversation(h, conv["id"])["messages"] if m["kind"] == "agent"][0]
    # The request may have reached 8x8: never sent again, 'unknown' until a receipt.
    assert state["state"] == "unknown"


def test_handoff_ends_after_ai_handoff_hours_without_an_agent_message(make_server, openai,
                                                                         eightx8):
    h = make_server(AI_DIRECTIVES)
    # 0.001 hours: 3.6 seconds.
    assert h.client.patch("/blu8x8/api/settings",
                          json={"ai_respond": True, "ai_handoff_hours": 0.001}).status == 200
    add_agents(h)
    openai.reply_fn = intent_reply("No")
    phone = "+639175550103"
    post_event(h, inbound("Hi", phone))
    assert wait_until(lambda: texts_to(eightx8, phone) == [AI_TEXT])
    conv = conv_of(h, phone)
    r = h.client.post(f"/blu8x8/api/conversations/{conv['id']}/assign", json={"login": "bob"})
    assert r.status == 200 and r.json["assignee"] == "bob" and r.json["ai_paused"]
    post_event(h, inbound("Are you there?", phone))
    assert wait_until(lambda: inbound_rows(h, phone)[0]["ai_state"] == "skipped")
    assert inbound_rows(h, phone)[0]["ai_error"] == "handled by bob"
    time.sleep(4.0)
    assert conversation(h, conv["id"])["ai_paused"] is False
    post_event(h, inbound("Hello again", phone))
    assert wait_until(lambda: texts_to(eightx8, phone) == [AI_TEXT, AI_TEXT], timeout=20)
    assert inbound_rows(h, phone)[0]["ai_state"] == "answered"
    # Unassigning ends the handoff at once too.
    r = h.client.post(f"/blu8x8/api/conversations/{conv['id']}/assign", json={"login": None})
    assert r.status == 200 and r.json["assignee"] is None
    r = h.client.post(f"/blu8x8/api/conversations/{conv['id']}/assign",
                      json={"login": "nobody-here"})
    assert r.status == 422 and "login" in r.json["fields"]


# ------------------------------------------------------------ who sees what

def test_a_sales_agent_sees_conversations_and_leads_only(make_server):
    h = make_server()
    add_agents(h)
    mine, theirs, free = "+639175550111", "+639175550112", "+639175550113"
    for phone in (mine, theirs, free):
        post_event(h, inbound("Hi", phone))
    ids = {p: conv_of(h, p)["id"] for p in (mine, theirs, free)}
    assert h.client.post(f"/blu8x8/api/conversations/{ids[mine]}/assign",
                         json={"login": "alice"}).status == 200
    assert h.client.post(f"/blu8x8/api/conversations/{ids[theirs]}/assign",
                         json={"login": "bob"}).status == 200

    alice = h.client.as_user("alice")
    for path in ("/blu8x8/campaigns", "/blu8x8/api/campaigns", "/blu8x8/settings",
                 "/blu8x8/api/settings", "/blu8x8/users", "/blu8x8/api/users",
                 "/blu8x8/leads.csv", "/blu8x8/contacts", "/blu8x8/api/inbound",
                 "/blu8x8/sms", "/blu8x8/api/status", "/blu8x8/faqs",
                 # issue 19's results: admin-only
                 "/blu8x8/campaigns/1", "/blu8x8/api/campaigns/1/stats",
                 "/blu8x8/api/campaigns/1/timeline", "/blu8x8/api/stats"):
        assert alice.get(path).status == 403, path
    assert alice.post("/blu8x8/api/campaigns", json={"name": "x", "type": "text",
                                                     "body": "x"}).status == 403
    assert alice.patch("/blu8x8/api/settings", json={"ai_respond": True}).status == 403
    home = alice.get("/blu8x8/")
    assert home.status == 303 and home.header("Location").endswith("/blu8x8/conversations")

    seen = {c["id"] for c in alice.get("/blu8x8/api/conversations").json["items"]}
    assert seen == {ids[mine], ids[free]}
    assert alice.get(f"/blu8x8/api/conversations/{ids[theirs]}").status == 404
    assert alice.post(f"/blu8x8/api/conversations/{ids[theirs]}/messages",
                      json={"text": "hi"}).status == 404
    assert alice.get("/blu8x8/api/conversations?assignee=none").json["total"] == 1
    assert alice.get("/blu8x8/api/conversations?assignee=alice").json["total"] == 1
    page = alice.get("/blu8x8/conversations")
    assert page.status == 200 and ">Campaigns<" not in page.text and ">Leads<" in page.text
    assert alice.get(f"/blu8x8/conversations/{ids[mine]}").status == 200
    assert alice.get("/blu8x8/leads").status == 200
    assert alice.get("/blu8x8/api/leads").status == 200
    # Administrators see every conversation; a login without a role sees nothing.
    assert h.client.get("/blu8x8/api/conversations").json["total"] == 3
    assert h.client.as_user("carol").get("/blu8x8/conversations").status == 403


def test_list_filters_status_assignee_and_unread(make_server):
    h = make_server()
    add_agents(h)
    a, b = "+639175550121", "+639175550122"
    post_event(h, inbound("first", a))
    post_event(h, inbound("second", b))
    items = h.client.get("/blu8x8/api/conversations").json["items"]
    assert [c["phone"] for c in items] == [b, a]                  # newest activity first
    assert all(c["unread"] for c in items)
    ca = conv_of(h, a)
    h.client.get(f"/blu8x8/conversations/{ca['id']}")              # opened: read
    assert conv_of(h, a)["unread"] is False
    post_event(h, inbound("third", a))
    assert conv_of(h, a)["unread"] is True and conv_of(h, a)["last_text"] == "third"
    assert "third" in h.client.get("/blu8x8/conversations").text      # the list's preview
    assert [c["phone"] for c in h.client.get("/blu8x8/api/conversations").json["items"]] == [a, b]
    h.client.post(f"/blu8x8/api/conversations/{ca['id']}/resolve", json={})
    assert [c["phone"] for c in
            h.client.get("/blu8x8/api/conversations?status=open").json["items"]] == [b]
    assert [c["phone"] for c in
            h.client.get("/blu8x8/api/conversations?status=resolved").json["items"]] == [a]
    h.client.post(f"/blu8x8/api/conversations/{ca['id']}/reopen", json={})
    h.client.post(f"/blu8x8/api/conversations/{ca['id']}/assign", json={"login": "bob"})
    assert [c["phone"] for c in
            h.client.get("/blu8x8/api/conversations?assignee=bob").json["items"]] == [a]
    assert [c["phone"] for c in
            h.client.get("/blu8x8/api/conversations?assignee=none").json["items"]] == [b]
    assert h.client.get("/blu8x8/api/conversations?status=closed").status == 422
    notes = [m["text"] for m in conversation(h, ca["id"])["messages"] if m["kind"] == "system"]
    assert notes == ["Resolved by admin", "Reopened by admin", "Assigned to Bob by admin"]
    assert conv_of(h, a)["last_text"] == "Assigned to Bob by admin"
    assert h.client.get("/blu8x8/api/conversations/999999").status == 404


# ------------------------------------------------------- one thread, one lead

def test_the_same_inbound_five_times_is_one_thread_entry(make_server):
    h = make_server()
    phone = "+639175550131"
    event = inbound("Is the shop open today?", phone)
    for _ in range(5):
        post_event(h, event)
    thread = conversation(h, conv_of(h, phone)["id"])["messages"]
    assert [m["text"] for m in thread] == ["Is the shop open today?"]
    assert h.client.get("/blu8x8/api/conversations").json["total"] == 1


def test_the_claimer_hears_of_new_messages_at_most_every_ten_minutes(crm, openai, eightx8):
    h = crm
    phone = "+639175550141"
    conv = claimed_conversation(h, eightx8, phone)
    notes = lambda: [t for t in texts_to(eightx8, "+639171110001")  # noqa: E731
                     if t.startswith("New message from")]
    post_event(h, inbound("one", phone))
    assert wait_until(lambda: len(notes()) == 1)
    post_event(h, inbound("two", phone))
    post_event(h, inbound("three", phone))
    time.sleep(1.5)
    assert len(notes()) == 1
    assert notes()[0] == (f"New message from Maria\n"
                          f"https://blu.example.ph/blu8x8/conversations/{conv['id']}")
    # Eleven minutes later (the last note's time moved back), the next one tells again.
    h.write_sql("UPDATE conversations SET note_at = ? WHERE id = ?",
                ("2020-01-01T00:00:00.000Z", conv["id"]))
    post_event(h, inbound("four", phone))
    assert wait_until(lambda: len(notes()) == 2)
    # Bob, who did not claim it, heard nothing but the ping.
    assert texts_to(eightx8, "+639171110002")[1:] == []
    assert len(leads(h)) == 1


def test_lead_status_and_notes_then_a_new_lead_after_it_closes(crm, openai, eightx8):
    h = crm
    phone = "+639175550151"
    post_event(h, inbound("I want beans", phone))
    assert wait_until(lambda: len(pings(eightx8)) == 2, timeout=20)
    lead = leads(h)[0]
    assert lead["status"] == "new" and lead["notes"] is None and lead["conversation_id"]
    # An unclaimed open lead: a follow-up with interest joins it (no new pings).
    post_event(h, inbound("Also a grinder please", phone))
    assert wait_until(lambda: len(texts_to(eightx8, phone)) == 2, timeout=20)
    assert len(leads(h)) == 1 and len(pings(eightx8)) == 2

    r = h.client.patch(f"/blu8x8/api/leads/{lead['id']}", json={"status": "won",
                                                                 "notes": "Paid 5 kg"})
    assert r.status == 200 and r.json["status"] == "won" and r.json["notes"] == "Paid 5 kg"
    assert h.client.patch(f"/blu8x8/api/leads/{lead['id']}",
                          json={"status": "maybe"}).status == 422
    assert h.client.patch("/blu8x8/api/leads/999999", json={"status": "won"}).status == 404
    assert [l["id"] for l in h.client.get("/blu8x8/api/leads?status=won").json["items"]] == [
        lead["id"]]
    assert h.client.get("/blu8x8/api/leads?status=open").json["items"] == []
    page = h.client.get("/blu8x8/leads?status=won").text
    assert "Paid 5 kg" in page and f"/blu8x8/conversations/{lead['conversation_id']}" in page

    # Closed: the next interest makes a new lead and pings again.
    post_event(h, inbound("Another order please", phone))
    assert wait_until(lambda: len(leads(h)) == 2, timeout=20)
    assert wait_until(lambda: len(pings(eightx8)) == 4)
    assert conv_of(h, phone)["lead_id"] == leads(h)[0]["id"]
    # A sales agent sees the unclaimed leads and theirs; bob claims one.
    page = h.client.as_user(None).get(claim_link(eightx8, "+639171110002"))
    assert page.status in (200, 409)
    alice = h.client.as_user("alice")
    visible = {l["id"] for l in alice.get("/blu8x8/api/leads").json["items"]}
    claimed_by_bob = {l["id"] for l in leads(h) if l["claimed_by"] == "bob"}
    assert claimed_by_bob and not (visible & claimed_by_bob)
    assert alice.patch(f"/blu8x8/api/leads/{next(iter(claimed_by_bob))}",
                       json={"notes": "x"}).status == 404


def test_a_failed_ai_answer_is_retried_from_the_conversation(make_server, openai, eightx8):
    h = make_server(AI_DIRECTIVES)
    assert h.client.patch("/blu8x8/api/settings", json={"ai_respond": True}).status == 200
    openai.reply_fn = intent_reply("No")
    openai.fail(401, times=1)
    phone = "+639175550161"
    post_event(h, inbound("Hi there", phone))
    assert wait_until(lambda: inbound_rows(h, phone)[0]["ai_state"] == "failed")
    conv = conv_of(h, phone)
    page = h.client.get(f"/blu8x8/conversations/{conv['id']}").text
    assert 'id="retry-ai"' in page and "invalid OpenAI key" in page
    r = h.client.post(f"/blu8x8/api/conversations/{conv['id']}/retry-ai", json={})
    assert r.status == 200 and r.json == {"retried": 1}
    assert wait_until(lambda: texts_to(eightx8, phone) == [AI_TEXT], timeout=20)
    assert inbound_rows(h, phone)[0]["ai_state"] == "answered"
    # Nothing failed any more: 409; the inbound route says the same.
    assert h.client.post(f"/blu8x8/api/conversations/{conv['id']}/retry-ai",
                         json={}).status == 409
    row = inbound_rows(h, phone)[0]
    assert h.client.post(f"/blu8x8/api/inbound/{row['id']}/retry-ai", json={}).status == 409


def test_reply_checks(make_server):
    h = make_server()
    phone = "+639175550171"
    post_event(h, inbound("Hi", phone))
    conv = conv_of(h, phone)
    url = f"/blu8x8/api/conversations/{conv['id']}/messages"
    assert h.client.post(url, json={"text": "   "}).status == 422
    assert h.client.post(url, json={"text": "x" * 1001}).status == 422
    assert h.client.post(url, body=b"text=hi",
                         headers={"Content-Type": "application/x-www-form-urlencoded"}
                         ).status == 415
    # The page's form (CSRF) sends too, and the thread shows it with its state.
    r = h.client.post_form(f"/blu8x8/conversations/{conv['id']}/reply", {"text": "<b>Hi</b>"},
                           page=f"/blu8x8/conversations/{conv['id']}")
    assert r.posted.status == 303   # post/redirect/get: post_form follows it
    page = h.client.get(f"/blu8x8/conversations/{conv['id']}").text
    assert "&lt;b&gt;Hi&lt;/b&gt;" in page and "<b>Hi</b>" not in page
    # STOP: no reply can be sent.
    post_event(h, inbound("STOP", phone))
    r = h.client.post(url, json={"text": "Still there?"})
    assert r.status == 409 and r.json["state"] == "opted_out"
