"""Send window and daily cap (issue 17, "Time"): campaign fields
window_start/window_end ("HH:MM" local, both or neither; seconds allowed)
and daily_cap. Outside the window or over the day's cap the campaign waits
(progress shows waiting_until and the page "waiting until ...") and goes on
by itself. The window here opens and closes within seconds, at times the
test computes in the zone of the time_zone setting (Asia/Manila)."""

from __future__ import annotations

import datetime
import itertools
import time
import uuid
import zoneinfo

import pytest

from conftest import stays, wait_until

MANILA = zoneinfo.ZoneInfo("Asia/Manila")
_phones = itertools.count(1)


def new_phones(n: int) -> list[str]:
    return [f"+63949{next(_phones):07d}" for _ in range(n)]


def create(api, **fields):
    body = {"name": f"Window {uuid.uuid4().hex[:6]}", "type": "text", "body": "Hi"}
    body.update(fields)
    return api.post("/blu8x8/api/campaigns", json=body)


def progress(api, cid):
    return api.get(f"/blu8x8/api/campaigns/{cid}/progress").json


@pytest.fixture(autouse=True)
def _cancel_after(server):
    yield
    api = server.client
    for state in ("sending", "queued"):
        for c in api.get(f"/blu8x8/api/campaigns?state={state}&per_page=1000").json["items"]:
            api.post(f"/blu8x8/api/campaigns/{c['id']}/cancel", json={})


def test_fields_are_checked_and_kept(api):
    for fields, bad in (({"window_start": "09:00"}, "window_end"),
                        ({"window_end": "18:00"}, "window_start"),
                        ({"window_start": "25:00", "window_end": "18:00"}, "window_start"),
                        ({"window_start": "09:00", "window_end": "09:00"}, "window_end"),
                        ({"daily_cap": 0}, "daily_cap"),
                        ({"daily_cap": "many"}, "daily_cap")):
        r = create(api, **fields)
        assert r.status == 422 and bad in r.json["fields"], (fields, r)
    r = create(api, window_start="09:00", window_end="18:00", daily_cap=500)
    assert r.status == 201, r
    c = r.json
    assert (c["window_start"], c["window_end"], c["daily_cap"]) == ("09:00", "18:00", 500)
    r = api.patch(f"/blu8x8/api/campaigns/{c['id']}", json={"window_start": None,
                                                           "window_end": None, "daily_cap": None})
    assert r.status == 200 and r.json["window_start"] is None and r.json["daily_cap"] is None
    api.patch(f"/blu8x8/api/campaigns/{c['id']}", json={"window_start": "22:00",
                                                       "window_end": "06:00", "daily_cap": 9})
    dup = api.post(f"/blu8x8/api/campaigns/{c['id']}/duplicate", json={}).json
    dup = api.get(f"/blu8x8/api/campaigns/{dup['id']}").json
    assert (dup["window_start"], dup["window_end"], dup["daily_cap"]) == ("22:00", "06:00", 9)
    # The form shows and takes them.
    page = api.get(f"/blu8x8/campaigns/{c['id']}").text
    assert 'name="window_start" type="time" value="22:00"' in page
    r = api.post_form(f"/blu8x8/campaigns/{c['id']}", {
        "name": "Form window", "type": "text", "body": "Hi", "window_start": "08:00",
        "window_end": "", "daily_cap": ""}, page=f"/blu8x8/campaigns/{c['id']}")
    assert r.status == 422 and "needs both a start and an end" in r.text


def test_window_opens_and_closes_by_itself_and_nothing_goes_outside_it(server, eightx8):
    api = server.client
    now = datetime.datetime.now(MANILA)
    if now.hour == 23 and now.minute >= 59:
        time.sleep(61)                     # the window must not cross local midnight
        now = datetime.datetime.now(MANILA)
    # Whole seconds: the window fields are HH:MM:SS.
    start = (now + datetime.timedelta(seconds=4)).replace(microsecond=0)
    end = start + datetime.timedelta(seconds=4)
    assert api.patch("/blu8x8/api/settings", json={"send_interval": 1}).status == 200
    try:
        r = create(api, window_start=start.strftime("%H:%M:%S"),
                   window_end=end.strftime("%H:%M:%S"))
        cid = r.json["id"]
        phones = new_phones(20)
        api.post(f"/blu8x8/api/campaigns/{cid}/recipients", json={"phones": phones})
        assert api.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
        # Waiting for the window: the progress says until when, in UTC and local time.
        p = wait_until(lambda: (lambda x: x if x["waiting_until"] else None)(progress(api, cid)),
                       3, what="waiting")
        until = datetime.datetime.strptime(p["waiting_until"], "%Y-%m-%dT%H:%M:%S.%fZ") \
            .replace(tzinfo=datetime.timezone.utc)
        assert abs((until - start).total_seconds()) < 1
        assert p["waiting_label"] == f"waiting until {start.strftime('%H:%M')} PST"
        page = api.get(f"/blu8x8/campaigns/{cid}").text
        assert f"waiting until {start.strftime('%H:%M')} PST" in page
        assert not [q for q in eightx8.requests if q.json["user"]["msisdn"] in phones]
        # It opens by itself, sends at the interval, and stops when it closes.
        wait_until(lambda: time.time() > end.timestamp() + 2.5, 15, what="window over")
        sent = [q for q in eightx8.requests if q.json["user"]["msisdn"] in phones]
        # The stand-in stamps requests with the monotonic clock.
        wall_to_mono = time.monotonic() - time.time()
        times = [q.time - wall_to_mono for q in sent]
        assert 3 <= len(sent) <= 6, times
        assert min(times) >= start.timestamp() - 0.3
        assert max(times) < end.timestamp() + 0.3
        stays(lambda: len([q for q in eightx8.requests if q.json["user"]["msisdn"] in phones]),
              api)
        p = progress(api, cid)
        assert p["state"] == "sending" and p["counts"]["pending"] == 20 - len(sent)
        tomorrow = (start + datetime.timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
        assert p["waiting_label"] == f"waiting until {tomorrow} PST"
    finally:
        assert api.patch("/blu8x8/api/settings", json={"send_interval": 0}).status == 200


def test_daily_cap_stops_the_day_and_waits_for_local_midnight(server, eightx8):
    api = server.client
    assert api.patch("/blu8x8/api/settings", json={"send_interval": 0}).status == 200
    cid = create(api, daily_cap=3).json["id"]
    phones = new_phones(10)
    api.post(f"/blu8x8/api/campaigns/{cid}/recipients", json={"phones": phones})
    assert api.post(f"/blu8x8/api/campaigns/{cid}/send", json={}).status == 200
    p = wait_until(lambda: (lambda x: x if x["waiting_until"] else None)(progress(api, cid)),
                   10, what="cap reached")
    sent = stays(lambda: [q for q in eightx8.requests if q.json["user"]["msisdn"] in phones], api)
    assert len(sent) == 3
    midnight = (datetime.datetime.now(MANILA) + datetime.timedelta(days=1)) \
        .replace(hour=0, minute=0, second=0, microsecond=0)
    until = datetime.datetime.strptime(p["waiting_until"], "%Y-%m-%dT%H:%M:%S.%fZ") \
        .replace(tzinfo=datetime.timezone.utc)
    assert until == midnight
    assert p["waiting_label"] == f"waiting until {midnight.strftime('%Y-%m-%d')} 00:00 PST"
    assert p["counts"]["pending"] == 7 and p["daily_cap"] == 3
