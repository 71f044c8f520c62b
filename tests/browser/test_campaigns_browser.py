"""A campaign made in a real browser: the form with its live counters, the
recipients added by tag and by paste, the recipients table; screenshots of
the page on a desktop and a 390 px phone (/tmp/b8-campaign*.png)."""

import re

from conftest import page_replaced
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait


def wait_text(driver, element_id, expected, timeout=5):
    WebDriverWait(driver, timeout).until(
        lambda d: d.find_element(By.ID, element_id).text == expected,
        message=f"#{element_id} never showed {expected!r}")


def submit_form_of(driver, css):
    """Submits the form holding css and waits for the next page."""
    old_page = driver.find_element(By.TAG_NAME, "html")
    field = driver.find_element(By.CSS_SELECTOR, css)
    field.find_element(By.XPATH, "./ancestor::form").find_element(
        By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 5).until(page_replaced(old_page))


def full_page_screenshot(driver, width, path):
    driver.set_window_size(width, 900)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(height + 120, 6000))
    driver.save_screenshot(path)


def test_campaign_form_counters_recipients_by_tag_paste_and_file(server, browser, tmp_path):
    api = server.client
    for name, phone, opted in [("Maria Santos", "0917 555 1001", False),
                               ("<script>alert(1)</script>", "0917 555 1002", False),
                               ("Opted Out", "0917 555 1003", True)]:
        r = api.post("/blu8x8/api/contacts", json={"name": name, "phone": phone,
                                                   "tags": ["roasters"], "opted_out": opted})
        assert r.status == 201, r

    d = browser.open("/blu8x8/campaigns/new")
    d.find_element(By.NAME, "name").send_keys("Browser launch")
    # Fields follow the message type: a video needs its URL, thumbnail, size...
    assert not d.find_element(By.NAME, "url").is_displayed()
    Select(d.find_element(By.ID, "type")).select_by_value("video")
    assert d.find_element(By.NAME, "thumbnail_url").is_displayed()
    Select(d.find_element(By.ID, "type")).select_by_value("text")
    assert not d.find_element(By.NAME, "thumbnail_url").is_displayed()
    assert d.find_element(By.NAME, "button_caption").is_displayed()
    body = "Hi {name}, our new roast is here!"
    d.find_element(By.ID, "body").send_keys(body)
    wait_text(d, "body-chars", str(len(body)))

    fallback = d.find_element(By.ID, "fallback_text")
    fallback.send_keys("x" * 161)
    wait_text(d, "sms-count", "161 characters · GSM-7 · 2 SMS parts")
    fallback.send_keys("☕")   # not in GSM-7: the whole text goes as UCS-2
    wait_text(d, "sms-count", "162 characters · UCS-2 · 3 SMS parts · ☕ (emoji) forces UCS-2")
    d.find_element(By.CSS_SELECTOR, "form.campaign-form button[type=submit]").click()
    WebDriverWait(d, 5).until(lambda d: re.search(r"/campaigns/\d+$", d.current_url))
    assert d.find_element(By.TAG_NAME, "h1").text == "Browser launch"
    assert "Created." in d.find_element(By.CLASS_NAME, "notice").text
    cid = re.search(r"/campaigns/(\d+)", d.current_url).group(1)

    # Add by tag: the opted-out contact is skipped and counted.
    d.find_element(By.CSS_SELECTOR, 'input[name="tags[]"][value="roasters"]').click()
    submit_form_of(d, 'input[name="tags[]"]')
    report = d.find_element(By.ID, "report").text
    assert "Added 2" in report and "opted-out skipped 1" in report

    # Paste a list: good numbers added, the bad line reported with its number.
    d.find_element(By.ID, "csv").send_keys("0917 555 2001\n0917 555 2002\nnot-a-number\n"
                                           "0917 555 1001\n")
    submit_form_of(d, "#csv")
    report = d.find_element(By.ID, "report").text
    assert "Added 2" in report and "duplicates skipped 1" in report
    assert "Line 3: not a valid phone number" in report

    # Upload a file: the page reads it into the text box and sends the form.
    upload = tmp_path / "numbers.csv"
    upload.write_text("Name,Mobile\r\nFile Person,0917 555 3001\r\n")
    d.find_element(By.ID, "csv-file").send_keys(str(upload))
    WebDriverWait(d, 5).until(
        lambda d: "File Person" in d.find_element(By.ID, "csv").get_property("value"))
    submit_form_of(d, "#csv")
    assert "Added 1" in d.find_element(By.ID, "report").text

    rows = d.find_elements(By.CSS_SELECTOR, "table.recipients tbody tr")
    assert len(rows) == 5
    table = d.find_element(By.CSS_SELECTOR, "table.recipients").text
    assert "Maria Santos" in table and "+639175552001" in table
    assert "<script>alert(1)</script>" in table   # shown as text, not run
    assert re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", table)
    assert "Hi Maria Santos, our new roast is here!" in d.find_element(By.ID, "preview-body").text
    assert api.get(f"/blu8x8/api/campaigns/{cid}").json["counts"]["pending"] == 5

    # The counters start right on a saved campaign too.
    browser.open(f"/blu8x8/campaigns/{cid}")
    assert d.find_element(By.ID, "sms-count").text == \
        "162 characters · UCS-2 · 3 SMS parts · ☕ (emoji) forces UCS-2"
    assert d.find_element(By.ID, "body-chars").text == str(len(body))
    assert browser.console_errors() == []

    full_page_screenshot(d, 1280, "/tmp/b8-campaign.png")
    full_page_screenshot(d, 390, "/tmp/b8-campaign-mobile.png")
    overflow = d.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, "the page scrolls sideways on a phone"
