"""Variables with fallbacks (issue 17, "messages that read right"): {name},
{first_name} and {phone}, each with an optional fallback {name|there}, in
campaign bodies, their SMS fallback text and bulk SMS; the bodies as the 8x8
stand-in receives them. An empty {name} without a fallback used to give
"Hi ! ..."."""

from __future__ import annotations

import itertools
import uuid

from conftest import wait_until

_phones = itertools.count(1)


def new_phones(n: int) -> list[str]:
    return [f"+63948{next(_phones):07d}" for _ in range(n)]


def to(eightx8, phone) -> list:
    return [r for r in eightx8.requests if (r.json or {}).get("user", {}).get("msisdn") == phone]


def test_campaign_body_and_fallback_text_use_fallbacks(server, eightx8):
    api = server.client
    assert api.patch("/blu8x8/api/settings", json={"send_interval": 0}).status == 200
    named, blank, bare = new_phones(3)
    ana = api.post("/blu8x8/api/contacts", json={"name": "Ana Cruz", "phone": named}).json
    nobody = api.post("/blu8x8/api/contacts", json={"name": "  ", "phone": blank}).json
    r = api.post("/blu8x8/api/campaigns", json={
        "name": f"Vars {uuid.uuid4().hex[:6]}", "type": "text",
        "body": "Hi {first_name|there}! {name|Dear customer}, {phone}",
        "fallback_text": "Hola {first_name|amigo}", "fallback_after": 60})
    assert r.status == 201, r
    cid = r.json["id"]
    r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients",
                 json={"contact_ids": [ana["id"], nobody["id"]], "phones": [bare]})
    assert r.status == 200 and r.json["added"] == 3, r
    assert api.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
    assert eightx8.wait_for(3, timeout=10)
    got = {p: to(eightx8, p)[0].json["content"] for p in (named, blank, bare)}
    assert got[named]["text"] == f"Hi Ana! Ana Cruz, {named}"
    assert got[named]["fallbackText"] == "Hola Ana"
    for p in (blank, bare):
        assert got[p]["text"] == f"Hi there! Dear customer, {p}"
        assert got[p]["fallbackText"] == "Hola amigo"


def test_sms_uses_fallbacks(server, eightx8):
    api = server.client
    named, bare = new_phones(2)
    api.post("/blu8x8/api/contacts", json={"name": "Ben Santos", "phone": named})
    r = api.post("/blu8x8/api/sms", json={"text": "Hi {first_name|there}, {name}!",
                                          "phones": [named, bare]})
    assert r.status == 202, r
    bid = r.json["id"]
    wait_until(lambda: api.get(f"/blu8x8/api/sms/batches/{bid}").json["state"] == "done", 15,
               what="SMS done")
    texts = {}
    for req in eightx8.requests:
        for m in (req.json or {}).get("messages", []) or [req.json or {}]:
            if m.get("destination") in (named, bare):
                texts[m["destination"]] = m["text"]
    assert texts == {named: "Hi Ben, Ben Santos!", bare: "Hi there, !"}
