"""The suppression list (issue 17, "opt-outs that stick"): opt-outs by phone,
independent of contacts. The API, its CSV import and export, the page; STOP
adds and START removes; a contact's opted_out reads it and deleting the
contact keeps it; every marketing send path (campaign recipients when added
and when sent, bulk SMS when composed and when sent) skips listed phones,
while answers to a customer who writes in still go out. Also the contacts
search without accents (Jose finds José).
"""

from __future__ import annotations

import itertools
import json
import urllib.parse
import uuid

from conftest import Client, wait_until

_phones = itertools.count(1)
HOOK = "/viber/status"


def new_phones(n: int) -> list[str]:
    return [f"+63947{next(_phones):07d}" for _ in range(n)]


def suppress(api, phone, reason=None):
    body = {"phone": phone}
    if reason is not None:
        body["reason"] = reason
    r = api.post("/blu8x8/api/suppressions", json=body)
    assert r.status == 201, r
    return r.json


def listed(api) -> dict:
    r = api.get("/blu8x8/api/suppressions?per_page=1000")
    assert r.status == 200, r
    return {x["phone"]: x for x in r.json["items"]}


def contact(api, name, phone, **fields):
    r = api.post("/blu8x8/api/contacts", json={"name": name, "phone": phone, **fields})
    assert r.status == 201, r
    return r.json


def hook(server, body):
    return Client(server.port, None).request("POST", HOOK, body=json.dumps(body).encode(),
                                             headers={"Content-Type": "application/json"})


def inbound(phone, text, name="Ana"):
    return {"namespace": "ChatApps", "eventType": "inbound_message_received",
            "description": "ChatApps inbound message",
            "payload": {"umid": str(uuid.uuid4()), "subAccountId": "BluCoffeePH_TwoWayViber_NOTIF",
                        "timestamp": "2026-11-01T14:34:56.017Z",
                        "user": {"msisdn": phone, "channelUserId": phone.lstrip("+"),
                                 "name": name},
                        "recipient": {"channel": "viber", "channelId": "2f9c"},
                        "type": "Text", "content": {"text": text}}}


def viber_to(eightx8, phone) -> list:
    return [r for r in eightx8.requests if (r.json or {}).get("user", {}).get("msisdn") == phone]


def campaign(api, phones=(), **fields) -> int:
    body = {"name": f"Opt-out test {uuid.uuid4().hex[:6]}", "type": "text", "body": "Hi {name}"}
    body.update(fields)
    r = api.post("/blu8x8/api/campaigns", json=body)
    assert r.status == 201, r
    return r.json["id"]


def recipients(server, cid) -> dict:
    return {p: (s, e) for p, s, e in server.sql(
        "SELECT phone, state, error_message FROM messages WHERE campaign_id = ?", (cid,))}


def wait_processed(api, cid):
    def done():
        c = api.get(f"/blu8x8/api/campaigns/{cid}/progress").json["counts"]
        return c["pending"] == 0 and c["sending"] == 0
    wait_until(done, 15, what=f"campaign {cid} processed")


# ------------------------------------------------------------------- the API

def test_add_list_remove_and_validation(api):
    p1, p2 = new_phones(2)
    local = "0" + p1[3:]                          # the same number as people write it
    got = suppress(api, local, "asked by phone")
    assert got["phone"] == p1 and got["reason"] == "asked by phone"
    assert got["created_at"].endswith("Z")
    # Adding again keeps the first time and reason.
    again = suppress(api, p1, "other")
    assert again == got
    assert p1 in listed(api) and p2 not in listed(api)
    r = api.post("/blu8x8/api/suppressions", json={"phone": "12"})
    assert r.status == 422 and r.json["fields"]["phone"]
    r = api.post("/blu8x8/api/suppressions", json={"phone": p2, "reason": "x" * 201})
    assert r.status == 422 and r.json["fields"]["reason"]
    # Paginated like the other lists.
    page = api.get("/blu8x8/api/suppressions?per_page=1").json
    assert page["per_page"] == 1 and len(page["items"]) == 1 and page["total"] >= 1
    # Removed by its number in any form; a phone not listed is a 404.
    assert api.delete("/blu8x8/api/suppressions/" + urllib.parse.quote(p1)).status == 204
    assert p1 not in listed(api)
    assert api.delete("/blu8x8/api/suppressions/" + p1.lstrip("+")).status == 404


def test_import_and_export(api):
    p1, p2, p3 = new_phones(3)
    suppress(api, p3)
    body = ("phone,reason\r\n"
            f"{p1},complained\r\n"
            f"0{p2[3:]},=HYPERLINK(\"x\")\r\n"
            f"{p1},again\r\n"                      # repeated in the file
            f"{p3},\r\n"                            # already listed
            "not a phone,\r\n")
    r = api.post("/blu8x8/api/suppressions/import", body=body,
                 headers={"Content-Type": "text/csv"})
    assert r.status == 200, r
    assert r.json["added"] == 2 and r.json["duplicates"] == 2
    assert r.json["invalid_count"] == 1 and r.json["invalid"][0]["line"] == 6
    assert r.json["encoding"] == "utf-8"
    assert listed(api)[p1]["reason"] == "complained"
    # A file from Excel (Windows-1252) is read as such.
    p4, = new_phones(1)
    r = api.post("/blu8x8/api/suppressions/import", body=f"{p4},café\r\n".encode("cp1252"),
                 headers={"Content-Type": "text/csv"})
    assert r.json["encoding"] == "windows-1252" and listed(api)[p4]["reason"] == "café"
    # The export: BOM, header, formula guard; it imports back unchanged.
    r = api.get("/blu8x8/suppressions.csv")
    assert r.status == 200 and r.header("Content-Type").startswith("text/csv")
    assert r.body.startswith(b"\xef\xbb\xbf")
    lines = r.body.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "phone,reason,created_at"
    row = [x for x in lines if p2.lstrip("+") in x][0]
    assert "'=HYPERLINK" in row                    # never a live formula in a spreadsheet


def test_contact_reads_the_list_and_deleting_it_keeps_the_opt_out(api):
    p1, = new_phones(1)
    c = contact(api, "Leaving", p1, opted_out=True)
    assert c["opted_out"] is True and c["opted_out_at"]
    assert p1 in listed(api)
    assert api.delete(f"/blu8x8/api/contacts/{c['id']}").status == 204
    assert p1 in listed(api)
    # The same number added again as a contact is still opted out.
    c2 = contact(api, "Back Again", p1)
    assert c2["opted_out"] is True and c2["opted_out_at"] == c["opted_out_at"]
    out = api.get("/blu8x8/api/contacts?opted_out=true&q=Back%20Again").json["items"]
    assert [x["phone"] for x in out] == [p1]
    # Opting the contact in removes the phone from the list.
    r = api.patch(f"/blu8x8/api/contacts/{c2['id']}", json={"opted_out": False})
    assert r.json["opted_out"] is False and p1 not in listed(api)
    # And the list's removal shows on the contact.
    suppress(api, p1)
    assert api.get(f"/blu8x8/api/contacts/{c2['id']}").json["opted_out"] is True
    api.delete("/blu8x8/api/suppressions/" + urllib.parse.quote(p1))
    assert api.get(f"/blu8x8/api/contacts/{c2['id']}").json["opted_out"] is False


# ------------------------------------------------------------- send paths

def test_campaign_skips_listed_phones_when_added_and_when_sent(server, eightx8):
    api = server.client
    assert api.patch("/blu8x8/api/settings", json={"send_interval": 0}).status == 200
    gone, later, stays = new_phones(3)
    c = contact(api, "Deleted Later", gone, opted_out=True)
    api.delete(f"/blu8x8/api/contacts/{c['id']}")       # no contact, still listed
    cid = campaign(api)
    r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients", json={"phones": [gone, later, stays]})
    assert r.status == 200 and r.json["added"] == 2 and r.json["opted_out"] == 1, r
    # The CSV import path too.
    r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients/import", body=f"phone\n{gone}\n",
                 headers={"Content-Type": "text/csv"})
    assert r.status == 200 and r.json["added"] == 0 and r.json["opted_out"] == 1, r
    # Listed after being added (not a contact): skipped when sent.
    suppress(api, later, "called in")
    assert api.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
    wait_processed(api, cid)
    rows = recipients(server, cid)
    assert rows[later] == ("skipped", "opted out")
    assert rows[stays][0] == "queued"
    assert not viber_to(eightx8, later) and not viber_to(eightx8, gone)
    assert len(viber_to(eightx8, stays)) == 1


def test_bulk_sms_skips_listed_phones_when_composed_and_when_sent(make_server, eightx8):
    h = make_server(worker=False)
    api = h.client
    listed_phone, later, stays = new_phones(3)
    suppress(api, listed_phone)
    r = api.post("/blu8x8/api/sms", json={"text": "Sale!", "phones": [listed_phone, later, stays]})
    assert r.status == 202 and r.json["recipients"] == 2 and r.json["opted_out"] == 1, r
    bid = r.json["id"]
    suppress(api, later)
    h.stop()
    h.worker = True
    h.base_directives = h.base_directives.replace("Blu8x8Worker Off\n", "")
    h.start()
    wait_until(lambda: api.get(f"/blu8x8/api/sms/batches/{bid}").json["state"] == "done", 15,
               what="SMS send done")
    states = dict(h.sql("SELECT phone, state FROM messages WHERE sms_batch_id = ?", (bid,)))
    assert states == {later: "skipped", stays: "queued"}
    assert eightx8.sends_by_msisdn[later] == 0 and eightx8.sends_by_msisdn[listed_phone] == 0
    assert eightx8.sends_by_msisdn[stays] == 1


def test_stop_adds_start_removes_and_the_answers_still_go_out(server, eightx8):
    api = server.client
    phone, = new_phones(1)
    assert hook(server, inbound(phone, "STOP")).status == 200
    entry = listed(api)[phone]
    assert entry["reason"] == "replied STOP"
    # The confirmation is an answer, not marketing: it is sent although listed.
    assert wait_until(lambda: viber_to(eightx8, phone), 10, what="STOP confirmation sent")
    assert "unsubscribed" in viber_to(eightx8, phone)[0].json["content"]["text"]
    # A campaign skips the phone.
    cid = campaign(api)
    r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients", json={"phones": [phone]})
    assert r.json["opted_out"] == 1 and r.json["added"] == 0
    # START removes it and is confirmed too; the phone can be added again.
    assert hook(server, inbound(phone, "start")).status == 200
    assert phone not in listed(api)
    assert wait_until(lambda: len(viber_to(eightx8, phone)) == 2, 10, what="START confirmation")
    r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients", json={"phones": [phone]})
    assert r.json["added"] == 1


def test_stop_from_a_deleted_contact_still_holds(server, eightx8):
    api = server.client
    phone, = new_phones(1)
    hook(server, inbound(phone, "STOP", name="Carla"))
    cid = server.sql("SELECT id FROM contacts WHERE phone = ?", (phone,))[0][0]
    assert api.delete(f"/blu8x8/api/contacts/{cid}").status == 204
    r = api.post("/blu8x8/api/sms", json={"text": "Promo", "phones": [phone]})
    assert r.status == 422 and "1 opted out" in r.json["fields"]["phones"], r


# ------------------------------------------------------------------ the page

def test_page_lists_adds_imports_and_removes(server):
    c = server.client
    p1, p2 = new_phones(2)
    page = c.get("/blu8x8/suppressions")
    assert page.status == 200 and 'href="/blu8x8/suppressions"' in page.text
    assert "Opt-outs" in page.text and "suppressions.csv" in page.text
    r = c.post_form("/blu8x8/suppressions", {"phone": p1, "reason": "at the counter"},
                    page="/blu8x8/suppressions")
    assert r.status in (200, 303), r
    page = c.get("/blu8x8/suppressions").text
    assert p1 in page and "at the counter" in page
    r = c.post_form("/blu8x8/suppressions", {"phone": "nope"}, page="/blu8x8/suppressions")
    assert r.status == 422 and "not a valid phone number" in r.text
    r = c.post_form("/blu8x8/suppressions/import", {"csv": f"{p2},imported here"},
                    page="/blu8x8/suppressions")
    assert r.status in (200, 303) and p2 in listed(c)
    r = c.post_form(f"/blu8x8/suppressions/{urllib.parse.quote(p1)}/delete", {},
                    page="/blu8x8/suppressions")
    assert r.status in (200, 303), r
    assert p1 not in listed(c)


# ------------------------------------------------------------- accent search

def test_contact_search_ignores_accents_and_case(api):
    tag = f"acc-{uuid.uuid4().hex[:6]}"
    p1, p2, p3 = new_phones(3)
    contact(api, "José Ñúñez", p1, tags=[tag])
    contact(api, "JOSEFINA Reyes", p2, tags=[tag])
    contact(api, "Maria", p3, tags=[tag])

    def names(q):
        r = api.get(f"/blu8x8/api/contacts?tag={tag}&q=" + urllib.parse.quote(q))
        assert r.status == 200, r
        return sorted(x["name"] for x in r.json["items"])
    assert names("Jose") == ["JOSEFINA Reyes", "José Ñúñez"]
    assert names("josé") == ["JOSEFINA Reyes", "José Ñúñez"]
    assert names("nunez") == ["José Ñúñez"]
    assert names("ÑÚÑEZ") == ["José Ñúñez"]
    # Imported names are folded too.
    p4, = new_phones(1)
    r = api.post("/blu8x8/api/contacts/import", body=f"name,phone,tags\nRenée Ávila,{p4},{tag}\n",
                 headers={"Content-Type": "text/csv"})
    assert r.status == 200 and r.json["added"] == 1
    assert names("renee avila") == ["Renée Ávila"]
