"""The campaign page's sending part (issue 4): the buttons the state allows,
Send Test with 8x8's answer or refusal on the page, Send Now / Queue /
Pause / Resume / Cancel / Duplicate through CSRF-checked forms, and the live
progress JSON with its funnel."""

import datetime
import itertools
import re
import time
import uuid

_phones = itertools.count(1)


def phones(n):
    return [f"+63928{next(_phones):07d}" for _ in range(n)]


def campaign(api, recipients=(), **fields):
    body = {"name": f"Page test {uuid.uuid4().hex[:6]}", "type": "text", "body": "Hi {name}"}
    body.update(fields)
    r = api.post("/blu8x8/api/campaigns", json=body)
    assert r.status == 201, r
    if recipients:
        r = api.post(f"/blu8x8/api/campaigns/{r.json['id']}/recipients",
                     json={"phones": list(recipients)})
        assert r.status == 200
    return r.json["id"] if "id" in r.json else None


def new_campaign(api, n=0, **fields):
    body = {"name": f"Page test {uuid.uuid4().hex[:6]}", "type": "text", "body": "Hi {name}"}
    body.update(fields)
    r = api.post("/blu8x8/api/campaigns", json=body)
    assert r.status == 201, r
    cid = r.json["id"]
    if n:
        assert api.post(f"/blu8x8/api/campaigns/{cid}/recipients",
                        json={"phones": phones(n)}).status == 200
    return cid


def state(api, cid):
    return api.get(f"/blu8x8/api/campaigns/{cid}").json["state"]


def wait(pred, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


def test_draft_page_offers_send_queue_test_and_duplicate(server):
    api = server.client
    cid = new_campaign(api, 2)
    page = api.get(f"/blu8x8/campaigns/{cid}").text
    for button in ("send-now", "queue", "send-test", "duplicate"):
        assert f'id="{button}"' in page, button
    for button in ("pause", "resume", "cancel", "retry-failed", "requeue-unknown"):
        assert f'id="{button}"' not in page, button
    # Without recipients there is nothing to send.
    empty = new_campaign(api, 0)
    assert 'id="send-now"' not in api.get(f"/blu8x8/campaigns/{empty}").text


def test_send_test_shows_the_umid_and_touches_no_recipient(server, eightx8):
    api = server.client
    cid = new_campaign(api, 1)
    path = f"/blu8x8/campaigns/{cid}"
    r = api.post_form(f"{path}/test", {"phone": "0917 555 9999"}, page=path)
    assert r.status == 200
    m = re.search(r'id="test-result">\s*Test sent to \+639175559999: 8x8 accepted it \(UMID '
                  r'<span class="mono">([0-9a-f-]{36})</span>\)', r.text)
    assert m, r.text[:3000]
    sent = [q.json for q in eightx8.requests if q.json and q.json.get("user", {}).get("msisdn") == "+639175559999"]
    assert len(sent) == 1 and sent[0]["content"]["text"] == "Hi "
    assert api.get(f"/blu8x8/api/campaigns/{cid}").json["counts"]["pending"] == 1


def test_send_test_refused_by_8x8_shows_its_code(server, eightx8):
    api = server.client
    cid = new_campaign(api, 1)
    eightx8.fail(400, code=1002, message="Invalid MSISDN")
    path = f"/blu8x8/campaigns/{cid}"
    r = api.post_form(f"{path}/test", {"phone": "0917 555 9998"}, page=path)
    assert r.status == 502
    assert "Test not sent" in r.text and "8x8 code 1002" in r.text and "Invalid MSISDN" in r.text
    r = api.post_form(f"{path}/test", {"phone": "not a phone"}, page=path)
    assert r.status == 422 and "Test not sent" in r.text


def test_send_now_pause_resume_cancel_through_the_page(server, eightx8):
    api = server.client
    assert api.patch("/blu8x8/api/settings", json={"send_interval": 0.2}).status == 200
    cid = new_campaign(api, 30)
    path = f"/blu8x8/campaigns/{cid}"
    r = api.post_form(f"{path}/send", {}, page=path)
    assert r.status == 303 and r.header("location") == f"{path}?notice=sending"
    assert wait(lambda: state(api, cid) == "sending")
    page = api.get(path + "?notice=sending").text
    assert "Sending started." in page and 'id="pause"' in page and 'data-live="1"' in page
    assert 'id="send-now"' not in page
    assert wait(lambda: api.get(f"/blu8x8/api/campaigns/{cid}/progress").json["sent"] >= 2)
    assert api.post_form(f"{path}/pause", {}, page=path).status == 303
    assert state(api, cid) == "paused"
    assert 'id="resume"' in api.get(path).text
    # Refused actions come back on the page with the reason.
    r = api.post_form(f"{path}/pause", {}, page=path)
    assert r.status == 409 and 'class="refusal"' in r.text
    assert api.post_form(f"{path}/resume", {}, page=path).status == 303
    assert api.post_form(f"{path}/cancel", {}, page=path).status == 303
    c = api.get(f"/blu8x8/api/campaigns/{cid}").json
    assert c["state"] == "cancelled" and c["counts"]["pending"] == 0
    assert c["counts"]["cancelled"] > 0
    assert api.patch("/blu8x8/api/settings", json={"send_interval": 0}).status == 200


def test_queue_with_a_local_send_at_and_duplicate(server):
    api = server.client
    cid = new_campaign(api, 3)
    path = f"/blu8x8/campaigns/{cid}"
    later = (datetime.datetime.now() + datetime.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    r = api.post_form(f"{path}/queue", {"send_at": later}, page=path)
    assert r.status == 303
    c = api.get(f"/blu8x8/api/campaigns/{cid}").json
    assert c["state"] == "queued"
    expected = datetime.datetime.strptime(later, "%Y-%m-%dT%H:%M").astimezone(datetime.timezone.utc)
    assert c["send_at"].startswith(expected.strftime("%Y-%m-%dT%H:%M"))
    r = api.post_form(f"{path}/queue", {"send_at": "someday"}, page=path)
    assert r.status == 422 and "not valid" in r.text
    r = api.post_form(f"{path}/duplicate", {}, page=path)
    assert r.status == 303
    new_id = int(re.search(r"/campaigns/(\d+)\?notice=duplicated", r.header("location")).group(1))
    dup = api.get(f"/blu8x8/api/campaigns/{new_id}").json
    assert dup["state"] == "draft" and dup["counts"]["total"] == 3 and new_id != cid


def test_progress_json_and_funnel_after_sending(server, eightx8):
    api = server.client
    cid = new_campaign(api, 4)
    r = api.post(f"/blu8x8/api/campaigns/{cid}/send", headers={"Content-Type": "application/json"})
    assert r.status == 200, r   # the content type, but no body: no options
    p = wait(lambda: (lambda j: j if j["sent"] == 4 else None)(
        api.get(f"/blu8x8/api/campaigns/{cid}/progress").json))
    assert p and p["counts"]["total"] == 4
    funnel = {f["label"]: f for f in p["funnel"]}
    assert funnel["Accepted by 8x8"]["count"] == 4 and funnel["Accepted by 8x8"]["width"] == 100
    assert funnel["Read"]["count"] == 0 and funnel["Failed"]["width"] == 0
    page = api.get(f"/blu8x8/campaigns/{cid}").text
    assert '<svg id="funnel"' in page and 'width="100"' in page
    assert re.search(r'<progress id="progress-bar" max="4" value="4">', page)
    # Every recipient state is listed, in the state table's order, with its count.
    listed = re.findall(r'<dt>(\w+)</dt><dd data-state="(\w+)">(\d+)</dd>', page)
    assert [s for s, _, _ in listed] == ["pending", "sending", "queued", "sent", "delivered",
                                         "read", "undelivered", "failed", "unknown", "skipped",
                                         "cancelled"]
    assert all(s == d for s, d, _ in listed)
    assert {s: int(n) for s, _, n in listed} == {s: p["counts"][s] for s, _, _ in listed}
    assert sum(int(n) for _, _, n in listed) == 4
