"""Contacts and tags: JSON API, pages, CSV import, CSRF and HTML escaping."""


import pytest

BOM = "\ufeff"
SCRIPT = "<script>alert(1)</script>"


def make_contact(api, name, phone, tags=(), opted_out=False):
    r = api.post("/blu8x8/api/contacts", json={"name": name, "phone": phone, "tags": list(tags),
                                               "opted_out": opted_out})
    assert r.status == 201, r
    return r.json


def csv_post(api, path, text, content_type="text/csv"):
    return api.post(path, body=text.encode(), headers={"Content-Type": content_type})


# ---------------------------------------------------------------------- tags

def test_tags_api_create_rename_delete(api):
    r = api.post("/blu8x8/api/tags", json={"name": "  Wholesale "})
    assert r.status == 201
    tag = r.json
    assert tag["name"] == "Wholesale" and tag["contacts"] == 0 and tag["id"]
    # Names are unique whatever their case.
    r = api.post("/blu8x8/api/tags", json={"name": "wholesale"})
    assert r.status == 422 and "already exists" in r.json["fields"]["name"]
    for bad in ("", "a;b", "x" * 65):
        r = api.post("/blu8x8/api/tags", json={"name": bad})
        assert r.status == 422 and r.json["fields"]["name"], bad
    other = api.post("/blu8x8/api/tags", json={"name": "Retail"}).json
    r = api.patch(f"/blu8x8/api/tags/{other['id']}", json={"name": "WHOLESALE"})
    assert r.status == 422
    r = api.patch(f"/blu8x8/api/tags/{other['id']}", json={"name": "Cafes"})
    assert r.status == 200 and r.json["name"] == "Cafes"
    make_contact(api, "Tagged", "0917 700 0001", ["cafes"])
    names = {t["name"]: t["contacts"] for t in api.get("/blu8x8/api/tags").json["items"]}
    assert names["Cafes"] == 1 and names["Wholesale"] == 0
    assert api.delete(f"/blu8x8/api/tags/{other['id']}").status == 204
    assert api.delete(f"/blu8x8/api/tags/{other['id']}").status == 404
    assert api.patch("/blu8x8/api/tags/99999", json={"name": "x"}).status == 404
    # Deleting a tag keeps its contacts.
    assert api.get("/blu8x8/api/contacts?q=Tagged").json["items"][0]["tags"] == []


# ------------------------------------------------------------------ contacts

def test_contact_create_normalises_phone_and_creates_tags(api):
    c = make_contact(api, "Maria Santos", "0917-123-4567", ["VIP", "manila"])
    assert c["phone"] == "+639171234567"
    assert sorted(c["tags"]) == ["VIP", "manila"]
    assert c["opted_out"] is False and c["opted_out_at"] is None
    assert "manila" in [t["name"] for t in api.get("/blu8x8/api/tags").json["items"]]
    got = api.get(f"/blu8x8/api/contacts/{c['id']}")
    assert got.status == 200 and got.json["name"] == "Maria Santos"
    # The same number written another way is the same contact.
    r = api.post("/blu8x8/api/contacts", json={"name": "Dup", "phone": "+63 917 123 4567"})
    assert r.status == 422 and "already has this phone" in r.json["fields"]["phone"]


@pytest.mark.parametrize("phone,why", [("", "required"), ("0917 12", "too short"),
                                       ("0917 abc 4567", "letters"),
                                       ("+1234567890123456", "too long")])
def test_contact_invalid_phone_is_refused(api, phone, why):
    r = api.post("/blu8x8/api/contacts", json={"name": "X", "phone": phone})
    assert r.status == 422
    assert why in r.json["fields"]["phone"]


def test_contact_missing_phone_and_bad_types(api):
    r = api.post("/blu8x8/api/contacts", json={"name": "No phone"})
    assert r.status == 422 and r.json["fields"]["phone"]
    r = api.post("/blu8x8/api/contacts", json={"phone": "0917 700 0100", "tags": "a;b",
                                               "opted_out": "perhaps"})
    assert r.status == 422 and r.json["fields"]["opted_out"]
    assert api.post("/blu8x8/api/contacts", json=[1, 2]).status == 422


def test_contact_patch_tags_and_opt_out(api):
    c = make_contact(api, "Juan", "0917 700 0002", ["a", "b"])
    r = api.patch(f"/blu8x8/api/contacts/{c['id']}", json={"tags": ["c"], "opted_out": True})
    assert r.status == 200
    assert r.json["tags"] == ["c"] and r.json["name"] == "Juan"
    assert r.json["opted_out"] is True and r.json["opted_out_at"].endswith("Z")
    since = r.json["opted_out_at"]
    # Saving again keeps the date of opting out.
    r = api.patch(f"/blu8x8/api/contacts/{c['id']}", json={"name": "Juan D", "opted_out": True})
    assert r.json["opted_out_at"] == since and r.json["name"] == "Juan D"
    r = api.patch(f"/blu8x8/api/contacts/{c['id']}", json={"opted_out": False})
    assert r.json["opted_out"] is False and r.json["opted_out_at"] is None
    other = make_contact(api, "Other", "0917 700 0003")
    r = api.patch(f"/blu8x8/api/contacts/{other['id']}", json={"phone": "09177000002"})
    assert r.status == 422 and r.json["fields"]["phone"]
    assert api.patch("/blu8x8/api/contacts/99999", json={"name": "x"}).status == 404
    assert api.delete(f"/blu8x8/api/contacts/{other['id']}").status == 204
    assert api.get(f"/blu8x8/api/contacts/{other['id']}").status == 404


def test_contacts_list_search_filters_and_pages(api):
    make_contact(api, "Search Alpha", "0918 800 0001", ["searchers"])
    make_contact(api, "Search Beta", "0918 800 0002", ["searchers"], opted_out=True)
    make_contact(api, "100%_literal", "0918 800 0003")
    names = lambda r: [c["name"] for c in r.json["items"]]  # noqa: E731
    assert names(api.get("/blu8x8/api/contacts?q=search%20al")) == ["Search Alpha"]
    assert names(api.get("/blu8x8/api/contacts?q=0918%20800%200002")) == ["Search Beta"]
    assert names(api.get("/blu8x8/api/contacts?q=%2B63918800")) == [
        "100%_literal", "Search Alpha", "Search Beta"]
    # LIKE wildcards typed by a user are plain characters.
    assert names(api.get("/blu8x8/api/contacts?q=0%25_")) == ["100%_literal"]
    assert names(api.get("/blu8x8/api/contacts?tag=SEARCHERS&opted_out=false")) == ["Search Alpha"]
    assert names(api.get("/blu8x8/api/contacts?tag=searchers&opted_out=true")) == ["Search Beta"]
    page = api.get("/blu8x8/api/contacts?tag=searchers&per_page=1&page=2").json
    assert page["total"] == 2 and page["per_page"] == 1 and [c["name"] for c in page["items"]] == [
        "Search Beta"]


# -------------------------------------------------------------------- import

def test_contacts_import_report_lines_bom_crlf_blank_and_broken_quote(api):
    make_contact(api, "Existing", "0919 900 0001", ["old"])
    text = (BOM + "Phone,Name,Tags\r\n"            # header in another column order
            "0919 900 0002,Ana Reyes,import;vip\r\n"
            "\r\n"                                  # blank line (line 3)
            "0919 900 0003,\"Cruz, Ben\",import\r\n"
            "12,Too Short,\r\n"                     # line 5: invalid phone
            "0919 900 0002,Ana Again,\r\n"          # duplicate in the file
            "0919 900 0001,Existing,new\r\n"        # adds a tag: updated
            "\"0919 900 0004,Broken\r\n"            # line 8: unterminated quote
            "0919 900 0005,After Broken,bad;ta,g\r\n"  # line 9
            "0919 900 0006,Fine,\r\n")
    r = csv_post(api, "/blu8x8/api/contacts/import", text)
    assert r.status == 200, r
    rep = r.json
    assert rep["added"] == 4 and rep["updated"] == 1 and rep["duplicates"] == 1
    invalid = {i["line"]: i for i in rep["invalid"]}
    assert set(invalid) == {5, 8}
    assert invalid[5]["value"] == "12" and "too short" in invalid[5]["reason"]
    assert invalid[8]["reason"] == "unterminated quoted field"
    cruz = api.get("/blu8x8/api/contacts?q=cruz").json["items"][0]
    assert cruz["name"] == "Cruz, Ben" and cruz["phone"] == "+639199000003"
    existing = api.get("/blu8x8/api/contacts?q=Existing").json["items"][0]
    assert sorted(existing["tags"]) == ["new", "old"]
    # The same file again changes nothing.
    again = csv_post(api, "/blu8x8/api/contacts/import", text).json
    assert again["added"] == 0 and again["updated"] == 0 and again["duplicates"] == 6


def test_contacts_import_without_header_and_content_type(api):
    r = csv_post(api, "/blu8x8/api/contacts/import", "Lito,0919 910 0001,x\nMia,0919 910 0002\n")
    assert r.status == 200 and r.json["added"] == 2 and r.json["invalid"] == []
    r = csv_post(api, "/blu8x8/api/contacts/import", "a,b", content_type="application/json")
    assert r.status == 415
    r = api.post("/blu8x8/api/contacts/import", json={"csv": "x"})
    assert r.status == 415


# --------------------------------------------------------------------- pages

def test_contact_pages_add_edit_import_delete(server):
    client = server.client
    r = client.post_form("/blu8x8/contacts", {"name": "Form Person", "phone": "0920 100 0001",
                                              "tags": "formtag; second"})
    assert r.posted.status == 303 and r.posted.header("location").endswith("/blu8x8/contacts")
    page = client.get("/blu8x8/contacts?q=Form").text
    assert "Form Person" in page and "+639201000001" in page and "formtag" in page
    # A refused form keeps what was typed and says why next to the field.
    r = client.post_form("/blu8x8/contacts", {"name": "Typo Person", "phone": "0920 abc"},
                         page="/blu8x8/contacts")
    assert r.status == 422
    assert 'value="Typo Person"' in r.text and "not a valid phone number" in r.text
    cid = client.get("/blu8x8/api/contacts?q=Form").json["items"][0]["id"]
    edit = client.get(f"/blu8x8/contacts/{cid}")
    assert edit.status == 200 and 'value="formtag; second"' in edit.text
    r = client.post_form(f"/blu8x8/contacts/{cid}", {"name": "Form Person", "phone": "09201000001",
                                                    "tags": "formtag", "opted_out": "1"})
    assert r.posted.status == 303
    c = client.get(f"/blu8x8/api/contacts/{cid}").json
    assert c["opted_out"] is True and c["tags"] == ["formtag"]
    assert "opted out" in client.get("/blu8x8/contacts?q=Form").text
    # Unticking the box opts back in.
    client.post_form(f"/blu8x8/contacts/{cid}", {"name": "Form Person", "phone": "09201000001",
                                                "tags": "formtag"})
    assert client.get(f"/blu8x8/api/contacts/{cid}").json["opted_out"] is False
    r = client.post_form("/blu8x8/contacts/import",
                         {"csv": "name,phone\nPaste One,0920 100 0002\nBad,xyz\n"},
                         page="/blu8x8/contacts")
    assert r.status == 200
    assert "Added 1" in r.text and "Line 3: not a valid phone number" in r.text
    r = client.post_form(f"/blu8x8/contacts/{cid}/delete", {}, page=f"/blu8x8/contacts/{cid}")
    assert r.posted.status == 303
    assert client.get(f"/blu8x8/contacts/{cid}").status == 404


def test_tag_pages_create_rename_delete(server):
    client = server.client
    r = client.post_form("/blu8x8/tags", {"name": "PageTag"})
    assert r.posted.status == 303
    tags = {t["name"]: t["id"] for t in client.get("/blu8x8/api/tags").json["items"]}
    tid = tags["PageTag"]
    r = client.post_form("/blu8x8/tags", {"name": "pagetag"}, page="/blu8x8/tags")
    assert r.status == 422 and "already exists" in r.text and 'value="pagetag"' in r.text
    r = client.post_form(f"/blu8x8/tags/{tid}", {"name": "Renamed;"}, page="/blu8x8/tags")
    assert r.status == 422 and "cannot contain" in r.text
    r = client.post_form(f"/blu8x8/tags/{tid}", {"name": "RenamedTag"}, page="/blu8x8/tags")
    assert r.posted.status == 303
    assert "RenamedTag" in client.get("/blu8x8/tags").text
    r = client.post_form(f"/blu8x8/tags/{tid}/delete", {}, page="/blu8x8/tags")
    assert r.posted.status == 303
    assert "RenamedTag" not in client.get("/blu8x8/tags").text


@pytest.mark.parametrize("path", ["/blu8x8/contacts", "/blu8x8/contacts/import",
                                  "/blu8x8/contacts/{cid}", "/blu8x8/contacts/{cid}/delete",
                                  "/blu8x8/tags", "/blu8x8/tags/{tid}", "/blu8x8/tags/{tid}/delete"])
def test_every_contact_and_tag_form_needs_the_csrf_token(server, path):
    api = server.client
    c = make_contact(api, "Csrf Target", "0920 200 0001") if not api.get(
        "/blu8x8/api/contacts?q=Csrf").json["items"] else api.get(
        "/blu8x8/api/contacts?q=Csrf").json["items"][0]
    tags = {t["name"]: t["id"] for t in api.get("/blu8x8/api/tags?per_page=1000").json["items"]}
    tid = tags.get("csrf-target") or api.post("/blu8x8/api/tags",
                                               json={"name": "csrf-target"}).json["id"]
    fields = {"name": "Hacked", "phone": "0920 200 0009", "csv": "Hacked,0920 200 0008"}
    for token in (None, "0" * 64):
        form = dict(fields, **({"csrf": token} if token else {}))
        r = api.post(path.format(cid=c["id"], tid=tid), form=form)
        assert r.status == 403 and "CSRF" in r.text
    assert api.get(f"/blu8x8/api/contacts/{c['id']}").json["name"] == "Csrf Target"
    assert not api.get("/blu8x8/api/contacts?q=Hacked").json["items"]
    assert api.get(f"/blu8x8/api/tags/{tid}").json["name"] == "csrf-target"


def test_script_name_is_escaped_on_contact_pages(server):
    api = server.client
    c = make_contact(api, SCRIPT, "0920 300 0001", [SCRIPT.replace(";", "")])
    for path in ("/blu8x8/contacts", f"/blu8x8/contacts?q={c['phone'][1:]}",
                 f"/blu8x8/contacts/{c['id']}", "/blu8x8/tags"):
        page = server.client.get(path)
        assert page.status == 200
        assert SCRIPT not in page.text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, path
