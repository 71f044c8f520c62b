"""Screenshots of the campaign page for the README's tour.

    /usr/bin/python3 docs/tour/shoot.py REPO OUTPREFIX

REPO is a built checkout of this project (its module and its test harness
are used, so an older commit can be shot the same way). It starts that
checkout's httpd with the 8x8 stand-in, creates one campaign of 40
recipients, sends it, answers it with 8x8 receipts (30 delivered, 12 of
them read, 3 undelivered) and saves the campaign page at desktop width
(OUTPREFIX-desktop.png, 1280 px) and phone width (OUTPREFIX-phone.png,
390 px), each from the top of the page down to the results. Needs
chromium, chromium-driver and python3-selenium (installed by `make test`).
"""

from __future__ import annotations

import base64
import os
import pathlib
import sys
import time

REPO = pathlib.Path(sys.argv[1]).resolve()
OUT = sys.argv[2]
os.environ.setdefault("B8_MODULE", str(REPO / "build" / "mod_blu8x8.so"))
sys.path.insert(0, str(REPO / "tests" / "integration"))

import conftest  # noqa: E402  (the checkout's harness)
from standins import EightByEight, OpenAI  # noqa: E402

PHONES = [f"+6391700{n:05d}" for n in range(1, 41)]
BODY = "Hi {name}! Our December roast is in: Benguet Arabica, 20% off this week."


def receipt(umid: str, cmid: str, phone: str, state: str, detail: str) -> dict:
    status = {"state": state, "detail": detail, "timestamp": "2026-12-07T08:20:03.12Z"}
    if state == "undelivered":
        status.update(errorCode=7001, errorMessage="Recipient is not a Viber user")
    return {"version": 9, "namespace": "ChatApps", "eventType": "outbound_message_status_changed",
            "description": "ChatApps outbound message delivery receipt",
            "payload": {"umid": umid, "clientMessageId": cmid, "channel": "viber",
                        "subAccountId": "BluCoffeePH_TwoWayViber_NOTIF",
                        "user": {"msisdn": phone}, "status": status}}


def parsed(r):
    """The JSON of an answer (a property of the harness's Response now, a
    method in older checkouts)."""
    return r.json() if callable(r.json) else r.json


def wait(pred, timeout=30.0):
    end = time.time() + timeout
    while time.time() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit("timed out")


def seed(client) -> int:
    for i, phone in enumerate(PHONES[:30]):
        r = client.post("/blu8x8/api/contacts",
                        json={"name": ["Ana", "Ben", "Carla", "Dado", "Ely"][i % 5] + f" {i}",
                              "phone": phone})
        assert r.status in (200, 201), (r.status, r.text)
    r = client.post("/blu8x8/api/campaigns",
                    json={"name": "December roast", "type": "text", "body": BODY,
                          "button_caption": "Order now", "button_url": "https://blu.coffee/roast"})
    assert r.status == 201, (r.status, r.text)
    cid = parsed(r)["id"]
    r = client.post(f"/blu8x8/api/campaigns/{cid}/recipients", json={"phones": PHONES})
    assert r.status == 200, (r.status, r.text)
    r = client.post(f"/blu8x8/api/campaigns/{cid}/send", json={})
    assert r.status == 200, (r.status, r.text)
    return cid


def hook_client(port: int):
    """A client of the webhook as 8x8 is one: its Authorization, no login
    (older checkouts had no webhook secret)."""
    try:
        return conftest.Client(port, auth=None, webhook_auth=conftest.WEBHOOK_AUTH)
    except (TypeError, AttributeError):
        return conftest.Client(port, auth=None)


def answer(client, hook, cid: int) -> None:
    def recipients():
        rows = parsed(client.get(f"/blu8x8/api/campaigns/{cid}/recipients"))
        rows = rows.get("items", rows) if isinstance(rows, dict) else rows
        return rows if rows and all(r.get("umid") for r in rows) else None
    rows = wait(recipients)
    for i, row in enumerate(rows):
        steps = [("sent", "delivered_to_operator")]
        if i < 30:
            steps.append(("delivered", "delivered_to_recipient"))
        if i < 12:
            steps.append(("read", "delivered_to_recipient"))
        if 30 <= i < 33:
            steps.append(("undelivered", "undelivered_to_recipient"))
        for state, detail in steps:
            r = hook.post("/viber/status", json=receipt(row["umid"], row["client_message_id"],
                                                          row["phone"], state, detail))
            assert r.status == 200, (r.status, r.text)


def shoot(port: int, cid: int) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--hide-scrollbars"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        user, password = conftest.ADMIN
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                               {"headers": {"Authorization": "Basic " + token}})
        # The top of the page (state, sending, results): the recipients
        # table below runs to thousands of pixels.
        for name, width, mobile, most in (("desktop", 1280, False, 2400),
                                          ("phone", 390, True, 3000)):
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": 900, "deviceScaleFactor": 1,
                                    "mobile": mobile})
            driver.get(f"http://127.0.0.1:{port}/blu8x8/campaigns/{cid}")
            time.sleep(1.0)
            height = min(most, driver.execute_script(
                "return document.documentElement.scrollHeight"))
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": height, "deviceScaleFactor": 1,
                                    "mobile": mobile})
            time.sleep(0.3)
            shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
            pathlib.Path(f"{OUT}-{name}.png").write_bytes(base64.b64decode(shot["data"]))
            print(f"{OUT}-{name}.png {width}x{height}")
    finally:
        driver.quit()


def main() -> None:
    eightx8, openai = EightByEight().start(), OpenAI().start()
    httpd = conftest.Httpd(conftest.new_root(), "Blu8x8SendInterval 0.05\n", eightx8,
                           openai).start()
    try:
        cid = seed(httpd.client)
        answer(httpd.client, hook_client(httpd.port), cid)
        shoot(httpd.port, cid)
    finally:
        httpd.stop()
        eightx8.stop()
        openai.stop()


if __name__ == "__main__":
    main()
