"""A sales agent on a 390 px phone screen (issue 18): opens the claim link
from the Viber ping, lands in the conversation, replies, and sees the
reply's state change after 8x8's receipt without reloading the page."""

import base64
import re
import shutil
import tempfile
import uuid

import pytest
from conftest import LOGINS, page_replaced, wait_until
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INTENT_Q = ("Is this message showing interest in our coffee products and services? "
            "Answer Yes or No.")
CUSTOMER = "+639175550901"
ALICE_PHONE = "+639171110001"


def event(kind, payload):
    return {"namespace": "ChatApps", "eventType": kind, "description": "test",
            "payload": payload}


def inbound(text):
    return event("inbound_message_received", {
        "umid": str(uuid.uuid4()), "subAccountId": "BluCoffeePH_TwoWayViber_NOTIF",
        "timestamp": "2026-11-01T14:34:56.017Z",
        "user": {"msisdn": CUSTOMER, "channelUserId": CUSTOMER[1:], "name": "Maria Santos"},
        "recipient": {"channel": "viber", "channelId": "2f9c"}, "type": "Text",
        "content": {"text": text}})


def receipt(umid, state):
    return event("outbound_message_status_changed", {
        "umid": umid, "subAccountId": "BluCoffeePH_TwoWayViber_NOTIF", "channel": "viber",
        "user": {"msisdn": CUSTOMER},
        "status": {"state": state, "timestamp": "2026-11-01T08:20:03.12Z"}})


def sends_to(eightx8, phone):
    return [r.json for r in eightx8.requests
            if r.json and r.json.get("user", {}).get("msisdn") == phone]


@pytest.fixture
def phone_browser():
    """Headless Chromium with a 390 px wide screen; login(server, user) sets
    the Basic auth of every request."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="b8chrome-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.add_experimental_option("mobileEmulation", {
        "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0}})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)

    def login(login):
        token = base64.b64encode(f"{login}:{LOGINS[login]}".encode()).decode()
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                               {"headers": {"Authorization": "Basic " + token}})
        return driver
    try:
        yield login
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def fits_the_screen(d):
    return d.execute_script("return document.documentElement.scrollWidth") <= 390


def test_agent_claims_replies_and_sees_delivery_on_a_phone(make_server, openai, eightx8,
                                                           phone_browser):
    h = make_server("Blu8x8OpenAIKey sk-test-openai\nBlu8x8AIQuietWindow 0.3\n"
                    "Blu8x8PublicURL https://blu.example.ph\n")
    api = h.client
    assert api.patch("/blu8x8/api/settings",
                     json={"ai_respond": True, "da_vinci": True}).status == 200
    assert api.post("/blu8x8/api/users", json={"login": "alice", "name": "Alma",
                                                "phone": "09171110001",
                                                "roles": ["sales_agent"]}).status == 201
    openai.reply_fn = lambda req: ("Yes" if req["messages"][0]["content"] == INTENT_Q
                                   else "Thanks! An agent will contact you.")
    assert api.as_user(None).post("/viber/status",
                                  json=inbound("I'd like 5 kilos of Barako")).status == 200
    ping = wait_until(lambda: [m for m in sends_to(eightx8, ALICE_PHONE)
                               if m["type"] == "buttons"], timeout=20)[0]
    # The ping shows the customer's name and phone.
    assert "Maria Santos" in ping["content"]["text"] and CUSTOMER in ping["content"]["text"]
    link = re.search(r"/crm/\d+/\d+\?sig=[0-9a-f]+", ping["content"]["button"]["action"]).group(0)

    d = phone_browser("alice")
    base = f"http://127.0.0.1:{h.port}"
    d.get(base + link)
    assert "It's yours" in d.page_source
    old = d.find_element(By.TAG_NAME, "html")
    d.find_element(By.LINK_TEXT, "Open the conversation and reply").click()
    WebDriverWait(d, 5).until(page_replaced(old))
    assert re.search(r"/blu8x8/conversations/\d+$", d.current_url)
    assert "Lead claimed by Alma" in d.page_source
    assert "I&#39;d like 5 kilos of Barako" in d.page_source or \
        "I'd like 5 kilos of Barako" in d.page_source
    assert fits_the_screen(d), "the conversation page is wider than the phone"

    box = d.find_element(By.NAME, "text")
    box.send_keys("Hi Maria, this is Alma. Friday delivery works.")
    old = d.find_element(By.TAG_NAME, "html")
    d.find_element(By.ID, "send-reply").click()
    WebDriverWait(d, 5).until(page_replaced(old))
    assert fits_the_screen(d)
    sent = wait_until(lambda: [m for m in sends_to(eightx8, CUSTOMER)
                               if "Friday delivery" in (m["content"].get("text") or "")])
    assert len(sent) == 1
    conv_id = int(d.current_url.rsplit("/", 1)[1])
    msg = wait_until(lambda: [m for m in api.get(f"/blu8x8/api/conversations/{conv_id}").json[
        "messages"] if m["kind"] == "agent" and m["state"] == "queued"])[0]
    umid = h.sql("SELECT umid FROM messages WHERE id = ?", (msg["id"],))[0][0]

    # The page stays the same document while the receipt moves the state.
    d.execute_script("window.__b8_same_page = true;")
    selector = f'li[data-key="out-{msg["id"]}"] [data-state]'
    assert api.as_user(None).post("/viber/status", json=receipt(umid, "delivered")).status == 200
    WebDriverWait(d, 15).until(
        lambda drv: drv.execute_script("return window.__b8_same_page === true")
        and drv.find_element(By.CSS_SELECTOR, selector).text == "delivered",
        message="the reply's state never showed 'delivered' without a reload")
    # A new customer message appears too.
    assert api.as_user(None).post("/viber/status", json=inbound("Great, thank you!")).status == 200
    WebDriverWait(d, 15).until(lambda drv: "Great, thank you!" in drv.find_element(
        By.ID, "thread").text and drv.execute_script("return window.__b8_same_page === true"))
    d.save_screenshot("/tmp/b8-conversation-390.png")
    errors = [e["message"] for e in d.get_log("browser")
              if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert errors == []
