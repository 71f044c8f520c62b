"""Settings and the FAQ list edited in a real browser (issue 6): the Da Vinci
refusal shows next to its switch, saving works, secrets stay hidden, FAQ
pairs are added, reordered and edited, and the prompt preview follows."""

from conftest import page_replaced
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait


def submit(driver, form_css):
    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, form_css + " button[type=submit]").click()
    WebDriverWait(driver, 5).until(page_replaced(old))


def test_settings_da_vinci_refusal_and_save(server, browser):
    d = browser.open("/blu8x8/settings")
    Select(d.find_element(By.ID, "f-ai_respond")).select_by_value("0")
    Select(d.find_element(By.ID, "f-da_vinci")).select_by_value("1")
    interval = d.find_element(By.ID, "f-send_interval")
    interval.clear()
    interval.send_keys("0.25")
    submit(d, "form.settings-form")
    block = d.find_element(By.ID, "setting-da_vinci")
    assert "Da Vinci mode can only be on while" in block.find_element(By.CLASS_NAME,
                                                                      "field-error").text
    assert "Nothing was saved" in d.page_source
    # The typed values are kept; switch the AI reply on and save again.
    assert d.find_element(By.ID, "f-send_interval").get_attribute("value") == "0.25"
    Select(d.find_element(By.ID, "f-ai_respond")).select_by_value("1")
    d.find_element(By.ID, "f-openai_key").send_keys("sk-browser-secret")
    submit(d, "form.settings-form")
    assert d.current_url.endswith("/blu8x8/settings?notice=saved")
    assert "Saved." in d.find_element(By.CLASS_NAME, "notice").text
    s = server.client.get("/blu8x8/api/settings").json
    assert s["da_vinci"]["value"] is True and s["ai_respond"]["value"] is True
    assert s["send_interval"]["value"] == 0.25 and s["openai_key"]["set"] is True
    assert "sk-browser-secret" not in d.page_source
    # The refused form answered 422 on purpose; nothing else may complain.
    assert [e for e in browser.console_errors() if "status of 422" not in e] == []


def test_faq_list_add_reorder_edit(server, browser):
    for f in server.client.get("/blu8x8/api/faqs").json["items"]:
        server.client.delete(f"/blu8x8/api/faqs/{f['id']}")
    d = browser.open("/blu8x8/faqs")
    for prompt, completion in (("Do you deliver?", "Yes, Metro Manila next day."),
                               ("Opening hours?", "8am to 6pm daily.")):
        d.find_element(By.NAME, "prompt").send_keys(prompt)
        d.find_element(By.NAME, "completion").send_keys(completion)
        submit(d, "form[action$='/faqs']")
    rows = d.find_elements(By.CSS_SELECTOR, "table.faqs tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in rows] == \
        ["Do you deliver?", "Opening hours?"]
    # Move the second pair up.
    old = d.find_element(By.TAG_NAME, "html")
    rows[1].find_element(By.CSS_SELECTOR, "button[title='Move up']").click()
    WebDriverWait(d, 5).until(page_replaced(old))
    rows = d.find_elements(By.CSS_SELECTOR, "table.faqs tbody tr")
    assert rows[0].find_elements(By.TAG_NAME, "td")[1].text == "Opening hours?"
    preview = d.find_element(By.CLASS_NAME, "prompt-preview").text
    assert preview.splitlines()[2:] == ["'Opening hours?' - '8am to 6pm daily.'",
                                        "'Do you deliver?' - 'Yes, Metro Manila next day.'"]
    # Edit a pair.
    rows[1].find_element(By.LINK_TEXT, "Edit").click()
    completion = d.find_element(By.NAME, "completion")
    completion.clear()
    completion.send_keys("Yes, nationwide in 2-3 days.")
    submit(d, "form[action*='/faqs/']")
    assert "Yes, nationwide in 2-3 days." in d.find_element(By.CLASS_NAME, "prompt-preview").text
    assert browser.console_errors() == []


def test_every_admin_page_fits_a_phone(server, browser):
    """At 390 px no admin page scrolls sideways (tables scroll in their box)."""
    d = browser.driver
    d.set_window_size(390, 900)
    try:
        for path in ("", "campaigns", "campaigns/new", "contacts", "tags", "conversations",
                     "leads", "faqs", "sms", "settings", "users"):
            browser.open("/blu8x8/" + path)
            wide, width = d.execute_script(
                "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert wide <= width, f"/blu8x8/{path} is {wide}px wide on a {width}px screen"
    finally:
        d.set_window_size(1280, 1000)


def test_settings_base_urls_are_a_choice_of_regions(make_server, browser):
    """Without directives pinning them, the 8x8 and OpenAI base URLs are selects
    of the allowed hosts; choosing a region saves it."""
    h = make_server(worker=False, standin_urls=False)
    d = browser.driver
    d.get(f"http://127.0.0.1:{h.port}/blu8x8/settings")
    chat = Select(d.find_element(By.ID, "f-chatapps_url"))
    assert [o.get_attribute("value") for o in chat.options] == [
        "https://chatapps.8x8.com", "https://chatapps.us.8x8.com", "https://chatapps.8x8.uk",
        "https://chatapps.8x8.id"]
    assert chat.first_selected_option.text == "Asia-Pacific (https://chatapps.8x8.com)"
    chat.select_by_visible_text("Europe (UK) (https://chatapps.8x8.uk)")
    Select(d.find_element(By.ID, "f-sms_url")).select_by_value("https://sms.8x8.uk")
    assert [o.get_attribute("value") for o in
            Select(d.find_element(By.ID, "f-openai_url")).options] == ["https://api.openai.com"]
    submit(d, "form.settings-form")
    assert d.current_url.endswith("/blu8x8/settings?notice=saved")
    s = h.client.get("/blu8x8/api/settings").json
    assert s["chatapps_url"]["value"] == "https://chatapps.8x8.uk"
    assert s["sms_url"]["value"] == "https://sms.8x8.uk"
    assert Select(d.find_element(By.ID, "f-chatapps_url")).first_selected_option.get_attribute(
        "value") == "https://chatapps.8x8.uk"
    assert browser.console_errors() == []
