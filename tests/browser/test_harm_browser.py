"""Issue 17 in a real browser: the live campaign preview (variables with
fallbacks, media, button, SMS fallback, the characters that force UCS-2),
local times with the zone on the pages, every section of the navigation in
view on a 390 px phone, and a deleted contact's opt-out that stays."""

import datetime
import uuid
import zoneinfo

from conftest import page_replaced
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait


def wait_text(driver, element_id, expected, timeout=5):
    WebDriverWait(driver, timeout).until(
        lambda d: d.find_element(By.ID, element_id).text == expected,
        message=f"#{element_id} never showed {expected!r}")


def test_live_preview_as_the_phone_shows_it(server, browser):
    d = browser.open("/blu8x8/campaigns/new")
    d.find_element(By.NAME, "name").send_keys("Preview launch")
    body = d.find_element(By.ID, "body")
    body.send_keys("Hi {first_name|there}! {name} — try {phone}")
    # The example recipient, as the server would expand it.
    wait_text(d, "preview-body", "Hi Juan! Juan dela Cruz — try +639171234567")
    # {name} without a fallback: a nameless recipient would read "Hi ! ...".
    assert d.find_element(By.ID, "preview-empty").is_displayed()
    body.clear()
    body.send_keys("Hi {name|there}, fresh beans!")
    wait_text(d, "preview-body", "Hi Juan dela Cruz, fresh beans!")
    assert not d.find_element(By.ID, "preview-empty").is_displayed()
    # Media and a button appear in the bubble as they are typed.
    assert not d.find_element(By.ID, "preview-media").is_displayed()
    Select(d.find_element(By.ID, "type")).select_by_value("image")
    d.find_element(By.NAME, "url").send_keys("https://cdn.example/beans.jpg?v=2")
    wait_text(d, "preview-media", "Image beans.jpg")
    assert not d.find_element(By.ID, "preview-button").is_displayed()
    d.find_element(By.NAME, "button_caption").send_keys("Shop now")
    wait_text(d, "preview-button", "Shop now")
    # The SMS fallback, and the counter names what forces UCS-2.
    assert not d.find_element(By.ID, "preview-sms").is_displayed()
    d.find_element(By.ID, "fallback_text").send_keys("Sale — {first_name|friend}")
    wait_text(d, "preview-fallback", "Sale — Juan")
    WebDriverWait(d, 5).until(
        lambda x: x.find_element(By.ID, "sms-count").text.endswith(
            "· UCS-2 · 1 SMS part · — (em dash) forces UCS-2"),
        message="the counter never named the em dash")
    assert browser.console_errors() == []


def test_pages_show_local_time_with_the_zone(server, browser):
    api = server.client
    c = api.post("/blu8x8/api/campaigns", json={"name": f"Zone {uuid.uuid4().hex[:6]}",
                                                "type": "text", "body": "Hi"}).json
    created = datetime.datetime.strptime(c["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ") \
        .replace(tzinfo=datetime.timezone.utc)
    d = browser.open(f"/blu8x8/campaigns/{c['id']}")
    manila = created.astimezone(zoneinfo.ZoneInfo("Asia/Manila"))
    summary = d.find_element(By.CSS_SELECTOR, ".campaign-summary").text
    assert f"created {manila.strftime('%Y-%m-%d %H:%M:%S')} PST" in summary
    assert "times in Asia/Manila (PST)" in d.find_element(By.CSS_SELECTOR, "footer").text
    try:
        assert api.patch("/blu8x8/api/settings", json={"time_zone": "Europe/London"}).status == 200
        d = browser.open(f"/blu8x8/campaigns/{c['id']}")
        london = created.astimezone(zoneinfo.ZoneInfo("Europe/London"))
        summary = d.find_element(By.CSS_SELECTOR, ".campaign-summary").text
        assert f"created {london.strftime('%Y-%m-%d %H:%M:%S')} {london.tzname()}" in summary
        assert f"times in Europe/London ({london.tzname()})" in \
            d.find_element(By.CSS_SELECTOR, "footer").text
    finally:
        api.patch("/blu8x8/api/settings", json={"time_zone": "Asia/Manila"})


def test_every_section_is_in_view_on_a_390px_phone(server, browser):
    d = browser.driver
    try:
        d.set_window_size(390, 844)
        browser.open("/blu8x8/campaigns")
        width = d.execute_script("return document.documentElement.clientWidth")
        assert d.execute_script("return document.documentElement.scrollWidth") <= width
        links = d.find_elements(By.CSS_SELECTOR, "nav.nav a")
        assert len(links) >= 11 and "Opt-outs" in [a.text for a in links]
        for a in links:
            rect = d.execute_script("var r = arguments[0].getBoundingClientRect();"
                                    "return [r.left, r.right, r.width];", a)
            assert a.is_displayed() and rect[0] >= 0 and rect[1] <= width and rect[2] > 0, \
                (a.text, rect, width)
        nav = d.find_element(By.CSS_SELECTOR, "nav.nav")
        assert d.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth", nav)
    finally:
        d.set_window_size(1280, 1000)


def test_a_deleted_contact_stays_suppressed(server, browser):
    api = server.client
    phone = "+639471119999"
    c = api.post("/blu8x8/api/contacts", json={"name": "Leaving Leah", "phone": phone,
                                               "opted_out": True}).json
    d = browser.open(f"/blu8x8/contacts/{c['id']}")
    old = d.find_element(By.TAG_NAME, "html")
    d.find_element(By.CSS_SELECTOR, "form[action$='/delete'] button").click()
    d.switch_to.alert.accept()
    WebDriverWait(d, 5).until(page_replaced(old))
    assert api.get(f"/blu8x8/api/contacts/{c['id']}").status == 404
    d = browser.open("/blu8x8/suppressions")
    rows = [r.text for r in d.find_elements(By.CSS_SELECTOR, "table.suppressions tbody tr")]
    assert any(phone in r for r in rows), rows
    # Added back as a contact, the number is still opted out.
    d = browser.open("/blu8x8/contacts")
    d.find_element(By.NAME, "phone").send_keys(phone)
    form = d.find_element(By.NAME, "phone").find_element(By.XPATH, "./ancestor::form")
    old = d.find_element(By.TAG_NAME, "html")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(d, 5).until(page_replaced(old))
    d = browser.open("/blu8x8/contacts?q=639471119999")
    assert "opted out" in d.find_element(By.CSS_SELECTOR, "table.contacts").text
    # And a bulk SMS to it is refused as opted out.
    r = api.post("/blu8x8/api/sms", json={"text": "Promo", "phones": [phone]})
    assert r.status == 422 and "1 opted out" in r.json["fields"]["phones"]


def test_sms_log_refreshes_itself(server, browser):
    api = server.client
    phone = "+639471118888"
    d = browser.open("/blu8x8/sms")
    d.execute_script("window.__notReloaded = true;")
    assert phone not in d.find_element(By.ID, "log").text
    r = api.post("/blu8x8/api/sms", json={"text": "Fresh beans", "phones": [phone]})
    assert r.status == 202, r
    WebDriverWait(d, 15).until(
        lambda x: phone in x.find_element(By.CSS_SELECTOR, "table.sms-log").text
        and "queued" in x.find_element(By.CSS_SELECTOR, "table.sms-log").text,
        message="the SMS log never showed the new SMS")
    assert d.execute_script("return window.__notReloaded === true;")
    assert browser.console_errors() == []
