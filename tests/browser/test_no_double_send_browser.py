"""No self-inflicted harm in a real browser (issue 17): every sending form
answers 303, so reloading the page it lands on sends nothing (the requests
reaching the 8x8 stand-in are counted); Send SMS, Send now and Put in queue
first show what will happen (recipients, opted out, empty {name}, SMS
parts, duration) and only the second click sends."""

import datetime
import itertools
import time

from conftest import page_replaced, wait_until
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

_n = itertools.count(1)


def phones(k):
    return [f"+63926{next(_n):07d}" for _ in range(k)]


def click_and_wait(d, element_id):
    old = d.find_element(By.TAG_NAME, "html")
    d.find_element(By.ID, element_id).click()
    WebDriverWait(d, 5).until(page_replaced(old))


def reload_sends_nothing(d, eightx8, times=2):
    """Reloads the page (as F5 does) and checks no request reaches 8x8."""
    before = len(eightx8.requests)
    for _ in range(times):
        old = d.find_element(By.TAG_NAME, "html")
        d.refresh()
        WebDriverWait(d, 5).until(page_replaced(old))
    assert not eightx8.wait_for(before + 1, timeout=2.0), \
        [r.path for r in eightx8.requests[before:]]


def contact(api, name, phone, opted_out=False):
    r = api.post("/blu8x8/api/contacts", json={"name": name, "phone": phone})
    assert r.status == 201, r
    if opted_out:
        assert api.patch(f"/blu8x8/api/contacts/{r.json['id']}",
                         json={"opted_out": True}).status == 200
    return r.json


def test_send_sms_confirms_then_sends_once_and_reload_sends_nothing(server, browser, eightx8):
    api = server.client
    p1, p2, p3 = phones(3)
    contact(api, "Opted Out", p3, opted_out=True)
    d = browser.open("/blu8x8/sms")
    d.find_element(By.NAME, "phones").send_keys(f"{p1}\n{p2}\n{p3}\nnot a phone")
    d.find_element(By.ID, "sms-text").send_keys("Hi {name}, kape tayo")
    eightx8.clear()
    click_and_wait(d, "sms-send")
    # The confirmation: the numbers before the final click, nothing sent.
    assert d.find_element(By.ID, "confirm-recipients").text == "2"
    assert d.find_element(By.ID, "confirm-opted-out").text == "1"
    assert d.find_element(By.ID, "confirm-invalid").text == "1"
    assert d.find_element(By.ID, "confirm-empty-name").text == "2"
    assert d.find_element(By.ID, "confirm-parts").text == "2"
    assert "Nothing has been sent yet" in d.page_source
    reload_sends_nothing(d, eightx8, times=1)
    assert eightx8.requests == []
    assert "sms-confirm-panel" not in d.page_source   # shown once; start again
    d = browser.open("/blu8x8/sms")
    d.find_element(By.NAME, "phones").send_keys(f"{p1}\n{p2}\n{p3}")
    d.find_element(By.ID, "sms-text").send_keys("Hi {name}, kape tayo")
    click_and_wait(d, "sms-send")
    click_and_wait(d, "sms-confirm")
    assert "2 SMS queued from" in d.find_element(By.ID, "sms-report").text
    assert d.current_url.endswith("/blu8x8/sms")
    assert wait_until(lambda: sum(p1 in r.body.decode() or p2 in r.body.decode()
                                  for r in eightx8.requests) >= 1, what="the SMS sent")
    batch = api.get("/blu8x8/api/sms?per_page=1").json["items"][0]["batch_id"]
    assert wait_until(lambda: api.get(f"/blu8x8/api/sms/batches/{batch}").json["state"] == "done",
                      what="the SMS batch done")
    batches = server.sql("SELECT COUNT(*) FROM sms_batches")[0][0]
    reload_sends_nothing(d, eightx8)
    assert server.sql("SELECT COUNT(*) FROM sms_batches")[0][0] == batches
    # The report was for that one page: the reload shows the composer only.
    assert "SMS queued from" not in d.page_source
    assert browser.console_errors() == []


def test_campaign_send_now_confirms_with_the_estimate_and_reload_sends_nothing(
        server, browser, eightx8):
    api = server.client
    assert api.patch("/blu8x8/api/settings", json={"send_interval": 0.5}).status == 200
    named, nameless, gone = phones(3)
    contact(api, "Maria Santos", named)
    contact(api, "Gone Away", gone)
    cid = api.post("/blu8x8/api/campaigns", json={
        "name": "Confirm me", "type": "text", "body": "Hi {name}!",
        "fallback_text": "Hi {name}, see you at Blu Coffee"}).json["id"]
    assert api.post(f"/blu8x8/api/campaigns/{cid}/recipients",
                    json={"phones": [named, nameless, gone]}).status == 200
    # Opted out after being added: skipped at send time.
    gid = api.get(f"/blu8x8/api/contacts?q={gone[1:]}").json["items"][0]["id"]
    assert api.patch(f"/blu8x8/api/contacts/{gid}", json={"opted_out": True}).status == 200
    eightx8.clear()
    d = browser.open(f"/blu8x8/campaigns/{cid}")
    click_and_wait(d, "send-now")
    assert d.find_element(By.ID, "confirm-sendable").text == "2"
    assert d.find_element(By.ID, "confirm-recipients").text == "3"
    assert d.find_element(By.ID, "confirm-opted-out").text == "1"
    assert d.find_element(By.ID, "confirm-empty-name").text == "1"
    assert d.find_element(By.ID, "confirm-sms-parts").text == "2"
    assert d.find_element(By.ID, "confirm-duration").get_attribute("data-seconds") == "1"
    assert api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "draft"
    assert eightx8.requests == []
    click_and_wait(d, "confirm-send")
    assert "Sending started." in d.page_source
    assert eightx8.wait_for(2, timeout=10)
    assert wait_until(lambda: api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "done",
                      timeout=90, what="the campaign done")
    time.sleep(0.3)   # the live poll's reload after Done
    reload_sends_nothing(d, eightx8)
    assert "Sending started." not in d.page_source
    assert len([r for r in eightx8.requests if r.json and "user" in r.json]) == 2
    api.patch("/blu8x8/api/settings", json={"send_interval": 0})
    assert browser.console_errors() == []


def test_send_test_queue_unqueue_and_retry_forms_reload_sends_nothing(server, browser, eightx8):
    api = server.client
    good, bad = phones(2)
    cid = api.post("/blu8x8/api/campaigns", json={"name": "Reload me", "type": "text",
                                                   "body": "Hi"}).json["id"]
    assert api.post(f"/blu8x8/api/campaigns/{cid}/recipients",
                    json={"phones": [good, bad]}).status == 200
    eightx8.clear()
    d = browser.open(f"/blu8x8/campaigns/{cid}")
    # Send Test: one request, its answer at the top; a reload sends no second test.
    d.find_element(By.NAME, "phone").clear()
    d.find_element(By.NAME, "phone").send_keys("0917 555 3001")
    click_and_wait(d, "send-test")
    assert "Test sent to +639175553001" in d.find_element(By.ID, "test-result").text
    assert len(eightx8.requests) == 1
    reload_sends_nothing(d, eightx8)
    assert "Test sent to" not in d.page_source

    # Put in queue (confirmed) with a date far ahead; reload; back to Draft.
    later = (datetime.datetime.now() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    d.execute_script("document.getElementById('send-at').value = arguments[0];", later)
    click_and_wait(d, "queue")
    assert d.find_element(By.ID, "confirm-sendable").text == "2"
    assert api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "draft"
    click_and_wait(d, "confirm-queue")
    assert "Put in the queue." in d.page_source
    queued = api.get(f"/blu8x8/api/campaigns/{cid}").json
    assert queued["state"] == "queued"
    reload_sends_nothing(d, eightx8)
    assert api.get(f"/blu8x8/api/campaigns/{cid}").json["send_at"] == queued["send_at"]
    click_and_wait(d, "unqueue")
    assert "Back to Draft" in d.page_source
    c = api.get(f"/blu8x8/api/campaigns/{cid}").json
    assert c["state"] == "draft" and c["send_at"] is None

    # A send with one number 8x8 rejects; Retry failed sends it once more only.
    eightx8.reject_msisdn(bad)
    d = browser.open(f"/blu8x8/campaigns/{cid}")
    click_and_wait(d, "send-now")
    click_and_wait(d, "confirm-send")
    assert wait_until(lambda: api.get(f"/blu8x8/api/campaigns/{cid}").json["counts"]
                      .get("failed", 0) == 1, timeout=30, what="one failed recipient")
    assert wait_until(lambda: api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "done",
                      timeout=90, what="the campaign done")
    d = browser.open(f"/blu8x8/campaigns/{cid}")
    to_bad = lambda: [r for r in eightx8.requests if r.json and r.json.get("user", {}).get("msisdn") == bad]
    tries = len(to_bad())
    click_and_wait(d, "retry-failed")
    assert "Put back in the queue." in d.page_source
    assert wait_until(lambda: len(to_bad()) > tries, timeout=30, what="the retry sent")
    assert wait_until(lambda: api.get(f"/blu8x8/api/campaigns/{cid}").json["counts"]
                      .get("failed", 0) == 1, timeout=30, what="the retry failed again")
    assert wait_until(lambda: api.get(f"/blu8x8/api/campaigns/{cid}").json["state"] == "done",
                      timeout=90, what="the campaign done again")
    tries = len(to_bad())
    reload_sends_nothing(d, eightx8)      # the page Retry failed landed on
    assert len(to_bad()) == tries
    assert browser.console_errors() == []
