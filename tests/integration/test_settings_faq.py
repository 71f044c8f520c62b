"""Settings page and the FAQ knowledge base (issue 6: pages and API)."""

import re



# ------------------------------------------------------------------ settings

def test_settings_page_shows_every_setting_grouped_with_its_source(make_server):
    h = make_server("Blu8x8AccountId PinnedAcct\nBlu8x8OpenAIKey sk-pinned-secret-999\n")
    page = h.client.get("/blu8x8/settings")
    assert page.status == 200
    text = page.text
    for group in ("8x8", "Sending", "ChatGPT", "SMS senders", "Links"):
        assert f"<h2>{group}</h2>" in text
    for key in ("api_key", "account_id", "viber_sub_account", "sms_sub_account", "send_interval",
                "chatapps_url", "sms_url", "webhook_authorization", "public_url",
                "default_country", "sms_senders", "openai_key", "openai_url", "openai_model",
                "openai_max_tokens", "ai_respond", "ai_persona", "da_vinci"):
        assert f'id="setting-{key}"' in text, key
    pinned = re.search(r'id="setting-account_id".*?</div>\s*</div>|id="setting-account_id".*?class="hint">',
                       text, re.S).group(0)
    assert "set in server config" in pinned and 'name="account_id"' not in text
    assert "sk-pinned-secret-999" not in text and "test-8x8-key" not in text
    # The model is a select of the six models.
    for model in ("gpt-4o", "gpt-4o-mini", "o1", "o1-mini", "gpt-4-turbo", "gpt-4-turbo-preview"):
        assert f'<option value="{model}"' in text


def test_settings_form_saves_and_keeps_secrets(server):
    c = server.client
    r = c.post_form("/blu8x8/settings", {"send_interval": "0.5", "openai_model": "gpt-4o-mini",
                                         "openai_key": "sk-hook-secret-1",
                                         "sms_senders": "Blu Coffee\nBlu Promo"})
    assert r.posted.status == 303 and r.posted.header("location").endswith("settings")
    s = c.get("/blu8x8/api/settings").json
    assert s["send_interval"]["value"] == 0.5 and s["send_interval"]["source"] == "database"
    assert s["openai_model"]["value"] == "gpt-4o-mini"
    assert s["sms_senders"]["value"] == ["Blu Coffee", "Blu Promo"]
    assert s["openai_key"]["set"] is True
    # An empty replace field keeps the secret.
    r = c.post_form("/blu8x8/settings", {"openai_key": "", "send_interval": "1"})
    assert r.posted.status == 303
    assert c.get("/blu8x8/api/settings").json["openai_key"]["set"] is True
    page = c.get("/blu8x8/settings").text
    assert "hook-secret-1" not in page and "saved here" in page


def test_settings_form_refuses_da_vinci_without_ai_reply(server):
    c = server.client
    r = c.post_form("/blu8x8/settings", {"ai_respond": "0", "da_vinci": "1",
                                         "send_interval": "-3"})
    assert r.status == 422
    block = re.search(r'id="setting-da_vinci".*?<p class="hint">', r.text, re.S).group(0)
    assert "Da Vinci mode can only be on while" in block
    assert "Nothing was saved" in r.text
    # Typed values are kept in the form.
    assert re.search(r'name="send_interval"[^>]*value="-3"', r.text)
    assert c.get("/blu8x8/api/settings").json["da_vinci"]["value"] is False


# ---------------------------------------------------------------------- FAQ

def faq_ids(c):
    return [f["id"] for f in c.get("/blu8x8/api/faqs").json["items"]]


def test_faq_api_crud_and_order(server):
    c = server.client
    for fid in faq_ids(c):
        c.delete(f"/blu8x8/api/faqs/{fid}")
    a = c.post("/blu8x8/api/faqs", json={"prompt": "Do you deliver?",
                                          "completion": "Yes, Metro Manila next day."})
    assert a.status == 201 and a.json["id"] > 0
    b = c.post("/blu8x8/api/faqs", json={"prompt": "Opening hours?", "completion": "8am-6pm."})
    assert b.json["position"] > a.json["position"]
    r = c.post("/blu8x8/api/faqs", json={"prompt": "", "completion": "x" * 4001})
    assert r.status == 422 and set(r.json["fields"]) == {"prompt", "completion"}
    r = c.patch(f"/blu8x8/api/faqs/{a.json['id']}", json={"completion": "Yes, nationwide."})
    assert r.status == 200 and r.json["completion"] == "Yes, nationwide."
    assert c.patch("/blu8x8/api/faqs/999999", json={"prompt": "x"}).status == 404
    listing = c.get("/blu8x8/api/faqs").json
    assert [f["prompt"] for f in listing["items"]] == ["Do you deliver?", "Opening hours?"]
    assert listing["total"] == 2
    # Move down through the page action.
    r = c.post_form(f"/blu8x8/faqs/{a.json['id']}/down", {}, page="/blu8x8/faqs")
    assert r.posted.status == 303
    assert [f["prompt"] for f in c.get("/blu8x8/api/faqs").json["items"]] == \
        ["Opening hours?", "Do you deliver?"]
    r = c.post_form(f"/blu8x8/faqs/{a.json['id']}/up", {}, page="/blu8x8/faqs")
    assert [f["prompt"] for f in c.get("/blu8x8/api/faqs").json["items"]] == \
        ["Do you deliver?", "Opening hours?"]
    assert c.delete(f"/blu8x8/api/faqs/{b.json['id']}").status == 204
    assert c.delete(f"/blu8x8/api/faqs/{b.json['id']}").status == 404


def test_faq_csv_import_export_round_trip(server):
    c = server.client
    for fid in faq_ids(c):
        c.delete(f"/blu8x8/api/faqs/{fid}")
    csv = ('\ufeffprompt,completion\r\n'
           '"Do you sell beans, or only drinks?","Both: beans, ground coffee\nand drinks."\r\n'
           '\r\n'
           'Where are you?,"Makati, Metro Manila"\r\n'
           'only one column\r\n'
           '"broken quote,here\r\n')
    r = c.post("/blu8x8/api/faqs/import", body=csv.encode(),
               headers={"Content-Type": "text/csv"})
    assert r.status == 200
    assert r.json["added"] == 2
    lines = {i["line"] for i in r.json["invalid"]}
    assert 6 in lines and 7 in lines, r.json
    assert c.post("/blu8x8/api/faqs/import", body="a,b",
                  headers={"Content-Type": "text/plain"}).status == 415
    export = c.get("/blu8x8/faqs.csv")
    assert export.status == 200 and export.header("content-type").startswith("text/csv")
    assert export.csv_text.splitlines()[0] == "prompt,completion"
    assert '"Both: beans, ground coffee\nand drinks."' in export.csv_text
    items = c.get("/blu8x8/api/faqs").json["items"]
    assert items[0]["completion"] == "Both: beans, ground coffee\nand drinks."


def test_faq_csv_export_guards_formulas_and_reimports_unchanged(server):
    c = server.client
    for fid in faq_ids(c):
        c.delete(f"/blu8x8/api/faqs/{fid}")
    pairs = [('=HYPERLINK("http://evil.example","Prices")', "+639171234567"),
             ("@SUM(A1:A9)", "-5 percent off, or -12.50"),
             ("-- dashes?", "'=already marked"),
             ("Plain, question", "-12.50")]
    for prompt, completion in pairs:
        assert c.post("/blu8x8/api/faqs",
                      json={"prompt": prompt, "completion": completion}).status == 201
    export = c.get("/blu8x8/faqs.csv")
    text = export.csv_text
    assert "\r\n\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"Prices\"\")\",+639171234567\r\n" in text
    assert "\r\n'@SUM(A1:A9),'-5 percent off, or -12.50" not in text   # quoted: has a comma
    assert "\r\n'@SUM(A1:A9),\"'-5 percent off, or -12.50\"\r\n" in text
    assert "\r\n'-- dashes?,''=already marked\r\n" in text
    assert "\r\n\"Plain, question\",-12.50\r\n" in text
    # Round trip: the export (BOM and all) imported again gives the same pairs.
    for fid in faq_ids(c):
        c.delete(f"/blu8x8/api/faqs/{fid}")
    r = c.post("/blu8x8/api/faqs/import", body=export.body,
               headers={"Content-Type": "text/csv"})
    assert r.status == 200 and r.json["added"] == 4 and not r.json["invalid"], r.json
    items = c.get("/blu8x8/api/faqs").json["items"]
    assert [(i["prompt"], i["completion"]) for i in items] == pairs
    assert c.get("/blu8x8/faqs.csv").body == export.body


def test_faq_page_form_import_and_prompt_preview(server):
    c = server.client
    for fid in faq_ids(c):
        c.delete(f"/blu8x8/api/faqs/{fid}")
    page = c.get("/blu8x8/faqs").text
    assert "You are a coffee expert at Blu Coffee Distributors.</pre>" in page
    assert "For frequently asked questions" not in page
    r = c.post_form("/blu8x8/faqs", {"prompt": "Do you deliver?",
                                     "completion": "Yes, Metro Manila next day."})
    assert r.posted.status == 303
    r = c.post_form("/blu8x8/faqs", {"prompt": "", "completion": "kept text"})
    assert r.status == 422 and "Prompt is required" in r.text and "kept text" in r.text
    r = c.post_form("/blu8x8/faqs/import", {"csv": "Hours?,8am-6pm\n<script>x</script>,y\nbad"},
                    page="/blu8x8/faqs")
    assert r.status == 200 and "Added 2 pair(s)" in r.text
    assert "1 line(s) not imported" in r.text and "Line 3: expected two columns" in r.text
    page = c.get("/blu8x8/faqs").text
    expected = ("You are a coffee expert at Blu Coffee Distributors.\n"
                "For frequently asked questions, use these responses:\n"
                "&#39;Do you deliver?&#39; - &#39;Yes, Metro Manila next day.&#39;\n"
                "&#39;Hours?&#39; - &#39;8am-6pm&#39;\n"
                "&#39;&lt;script&gt;x&lt;/script&gt;&#39; - &#39;y&#39;</pre>")
    assert expected in page
    assert "<script>x</script>" not in page
