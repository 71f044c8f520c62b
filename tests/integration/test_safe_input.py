"""Safe by default, input side (issue 14): text is UTF-8 at every entry
point (JSON bodies, HTML forms, CSV uploads read as Windows-1252 when they
are not UTF-8), ids are integers, and state-changing requests from another
origin are refused."""

import json
import urllib.parse

import pytest

from conftest import DB

BAD = "\udcff"          # stands for the byte 0xFF in the bodies below


def raw_json(obj) -> bytes:
    """JSON with one invalid byte (0xFF) wherever BAD appears in a string."""
    return json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogateescape")


def raw_form(fields: dict) -> bytes:
    return urllib.parse.urlencode(
        {k: v.encode("utf-8", "surrogateescape") for k, v in fields.items()}).encode()


STORES = ("/blu8x8/api/faqs", "/blu8x8/api/contacts", "/blu8x8/api/settings",
          "/blu8x8/api/tags", "/blu8x8/api/campaigns", "/blu8x8/api/users", "/blu8x8/api/sms")


def stored(c) -> dict:
    """What each store holds: a list's total and ids (states of sent SMS may
    still move on from an earlier test), or the settings."""
    out = {}
    for p in STORES:
        j = c.get(p + ("?per_page=1000" if p != "/blu8x8/api/settings" else "")).json
        out[p] = (j["total"], [i.get("id") for i in j["items"]]) if "items" in j else j
    return out


def csv_post(api, path, data: bytes):
    return api.post(path, body=data, headers={"Content-Type": "text/csv"})


# ------------------------------------------------------------------- UTF-8

JSON_ENTRY_POINTS = [
    ("POST", "/blu8x8/api/faqs", {"prompt": "Caf" + BAD + "?", "completion": "Yes"}),
    ("POST", "/blu8x8/api/contacts", {"name": "Jos" + BAD, "phone": "0927 100 0001"}),
    ("PATCH", "/blu8x8/api/settings", {"ai_persona": "You are " + BAD}),
    ("POST", "/blu8x8/api/users", {"login": "utf8user", "name": "Na" + BAD}),
    ("POST", "/blu8x8/api/campaigns", {"name": "Camp" + BAD, "body": "Hello"}),
    ("POST", "/blu8x8/api/campaigns", {"name": "Camp", "body": "Hello " + BAD}),
    ("POST", "/blu8x8/api/tags", {"name": "tag" + BAD}),
    ("POST", "/blu8x8/api/sms", {"text": "Hi " + BAD, "phones": ["0927 100 0002"]}),
    ("POST", "/blu8x8/api/contacts", {"name": "Ok", "phone": "0927 100 0003",
                                      "tags": ["t" + BAD]}),
]


@pytest.mark.parametrize("method, path, body", JSON_ENTRY_POINTS)
def test_json_with_invalid_utf8_is_400_and_stores_nothing(server, method, path, body):
    api = server.client
    before = stored(api)
    r = api.request(method, path, body=raw_json(body),
                    headers={"Content-Type": "application/json"})
    assert r.status == 400, r
    assert "UTF-8" in r.json["error"]
    assert stored(api) == before
    # The same request with valid text is not refused for its encoding.
    fixed = json.loads(json.dumps(body).replace("\\udcff", "\u00e9"))
    assert api.request(method, path, json=fixed).status != 400


def test_json_with_nul_or_lone_surrogate_is_refused(server):
    api = server.client
    r = api.post("/blu8x8/api/faqs", body=b'{"prompt": "a\x00b", "completion": "x"}',
                 headers={"Content-Type": "application/json"})
    assert r.status == 400
    r = api.post("/blu8x8/api/faqs", body=b'{"prompt": "a\\ud800b", "completion": "x"}',
                 headers={"Content-Type": "application/json"})
    assert r.status == 400


FORM_ENTRY_POINTS = [
    ("/blu8x8/faqs", {"prompt": "Caf" + BAD + "?", "completion": "Yes"}),
    ("/blu8x8/contacts", {"name": "Jos" + BAD, "phone": "0927 200 0001"}),
    ("/blu8x8/settings", {"ai_persona": "You are " + BAD}),
    ("/blu8x8/users", {"login": "formutf8", "name": "Na" + BAD}),
    ("/blu8x8/campaigns", {"name": "Camp" + BAD, "type": "text", "body": "Hello"}),
    ("/blu8x8/tags", {"name": "tag" + BAD}),
    ("/blu8x8/sms", {"text": "Hi " + BAD, "phones": "0927 200 0002"}),
]


@pytest.mark.parametrize("path, fields", FORM_ENTRY_POINTS)
def test_form_with_invalid_utf8_is_a_clear_error(server, path, fields):
    c = server.client
    before = stored(c)
    fields = dict(fields, csrf=c.csrf("/blu8x8/contacts"))
    r = c.post(path, body=raw_form(fields),
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 400, r
    bad_field = next(k for k, v in fields.items() if BAD in v)
    assert f"The field &quot;{bad_field}&quot; is not valid UTF-8" in r.text \
        or f'The field "{bad_field}" is not valid UTF-8' in r.text, r.text[:2000]
    assert stored(c) == before


JOSE_1252 = "Jos\u00e9".encode("cp1252")      # b"Jos\xe9": what Excel saves


def test_contacts_csv_in_windows_1252_is_read_as_such(server):
    api = server.client
    data = b"name,phone\r\n" + JOSE_1252 + b" Rizal,0927 300 0001\r\n\x93Quoted\x94 \x80,0927 300 0002\r\n"
    r = csv_post(api, "/blu8x8/api/contacts/import", data)
    assert r.status == 200, r
    assert r.json["added"] == 2 and r.json["encoding"] == "windows-1252"
    names = {c["phone"]: c["name"] for c in api.get("/blu8x8/api/contacts?q=0927300").json["items"]}
    assert names == {"+639273000001": "Jos\u00e9 Rizal",
                     "+639273000002": "\u201cQuoted\u201d \u20ac"}
    # UTF-8 (with a BOM) says so.
    r = csv_post(api, "/blu8x8/api/contacts/import",
                 "\ufeffname,phone\nZo\u00eb,0927 300 0003\n".encode())
    assert r.json["encoding"] == "utf-8" and r.json["added"] == 1
    assert api.get("/blu8x8/api/contacts?q=0927%20300%200003").json["items"][0]["name"] == "Zo\u00eb"


def test_contacts_form_import_in_windows_1252(server):
    c = server.client
    fields = {"csv": b"name,phone\n" + JOSE_1252 + b" Form,0927 300 0011\n",
              "csrf": c.csrf("/blu8x8/contacts")}
    r = c.post("/blu8x8/contacts/import", body=urllib.parse.urlencode(fields).encode(),
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200 and "Added 1" in r.text and "file read as windows-1252" in r.text
    item = c.get("/blu8x8/api/contacts?q=0927%20300%200011").json["items"][0]
    assert item["name"] == "Jos\u00e9 Form"


def test_faq_csv_in_windows_1252(server):
    api = server.client
    r = csv_post(api, "/blu8x8/api/faqs/import",
                 b"prompt,completion\r\nCaf\xe9 hours?,\x93Always\x94 \x81\r\n")
    assert r.status == 200 and r.json["added"] == 1 and r.json["encoding"] == "windows-1252"
    items = api.get("/blu8x8/api/faqs").json["items"]
    assert ("Caf\u00e9 hours?", "\u201cAlways\u201d \ufffd") in \
        [(i["prompt"], i["completion"]) for i in items]
    r = csv_post(api, "/blu8x8/api/faqs/import", "Caf\u00e9?,S\u00ed\n".encode())
    assert r.json["encoding"] == "utf-8"


def test_recipients_csv_in_windows_1252(server):
    api = server.client
    cid = api.post("/blu8x8/api/campaigns", json={"name": "cp1252", "body": "Hi {name}"}).json["id"]
    r = csv_post(api, f"/blu8x8/api/campaigns/{cid}/recipients/import",
                 b"phone,name\n0927 300 0021," + JOSE_1252 + b"\n")
    assert r.status == 200 and r.json["added"] == 1 and r.json["encoding"] == "windows-1252"
    rows = api.get(f"/blu8x8/api/campaigns/{cid}/recipients").json["items"]
    assert rows[0]["name"] == "Jos\u00e9"


# --------------------------------------------------------------------- ids

NOT_IDS = [1.5, "1", True, 1e20, 0, -3, None, [1], {"id": 1}]


def ids_contact(api, phone):
    r = api.post("/blu8x8/api/contacts", json={"name": "Id " + phone, "phone": phone})
    assert r.status == 201, r
    return r.json["id"]


@pytest.mark.parametrize("bad", NOT_IDS, ids=repr)
def test_campaign_recipients_refuse_non_integer_contact_ids(server, bad):
    api = server.client
    a = ids_contact(api, "0927 400 %04d" % (NOT_IDS.index(bad) * 2 + 1))
    ids_contact(api, "0927 400 %04d" % (NOT_IDS.index(bad) * 2 + 2))
    cid = api.post("/blu8x8/api/campaigns", json={"name": "ids", "body": "Hi"}).json["id"]
    # a + 0.5 used to be rounded to the next contact and added it.
    value = a + 0.5 if bad == 1.5 else bad
    r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients",
                 json={"contact_ids": [a, value]})
    assert r.status == 422, r
    assert "contact_ids" in r.json["fields"]
    assert api.get(f"/blu8x8/api/campaigns/{cid}").json["counts"]["total"] == 0


def test_campaign_recipients_take_integer_ids(server):
    api = server.client
    a = ids_contact(api, "0927 400 1001")
    cid = api.post("/blu8x8/api/campaigns", json={"name": "ids ok", "body": "Hi"}).json["id"]
    r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients",
                 json={"contact_ids": [a, 999999, float(a)]})
    assert r.status == 200, r
    assert r.json["added"] == 1 and r.json["invalid"][0]["reason"] == "no such contact", r.json


@pytest.mark.parametrize("bad", [2.5, "2", False, 1e20], ids=repr)
def test_sms_refuses_non_integer_contact_ids(server, eightx8, bad):
    api = server.client
    a = ids_contact(api, "0927 400 %04d" % (2001 + [2.5, "2", False, 1e20].index(bad)))
    before = len(eightx8.requests)
    r = api.post("/blu8x8/api/sms", json={"text": "Hello", "contact_ids": [a, bad]})
    assert r.status == 422, r
    assert "contact_ids" in r.json["fields"]
    assert len(eightx8.requests) == before


def test_sms_form_ids_still_work_and_junk_is_refused(server, expect_log):
    c = server.client
    if DB == "pgsql":   # PostgreSQL refuses "x1" as a bigint: the statement fails, logged
        expect_log("B8-0105")
    a = ids_contact(c, "0927 400 3001")
    token = c.csrf("/blu8x8/sms")
    r = c.post("/blu8x8/sms", form={"text": "Hello", "contact_ids[]": ["x1"], "csrf": token})
    assert r.status == 422 and "contact_ids" in r.text or "whole numbers" in r.text, r.text[:3000]
    r = c.post("/blu8x8/sms", form={"text": "Hello", "contact_ids[]": [str(a)], "phones": "",
                                    "csrf": token})
    assert r.status == 200 and "1 SMS queued" in r.text, r.text[-3000:]


# ------------------------------------------------------------------ Origin

def own(server) -> str:
    return f"http://127.0.0.1:{server.port}"


def test_cross_origin_api_post_is_403_and_changes_nothing(server):
    api = server.client
    faq = api.post("/blu8x8/api/faqs", json={"prompt": "Kept?", "completion": "Yes"}).json["id"]
    before = stored(api)
    for origin in ("http://evil.example", "null", f"https://127.0.0.1:{server.port}",
                   f"http://127.0.0.1:{server.port + 1}", own(server) + "/path"):
        r = api.post("/blu8x8/api/faqs", json={"prompt": "Cross?", "completion": "No"},
                     headers={"Origin": origin})
        assert r.status == 403, (origin, r)
        assert "another site" in r.json["error"]
    assert api.patch(f"/blu8x8/api/faqs/{faq}", json={"prompt": "Changed?"},
                     headers={"Origin": "http://evil.example"}).status == 403
    assert api.delete(f"/blu8x8/api/faqs/{faq}",
                      headers={"Origin": "http://evil.example"}).status == 403
    assert api.request("PATCH", "/blu8x8/api/settings", json={"ai_persona": "pwned"},
                       headers={"Origin": "http://evil.example"}).status == 403
    assert stored(api) == before
    # A GET from elsewhere is only a read (and the browser keeps the answer from the page).
    assert api.get("/blu8x8/api/faqs", headers={"Origin": "http://evil.example"}).status == 200


def test_same_origin_and_no_origin_are_allowed(server):
    api = server.client
    r = api.post("/blu8x8/api/faqs", json={"prompt": "Same origin?", "completion": "Yes"},
                 headers={"Origin": own(server)})
    assert r.status == 201, r
    r = api.post("/blu8x8/api/faqs", json={"prompt": "Same origin, other case?",
                                           "completion": "Yes"},
                 headers={"Origin": f"HTTP://127.0.0.1:{server.port}"})
    assert r.status == 201, r
    r = api.post("/blu8x8/api/faqs", json={"prompt": "No origin (curl)?", "completion": "Yes"})
    assert r.status == 201, r
    assert api.delete(f"/blu8x8/api/faqs/{r.json['id']}", headers={"Origin": own(server)}).status == 204


def test_cross_origin_form_is_403_even_with_the_csrf_token(server):
    c = server.client
    token = c.csrf("/blu8x8/faqs")
    form = {"prompt": "Form from elsewhere?", "completion": "No", "csrf": token}
    r = c.post("/blu8x8/faqs", form=form, headers={"Origin": "http://evil.example"})
    assert r.status == 403 and "another site" in r.text
    r = c.post("/blu8x8/faqs", form=form, headers={"Origin": "null"})
    assert r.status == 403
    assert "Form from elsewhere?" not in [f["prompt"] for f in c.get("/blu8x8/api/faqs").json["items"]]
    r = c.post("/blu8x8/faqs", form=form, headers={"Origin": own(server)})
    assert r.status == 303, r
    assert "Form from elsewhere?" in [f["prompt"] for f in c.get("/blu8x8/api/faqs").json["items"]]


def test_public_url_counts_as_this_sites_origin(make_server):
    """Behind a balancer that ends TLS, pages are served as https://public."""
    h = make_server("Blu8x8PublicURL https://blu.example.ph/\n")
    r = h.client.post("/blu8x8/api/faqs", json={"prompt": "Via the balancer?", "completion": "Yes"},
                      headers={"Origin": "https://blu.example.ph"})
    assert r.status == 201, r
    r = h.client.post("/blu8x8/api/faqs", json={"prompt": "Other?", "completion": "No"},
                      headers={"Origin": "https://evil.example.ph"})
    assert r.status == 403


@pytest.mark.parametrize("directive, needle", [
    (b'Blu8x8AIPersona "You are caf\xe9 staff"', "Blu8x8AIPersona"),
    (b"Blu8x8Admin jos\xe9", "Blu8x8Admin"),
])
def test_directive_with_invalid_utf8_stops_httpd(make_server, tmp_path, directive, needle):
    extra = tmp_path / "extra.conf"
    extra.write_bytes(directive + b"\n")
    extra.chmod(0o644)
    tmp_path.chmod(0o755)
    h = make_server(f'Include "{extra}"', start=False)
    result = h.check_config()
    assert result.returncode != 0
    assert needle in result.stdout + result.stderr
    # The same directive in UTF-8 is fine.
    extra.write_bytes(directive.decode("cp1252").encode() + b"\n")
    assert h.check_config().returncode == 0
