"""Campaign results and dashboard charts (issue 19) in headless Chromium:
they render (inline SVG drawn by the server), the pages fetch nothing from
another origin, and they stay legible on a 390 px phone. Screenshots:
/tmp/b8-results*.png, /tmp/b8-dashboard*.png."""

import datetime
import itertools
import uuid

from conftest import wait_until
from selenium.webdriver.common.by import By

_n = itertools.count(1)


def full_page_screenshot(driver, width, path):
    driver.set_window_size(width, 900)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(height + 120, 6000))
    driver.save_screenshot(path)


def foreign_requests(driver, origin):
    urls = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".concat([location.href])")
    return [u for u in urls if not u.startswith(origin)]


def check_chart_legible(driver, selector):
    """Every chart is drawn, inside the screen, its labels at least 9 px."""
    charts = driver.find_elements(By.CSS_SELECTOR, selector)
    assert charts, f"no {selector}"
    width = driver.execute_script("return document.documentElement.clientWidth")
    for chart in charts:
        box = chart.rect
        assert box["width"] > 200 and box["height"] > 100, box
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (box, width)
        assert chart.find_elements(By.CSS_SELECTOR, "polyline")
        for tick in chart.find_elements(By.CSS_SELECTOR, "text"):
            h = driver.execute_script("return arguments[0].getBoundingClientRect().height", tick)
            assert h >= 9, f"an axis label {tick.text!r} is {h}px high"
    wide = driver.execute_script("return document.documentElement.scrollWidth")
    assert wide <= width, f"the page is {wide}px wide on a {width}px screen"


def test_results_and_dashboard_charts_render_legibly(server, browser):
    api = server.client
    assert api.patch("/blu8x8/api/settings", json={"send_interval": 0,
                                                    "public_url": "https://blu.example.ph"}
                     ).status == 200
    phones = [f"+63930{next(_n):07d}" for _ in range(5)]
    cid = api.post("/blu8x8/api/campaigns", json={
        "name": "Barako week", "type": "text", "body": "Fresh Barako",
        "button_caption": "Order", "button_url": "https://shop.example.ph/"}).json["id"]
    assert api.post(f"/blu8x8/api/campaigns/{cid}/recipients",
                    json={"phones": phones}).status == 200
    assert api.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
    wait_until(lambda: server.sql("SELECT COUNT(*) FROM messages WHERE campaign_id = ? "
                                  "AND umid IS NOT NULL", (cid,))[0][0] == len(phones),
               what="every message accepted by 8x8")
    rows = server.sql("SELECT id, umid FROM messages WHERE campaign_id = ? ORDER BY id", (cid,))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    for (mid, umid), phone in zip(rows[:3], phones):
        r = api.as_user(None).post("/viber/status", json={
            "namespace": "ChatApps", "eventType": "outbound_message_status_changed",
            "version": 9, "payload": {
                "umid": umid, "subAccountId": "BluCoffeePH_TwoWayViber_NOTIF",
                "channel": "viber", "user": {"msisdn": phone},
                "status": {"state": "read", "timestamp": now}}})
        assert r.status == 200, r
    r = api.as_user(None).post("/viber/status", json={
        "namespace": "ChatApps", "eventType": "inbound_message_received",
        "payload": {"umid": str(uuid.uuid4()), "subAccountId": "BluCoffeePH_TwoWayViber_NOTIF",
                    "timestamp": now,
                    "user": {"msisdn": phones[0], "channelUserId": phones[0].lstrip("+"),
                             "name": "Ana"},
                    "recipient": {"channel": "viber", "channelId": "2f9c"}, "type": "Text",
                    "content": {"text": "How much?"}}})
    assert r.status == 200, r

    d = browser.driver
    origin = browser.base_url
    try:
        for width in (1280, 390):
            d.set_window_size(width, 1000)
            browser.open(f"/blu8x8/campaigns/{cid}#results")
            results = d.find_element(By.ID, "results")
            text = results.text
            for label in ("Accepted", "Delivered", "Read", "Clicked", "Replied", "Leads", "Won"):
                assert label in text
            assert "60.0%" in text and "20.0%" in text   # read 3 of 5, replied 1 of 5
            check_chart_legible(d, "#results svg.chart")
            suffix = "" if width == 1280 else "-mobile"
            full_page_screenshot(d, width, f"/tmp/b8-results{suffix}.png")
            assert foreign_requests(d, origin) == []

            browser.open("/blu8x8/")
            charts = d.find_element(By.ID, "charts")
            assert "SMS cost" in charts.text
            check_chart_legible(d, "#charts svg.chart")
            full_page_screenshot(d, width, f"/tmp/b8-dashboard{suffix}.png")
            assert foreign_requests(d, origin) == []
        assert browser.console_errors() == []
    finally:
        d.set_window_size(1280, 1000)
        api.patch("/blu8x8/api/settings", json={"public_url": ""})
