"""Campaigns and their recipients: JSON API, pages, CSV, the Draft-only rule,
CSRF and HTML escaping."""

import csv
import io
import re

import pytest

BOM = "\ufeff"
SCRIPT = "<script>alert(1)</script>"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
STATES = ["pending", "sending", "queued", "sent", "delivered", "read", "undelivered", "failed",
          "unknown", "skipped", "cancelled"]


def new_campaign(api, **fields):
    body = {"name": "Launch", "type": "text", "body": "Hi {name}!"}
    body.update(fields)
    r = api.post("/blu8x8/api/campaigns", json=body)
    assert r.status == 201, r
    return r.json


def contact(api, name, phone, tags=(), opted_out=False):
    r = api.post("/blu8x8/api/contacts", json={"name": name, "phone": phone, "tags": list(tags),
                                               "opted_out": opted_out})
    assert r.status == 201, r
    return r.json


def add(api, cid, **lists):
    return api.post(f"/blu8x8/api/campaigns/{cid}/recipients", json=lists)


def import_csv(api, cid, text):
    return api.post(f"/blu8x8/api/campaigns/{cid}/recipients/import", body=text.encode(),
                    headers={"Content-Type": "text/csv"})


def set_state(server, cid, state):
    """What the sender (another component) does: move a campaign out of Draft."""
    server.write_sql("UPDATE campaigns SET state = ? WHERE id = ?", (state, cid))


# ------------------------------------------------------------------ the API

def test_create_returns_the_whole_object(api):
    c = new_campaign(api, name="Full", type="VIDEO", body="Watch {name}",
                     url="https://cdn.example.com/v.mp4", thumbnail_url="https://cdn.example.com/t.jpg",
                     file_size=1048576, duration="42", fallback_text="See our video",
                     button_caption="Order", button_url="https://blucoffee.ph/order")
    assert c["type"] == "video" and c["state"] == "draft"
    assert c["file_size"] == 1048576 and c["duration"] == 42
    assert c["created_at"].endswith("Z") and c["send_at"] is None and c["done_at"] is None
    # "clicked" (issue 19) is not a state: not in total.
    assert c["counts"] == dict({s: 0 for s in STATES}, total=0, clicked=0)
    got = api.get(f"/blu8x8/api/campaigns/{c['id']}")
    assert got.status == 200 and got.json["button_url"] == "https://blucoffee.ph/order"
    assert api.get("/blu8x8/api/campaigns/99999").status == 404


@pytest.mark.parametrize("fields,field,words", [
    ({"name": ""}, "name", "name"),
    ({"name": "   "}, "name", "name"),
    ({"body": "x" * 1001}, "body", "1,000"),
    ({"body": ""}, "body", "needs a message body"),
    ({"type": "image", "body": ""}, "url", "needs a media URL"),
    ({"type": "image", "url": "ftp://example.com/a.png"}, "url", "http:// or https://"),
    ({"type": "file", "url": "javascript:alert(1)"}, "url", "http:// or https://"),
    ({"type": "video", "url": "https://x.example/v.mp4"}, "thumbnail_url", "thumbnail"),
    ({"type": "video", "url": "https://x.example/v.mp4", "thumbnail_url": "https://x.example/t",
      "duration": 5}, "file_size", "file size"),
    ({"type": "video", "url": "https://x.example/v.mp4", "thumbnail_url": "https://x.example/t",
      "file_size": "12 MB", "duration": 5}, "file_size", "whole number"),
    ({"button_caption": "x" * 31, "button_url": "https://x.example"}, "button_caption", "30"),
    ({"button_caption": "Go"}, "button_url", "needs a URL"),
    ({"fallback_text": "y" * 1531}, "fallback_text", "11 SMS parts"),
    ({"type": "sticker"}, "type", "message type"),
])
def test_invalid_campaigns_are_refused_with_field_messages(api, fields, field, words):
    body = {"name": "Bad", "type": "text", "body": "Hello"}
    body.update(fields)
    r = api.post("/blu8x8/api/campaigns", json=body)
    assert r.status == 422, r
    assert r.json["error"]
    assert words in r.json["fields"][field]


def test_body_of_exactly_1000_characters_is_accepted(api):
    assert new_campaign(api, body="é" * 1000)["body"] == "é" * 1000


def test_list_filters_by_state_and_name(server, api):
    a = new_campaign(api, name="Filter Alpha")
    b = new_campaign(api, name="Filter Beta")
    set_state(server, b["id"], "done")
    names = lambda r: [c["name"] for c in r.json["items"]]  # noqa: E731
    assert names(api.get("/blu8x8/api/campaigns?q=filter")) == ["Filter Beta", "Filter Alpha"]
    assert names(api.get("/blu8x8/api/campaigns?q=filter&state=draft")) == ["Filter Alpha"]
    assert names(api.get("/blu8x8/api/campaigns?q=filter&state=done")) == ["Filter Beta"]
    assert names(api.get("/blu8x8/api/campaigns?q=filter&state=all")) == ["Filter Beta",
                                                                          "Filter Alpha"]
    assert api.get("/blu8x8/api/campaigns?state=nonsense").status == 422
    add(api, a["id"], phones=["0917 400 0001", "0917 400 0002"])
    item = api.get("/blu8x8/api/campaigns?q=filter%20alpha").json["items"][0]
    assert item["counts"]["total"] == 2 and item["counts"]["pending"] == 2


def test_patch_changes_only_the_given_fields(api):
    c = new_campaign(api, fallback_text="SMS text")
    r = api.patch(f"/blu8x8/api/campaigns/{c['id']}", json={"name": "Renamed", "body": "New"})
    assert r.status == 200
    assert r.json["name"] == "Renamed" and r.json["body"] == "New"
    assert r.json["fallback_text"] == "SMS text"
    r = api.patch(f"/blu8x8/api/campaigns/{c['id']}", json={"type": "image"})
    assert r.status == 422 and r.json["fields"]["url"]
    assert api.get(f"/blu8x8/api/campaigns/{c['id']}").json["type"] == "text"
    assert api.patch("/blu8x8/api/campaigns/99999", json={"name": "x"}).status == 404


def test_only_a_draft_can_change(server, api):
    c = new_campaign(api)
    add(api, c["id"], phones=["0917 410 0001"])
    rid = api.get(f"/blu8x8/api/campaigns/{c['id']}/recipients").json["items"][0]["id"]
    set_state(server, c["id"], "sending")
    for r in (api.patch(f"/blu8x8/api/campaigns/{c['id']}", json={"name": "x"}),
              api.delete(f"/blu8x8/api/campaigns/{c['id']}"),
              add(api, c["id"], phones=["0917 410 0002"]),
              import_csv(api, c["id"], "0917 410 0003\n"),
              api.delete(f"/blu8x8/api/campaigns/{c['id']}/recipients/{rid}")):
        assert r.status == 409, r
        assert r.json["state"] == "sending"
        assert "Draft" in r.json["error"]
    got = api.get(f"/blu8x8/api/campaigns/{c['id']}").json
    assert got["name"] == "Launch" and got["counts"]["total"] == 1
    # The page says why instead of saving.
    page = server.client.post_form(f"/blu8x8/campaigns/{c['id']}", {"name": "Changed"})
    assert page.status == 409
    assert "only a draft campaign can be edited" in page.text.lower()
    assert "this campaign is sending" in page.text.lower()
    assert "<fieldset class=\"plain\" disabled>" in page.text


def test_delete_a_draft_with_its_recipients(server, api):
    c = new_campaign(api)
    add(api, c["id"], phones=["0917 420 0001"])
    assert api.delete(f"/blu8x8/api/campaigns/{c['id']}").status == 204
    assert api.get(f"/blu8x8/api/campaigns/{c['id']}").status == 404
    assert server.sql("SELECT COUNT(*) FROM messages WHERE campaign_id = ?", (c["id"],)) == [(0,)]


# ------------------------------------------------------------- recipients

def test_add_by_phone_contact_and_tag(server, api):
    maria = contact(api, "Maria Cruz", "0917 500 0001", ["rcpt-vip"])
    contact(api, "Ben Lim", "0917 500 0002", ["rcpt-vip"])
    contact(api, "Gone", "0917 500 0003", ["rcpt-vip"], opted_out=True)
    c = new_campaign(api)
    r = add(api, c["id"], phones=["+63 917 500 0009", "0917 500 0009", "09175000003", "hello",
                                  "0917 12", 42],
            contact_ids=[maria["id"], 99999], tags=["RCPT-VIP", "no-such-tag"])
    assert r.status == 200, r
    rep = r.json
    # +63 917 500 0009, Maria (by id), Ben (by tag); Maria again by tag and
    # the second 0009 are duplicates; "Gone" is opted out twice (phone, tag).
    assert rep["added"] == 3 and rep["duplicates"] == 2 and rep["opted_out"] == 2
    reasons = {i["value"]: i["reason"] for i in rep["invalid"]}
    assert "contains letters" in reasons["hello"] and "too short" in reasons["0917 12"]
    assert reasons["42"] and reasons["99999"] == "no such contact"
    assert reasons["no-such-tag"] == "no such tag"
    assert all("line" not in i for i in rep["invalid"])
    items = api.get(f"/blu8x8/api/campaigns/{c['id']}/recipients").json["items"]
    assert [i["phone"] for i in items] == ["+639175000009", "+639175000001", "+639175000002"]
    assert items[1]["name"] == "Maria Cruz" and items[1]["contact_id"] == maria["id"]
    assert items[0]["name"] is None and items[0]["contact_id"] is None
    assert all(i["state"] == "pending" and i["umid"] is None for i in items)
    assert all(UUID4.match(i["client_message_id"]) for i in items)
    assert len({i["client_message_id"] for i in items}) == 3
    rows = server.sql("SELECT kind, channel, phone_key FROM messages WHERE campaign_id = ? "
                      "ORDER BY id", (c["id"],))
    assert rows[0] == ("campaign", "viber", "639175000009")
    # A number that later matches a contact is linked to it, with its name.
    r = add(api, c["id"], phones=["0917 500 0002"])
    assert r.json == {"added": 0, "duplicates": 1, "opted_out": 0, "invalid": [],
                      "invalid_count": 0}


def test_add_needs_something_and_a_real_campaign(api):
    c = new_campaign(api)
    r = add(api, c["id"])
    assert r.status == 422 and r.json["fields"]["phones"]
    assert add(api, c["id"], phones="0917 500 0001").status == 422
    assert add(api, 99999, phones=["0917 500 0001"]).status == 404
    assert import_csv(api, 99999, "0917 500 0001\n").status == 404


def test_import_csv_bom_crlf_blank_lines_header_and_broken_quote(api):
    contact(api, "Opted", "0917 600 0099", opted_out=True)
    c = new_campaign(api, body="Hi {name}")
    text = (BOM + "Name,Email,Mobile\r\n"           # line 1: header, phone in column 3
            "Ana,ana@example.com,0917 600 0001\r\n"
            "\r\n"                                 # line 3: blank
            "\"Reyes, Bo\",bo@example.com,0917-600-0002\r\n"
            "Cy,,0917 600 0001\r\n"                # duplicate
            "Di,,not a number\r\n"                 # line 6
            "Ed,,0917 600 0099\r\n"                # opted out
            "\"Fe,fe@example.com,0917 600 0003\r\n"  # line 8: broken quote
            "Gi,,0917 600 0004\r\n"
            "Hu,,\r\n")                            # line 10: no phone
    r = import_csv(api, c["id"], text)
    assert r.status == 200, r
    rep = r.json
    assert rep["added"] == 3 and rep["duplicates"] == 1 and rep["opted_out"] == 1
    invalid = {i["line"]: i for i in rep["invalid"]}
    assert sorted(invalid) == [6, 8, 10]
    assert invalid[6]["value"] == "not a number" and "letters" in invalid[6]["reason"]
    assert invalid[8]["reason"] == "unterminated quoted field"
    assert invalid[8]["value"].startswith('"Fe,fe@example.com')
    assert invalid[10]["reason"] == "no phone number"
    names = [i["name"] for i in api.get(f"/blu8x8/api/campaigns/{c['id']}/recipients").json["items"]]
    assert names == ["Ana", "Reyes, Bo", "Gi"]


def test_import_plain_list_first_line_rules(api):
    c = new_campaign(api)
    # A title line is skipped; a bad first number is reported.
    r = import_csv(api, c["id"], "Numbers to call\n0917 610 0001\n0917 610 0002\n")
    assert r.json["added"] == 2 and r.json["invalid"] == []
    r = import_csv(api, c["id"], "0917 61x 0003\n0917 610 0004\n")
    assert r.json["added"] == 1
    assert r.json["invalid"] == [{"line": 1, "value": "0917 61x 0003",
                                  "reason": "not a valid phone number: contains letters"}]
    r = import_csv(api, c["id"], "")
    assert r.status == 200 and r.json["added"] == 0
    r = api.post(f"/blu8x8/api/campaigns/{c['id']}/recipients/import", body=b"0917 610 0005",
                 headers={"Content-Type": "text/plain"})
    assert r.status == 415


def test_recipients_pages_filter_and_remove(server, api):
    c = new_campaign(api)
    import_csv(api, c["id"], "".join(f"0917 620 {i:04d}\n" for i in range(7)))
    server.write_sql("UPDATE messages SET state = 'failed', error_code = '1002', "
                     "error_message = 'Invalid MSISDN' WHERE campaign_id = ? AND phone = ?",
                     (c["id"], "+639176200003"))
    page = api.get(f"/blu8x8/api/campaigns/{c['id']}/recipients?per_page=3&page=3").json
    assert page["total"] == 7 and page["page"] == 3 and len(page["items"]) == 1
    assert page["items"][0]["phone"] == "+639176200006"
    failed = api.get(f"/blu8x8/api/campaigns/{c['id']}/recipients?state=failed").json
    assert failed["total"] == 1 and failed["items"][0]["error_code"] == "1002"
    assert api.get(f"/blu8x8/api/campaigns/{c['id']}/recipients?state=bogus").status == 422
    assert api.get("/blu8x8/api/campaigns/99999/recipients").status == 404
    rid = failed["items"][0]["id"]
    assert api.delete(f"/blu8x8/api/campaigns/{c['id']}/recipients/{rid}").status == 204
    assert api.delete(f"/blu8x8/api/campaigns/{c['id']}/recipients/{rid}").status == 404
    assert api.get(f"/blu8x8/api/campaigns/{c['id']}").json["counts"]["total"] == 6
    other = new_campaign(api)
    some = page["items"][0]["id"]
    assert api.delete(f"/blu8x8/api/campaigns/{other['id']}/recipients/{some}").status == 404


def test_recipients_csv_export(server, api):
    contact(api, "Comma, Name", "0917 630 0001")
    c = new_campaign(api)
    add(api, c["id"], phones=["0917 630 0001", "0917 630 0002"])
    r = server.client.get(f"/blu8x8/campaigns/{c['id']}/recipients.csv")
    assert r.status == 200
    assert r.header("content-type").startswith("text/csv")
    assert "attachment" in r.header("content-disposition")
    lines = r.csv_text.split("\r\n")
    assert lines[0] == ("phone,name,client_message_id,umid,state,error_code,error_message,error_id,"
                        "updated_at,clicked_at,clicks,replied_at")
    rows = list(csv.reader(io.StringIO(r.csv_text)))
    assert rows[1][:2] == ["+639176300001", "Comma, Name"] and rows[1][4] == "pending"
    assert UUID4.match(rows[1][2]) and rows[2][1] == ""
    assert len(rows) == 3
    assert server.client.get("/blu8x8/campaigns/99999/recipients.csv").status == 404


def test_sms_count_api(api):
    r = api.get("/blu8x8/api/sms-count?text=" + "a" * 160)
    assert r.json == {"characters": 160, "encoding": "GSM-7", "units": 160, "parts": 1,
                      "per_part": 160, "ucs2_chars": []}
    assert api.get("/blu8x8/api/sms-count?text=" + "a" * 161).json["parts"] == 2
    r = api.get("/blu8x8/api/sms-count?text=Kape%20%E2%98%95").json
    assert r["encoding"] == "UCS-2" and r["characters"] == 6 and r["per_part"] == 70
    # What forces UCS-2 is named (one em dash turns 1 part into 2).
    r = api.get("/blu8x8/api/sms-count?text=Sale%20%E2%80%94%20today").json
    assert r["parts"] == 1 and r["encoding"] == "UCS-2"
    assert r["ucs2_chars"] == [{"char": "\u2014", "code": "U+2014", "name": "em dash"}]
    assert api.get("/blu8x8/api/sms-count?text=%E2%82%AC").json["units"] == 2
    assert api.get("/blu8x8/api/sms-count").json["parts"] == 0
    assert api.get("/blu8x8/api/sms-count?text=%C3").status == 422


# ------------------------------------------------------------------- pages

def test_list_page_opens_on_drafts(server, api):
    new_campaign(api, name="Draft Listed")
    sent = new_campaign(api, name="Done Hidden")
    set_state(server, sent["id"], "done")
    page = server.client.get("/blu8x8/campaigns")
    assert page.status == 200
    assert "Draft Listed" in page.text and "Done Hidden" not in page.text
    assert '<option value="draft" selected>' in page.text
    everything = server.client.get("/blu8x8/campaigns?state=all").text
    assert "Draft Listed" in everything and "Done Hidden" in everything
    assert "Draft Listed" not in server.client.get("/blu8x8/campaigns?state=done").text
    found = server.client.get("/blu8x8/campaigns?state=all&q=hidden").text
    assert "Done Hidden" in found and "Draft Listed" not in found


def test_campaign_form_create_refuse_and_save(server, api):
    client = server.client
    page = client.get("/blu8x8/campaigns/new")
    assert page.status == 200 and 'id="sms-count"' in page.text
    r = client.post_form("/blu8x8/campaigns", {"name": "Form made", "type": "image",
                                               "body": "Caption", "url": "ftp://x.example/a.png",
                                               "fallback_text": "SMS"},
                         page="/blu8x8/campaigns/new")
    assert r.status == 422
    assert "The media URL must be an http:// or https:// address." in r.text
    assert 'value="Form made"' in r.text and 'value="ftp://x.example/a.png"' in r.text
    assert '<option value="image" selected>' in r.text
    r = client.post_form("/blu8x8/campaigns", {"name": "Form made", "type": "text",
                                               "body": "Hi {name}, call {phone}",
                                               "fallback_text": "Hi\r\nthere"},
                         page="/blu8x8/campaigns/new")
    assert r.posted.status == 303
    cid = re.search(r"/campaigns/(\d+)$", r.posted.header("location")).group(1)
    got = api.get(f"/blu8x8/api/campaigns/{cid}").json
    assert got["fallback_text"] == "Hi\nthere"     # textarea line ends normalised
    page = r.text
    assert "Created." in page and "No recipients yet" in page
    assert "Hi Juan dela Cruz, call +639171234567" in page
    r = client.post_form(f"/blu8x8/campaigns/{cid}", {"name": "", "type": "text",
                                                      "body": "x" * 1001})
    assert r.status == 422
    assert "Give the campaign a name." in r.text and "Viber allows at most 1,000" in r.text
    r = client.post_form(f"/blu8x8/campaigns/{cid}", {"name": "Saved", "type": "text",
                                                      "body": "Hello {name}", "fallback_text": ""})
    assert r.posted.status == 303 and r.posted.header("location").endswith(f"/campaigns/{cid}")
    assert api.get(f"/blu8x8/api/campaigns/{cid}").json["fallback_text"] is None


def test_recipients_on_the_page(server, api):
    client = server.client
    contact(api, "Page Maria", "0917 700 1001", ["page-tag"])
    contact(api, "Page Mario", "0917 700 1002")
    contact(api, "Page Opted", "0917 700 1003", ["page-tag"], opted_out=True)
    c = new_campaign(api, body="Hello {name} at {phone}")
    url = f"/blu8x8/campaigns/{c['id']}"
    r = client.post_form(url + "/recipients", {"who": "0917 700 2001"}, page=url)
    assert r.status == 200 and "Added +639177002001." in r.text
    r = client.post_form(url + "/recipients", {"who": "+63 917 700 2001"}, page=url)
    assert "+639177002001 is already a recipient of this campaign" in r.text
    r = client.post_form(url + "/recipients", {"who": "0917 700 1003"}, page=url)
    assert "has opted out" in r.text
    r = client.post_form(url + "/recipients", {"who": "0917 xx"}, page=url)
    assert r.status == 422 and "not a valid phone number" in r.text
    # A name: several matches are offered, one is added.
    r = client.post_form(url + "/recipients", {"who": "page mar"}, page=url)
    assert "Several contacts match" in r.text and "Page Mario" in r.text
    mario = api.get("/blu8x8/api/contacts?q=Page%20Mario").json["items"][0]["id"]
    r = client.post_form(url + "/recipients", {"contact_id": str(mario)}, page=url)
    assert "Added Page Mario (+639177001002)." in r.text
    r = client.post_form(url + "/recipients", {"who": "Nobody Here"}, page=url)
    assert r.status == 422 and "No contact is called" in r.text
    r = client.post_form(url + "/recipients", {"mode": "tags", "tags[]": ["page-tag"]}, page=url)
    assert "Added 1" in r.text and "opted-out skipped 1" in r.text
    r = client.post_form(url + "/recipients", {"mode": "tags"}, page=url)
    assert r.status == 422 and "Tick at least one tag." in r.text
    r = client.post_form(url + "/recipients/import",
                         {"csv": "phone,name\n0917 700 3001,Pasted\nbad\n"}, page=url)
    assert "Added 1" in r.text and "Line 3: not a valid phone number" in r.text
    r = client.post_form(url + "/recipients/import", {"csv": "  \n"}, page=url)
    assert r.status == 422 and "Paste numbers or choose a file first." in r.text
    page = client.get(url).text
    # The preview uses the first recipient (a typed phone: no name).
    assert "Hello  at +639177002001" in page
    assert page.count("<tr>") >= 4 and "Pasted" in page and "Page Maria" in page
    assert "Pending (4)" in page
    rid = api.get(f"/blu8x8/api/campaigns/{c['id']}/recipients").json["items"][0]["id"]
    r = client.post_form(f"{url}/recipients/{rid}/delete", {}, page=url)
    assert r.posted.status == 303
    assert api.get(f"/blu8x8/api/campaigns/{c['id']}").json["counts"]["total"] == 3
    assert "Hello Page Mario at +639177001002" in client.get(url).text
    filtered = client.get(url + "?state=failed").text
    assert "No recipients in state “failed” yet." in filtered
    r = client.post_form(url + "/delete", {}, page=url)
    assert r.posted.status == 303 and r.posted.header("location").endswith("/campaigns")


def test_a_large_paste_goes_through_the_form(server, api):
    c = new_campaign(api)
    url = f"/blu8x8/campaigns/{c['id']}"
    numbers = "".join(f"0918{i:07d}\n" for i in range(30000))   # ~360 KB > Blu8x8MaxBody
    r = server.client.post_form(url + "/recipients/import", {"csv": numbers}, page=url)
    assert r.status == 200
    assert "Added 30000" in r.text
    assert "30000 recipient(s) · page 1 of 600" in r.text


@pytest.mark.parametrize("path", ["/blu8x8/campaigns", "/blu8x8/campaigns/{cid}",
                                  "/blu8x8/campaigns/{cid}/delete",
                                  "/blu8x8/campaigns/{cid}/recipients",
                                  "/blu8x8/campaigns/{cid}/recipients/import",
                                  "/blu8x8/campaigns/{cid}/recipients/{rid}/delete"])
def test_every_campaign_form_needs_the_csrf_token(server, api, path):
    c = new_campaign(api, name="Csrf Campaign")
    add(api, c["id"], phones=["0917 800 0001"])
    rid = api.get(f"/blu8x8/api/campaigns/{c['id']}/recipients").json["items"][0]["id"]
    before = api.get("/blu8x8/api/campaigns?state=all&per_page=1000").json["total"]
    fields = {"name": "Hacked", "type": "text", "body": "x", "who": "0917 800 0002",
              "csv": "0917 800 0003"}
    for token in (None, "f" * 64):
        form = dict(fields, **({"csrf": token} if token else {}))
        r = api.post(path.format(cid=c["id"], rid=rid), form=form)
        assert r.status == 403 and "CSRF" in r.text
    got = api.get(f"/blu8x8/api/campaigns/{c['id']}").json
    assert got["name"] == "Csrf Campaign" and got["counts"]["total"] == 1
    assert api.get("/blu8x8/api/campaigns?state=all&per_page=1000").json["total"] == before


def test_script_contact_is_escaped_on_every_campaign_page(server, api):
    contact(api, SCRIPT, "0917 900 0001", ["xss"])
    contact(api, SCRIPT + " twin", "0917 900 0002")
    c = new_campaign(api, name=SCRIPT, body="Hi {name}")
    url = f"/blu8x8/campaigns/{c['id']}"
    add(api, c["id"], tags=["xss"])
    pages = [server.client.get(url), server.client.get("/blu8x8/campaigns"),
             server.client.get(url + "?state=pending"),
             server.client.post_form(url + "/recipients", {"who": "script"}, page=url),
             server.client.post_form(url + "/recipients/import",
                                     {"csv": SCRIPT + ",\n0917 900 0003\n"}, page=url)]
    for page in pages:
        assert page.status in (200, 422)
        assert SCRIPT not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "Hi &lt;script&gt;alert(1)&lt;/script&gt;" in pages[0].text   # the preview
    assert "Several contacts match" in pages[3].text                    # the matches list
