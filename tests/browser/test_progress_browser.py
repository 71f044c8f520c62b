"""Live progress in a real browser (issue 4): after Send now, the progress
bar, the counts and the funnel follow the sending without a page reload."""

import itertools

from conftest import page_replaced
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

_n = itertools.count(1)


def test_progress_updates_without_reload(server, browser, tmp_path):
    api = server.client
    assert api.patch("/blu8x8/api/settings", json={"send_interval": 0.25}).status == 200
    cid = api.post("/blu8x8/api/campaigns", json={"name": "Live progress", "type": "text",
                                                    "body": "Hi {name}"}).json["id"]
    phones = [f"+63929{next(_n):07d}" for _ in range(24)]
    assert api.post(f"/blu8x8/api/campaigns/{cid}/recipients", json={"phones": phones}).status == 200

    d = browser.open(f"/blu8x8/campaigns/{cid}")
    old = d.find_element(By.TAG_NAME, "html")
    d.find_element(By.ID, "send-now").click()
    WebDriverWait(d, 5).until(page_replaced(old))
    old = d.find_element(By.TAG_NAME, "html")
    d.find_element(By.ID, "confirm-send").click()      # the confirmation's final click
    WebDriverWait(d, 5).until(page_replaced(old))
    assert "Sending started." in d.page_source
    d.execute_script("window.__b8_same_page = true;")
    text = d.find_element(By.ID, "progress-text")
    first = text.text
    # The poll changes the figures while the page stays the same document.
    WebDriverWait(d, 15).until(
        lambda drv: drv.execute_script("return window.__b8_same_page === true") and
        drv.find_element(By.ID, "progress-text").text != first,
        message="the progress text never changed without a reload")
    sent_now = int(d.find_element(By.ID, "progress-text").text.split(" / ")[0])
    assert sent_now > int(first.split(" / ")[0])
    bar = d.find_element(By.ID, "progress-bar")
    assert int(float(bar.get_attribute("value"))) == sent_now
    width = d.find_element(By.CSS_SELECTOR, "#funnel rect.funnel-bar").get_attribute("width")
    assert float(width) > 0
    d.save_screenshot(str(tmp_path / "progress.png"))
    d.save_screenshot("/tmp/b8-progress.png")
    assert [e for e in browser.console_errors() if "favicon" not in e] == []
    api.post(f"/blu8x8/api/campaigns/{cid}/cancel", headers={"Content-Type": "application/json"})
    api.patch("/blu8x8/api/settings", json={"send_interval": 0})
