"""Friction that makes people doubt what happened (issue 17): a sales agent
without a phone is warned about on the Users and Leads pages; a Draft never
sent is not in the Inbox; the SMS log's state filter lists only states an
SMS can have, and the log refreshes itself (data-refresh, see the browser
test)."""

from __future__ import annotations

import json
import re
import uuid

from conftest import Client


def test_agent_without_phone_is_warned_about_on_users_and_leads(api):
    login = f"agent{uuid.uuid4().hex[:6]}"
    r = api.post("/blu8x8/api/users", json={"login": login, "name": "No Phone",
                                            "roles": ["sales_agent"]})
    assert r.status == 201, r
    uid = r.json["id"]
    for page in ("/blu8x8/users", "/blu8x8/leads"):
        text = api.get(page).text
        m = re.search(r'id="agents-no-phone">([^<]*)', text)
        assert m and login in m.group(1) and "never pinged" in m.group(1), page
    assert api.patch(f"/blu8x8/api/users/{uid}", json={"phone": "0917 555 0001"}).status == 200
    for page in ("/blu8x8/users", "/blu8x8/leads"):
        text = api.get(page).text
        assert login not in (re.search(r'id="agents-no-phone">([^<]*)', text) or [""])[0]


def test_a_draft_never_sent_is_not_in_the_conversation(server):
    api = server.client
    phone = "+639180007777"
    hook = {"namespace": "ChatApps", "eventType": "inbound_message_received",
            "description": "ChatApps inbound message",
            "payload": {"umid": str(uuid.uuid4()), "subAccountId": "BluCoffeePH_TwoWayViber_NOTIF",
                        "timestamp": "2026-11-01T14:34:56.017Z",
                        "user": {"msisdn": phone, "channelUserId": phone[1:], "name": "Dina"},
                        "recipient": {"channel": "viber", "channelId": "2f9c"},
                        "type": "Text", "content": {"text": "Any decaf?"}}}
    r = Client(server.port, None).request("POST", "/viber/status",
                                          body=json.dumps(hook).encode(),
                                          headers={"Content-Type": "application/json"})
    assert r.status == 200
    c = api.post("/blu8x8/api/campaigns", json={"name": "Unsent draft", "type": "text",
                                                "body": "DRAFT-ONLY-TEXT"}).json
    api.post(f"/blu8x8/api/campaigns/{c['id']}/recipients", json={"phones": [phone]})
    conv = api.get("/blu8x8/api/conversations?q=" + phone[1:]).json["items"][0]["id"]
    page = api.get(f"/blu8x8/conversations/{conv}").text
    assert "Any decaf?" in page and "DRAFT-ONLY-TEXT" not in page
    # Once it is sent, it is part of the conversation.
    assert api.post(f"/blu8x8/api/campaigns/{c['id']}/send", json={}).status == 200
    assert "DRAFT-ONLY-TEXT" in api.get(f"/blu8x8/conversations/{conv}").text


def test_sms_log_filter_lists_only_sms_states_and_refreshes(api):
    page = api.get("/blu8x8/sms").text
    log = page[page.index('id="log"'):]
    options = re.findall(r'<option value="([a-z]+)"', log[:log.index("</select>", log.index(
        'name="state"'))][log.index('name="state"'):])
    assert "read" not in options and {"pending", "queued", "delivered", "failed"} <= set(options)
    assert 'id="log" data-refresh="5"' in page
