"""The time_zone setting (issue 17, "Time"): an IANA name (default
Asia/Manila) checked against the system's zoneinfo; the API keeps ISO 8601
UTC while pages show local times with the zone, and "Send at" is read as
local time."""

from __future__ import annotations

import datetime
import re
import uuid
import zoneinfo


def test_default_is_manila_and_names_are_checked(server):
    api = server.client
    s = api.get("/blu8x8/api/settings").json
    assert s["time_zone"]["value"] == "Asia/Manila"
    for bad in ("Mars/Olympus", "../etc/passwd", "Asia", ""):
        r = api.patch("/blu8x8/api/settings", json={"time_zone": bad})
        assert r.status == 422 and r.json["fields"]["time_zone"], (bad, r)
    assert api.get("/blu8x8/api/settings").json["time_zone"]["value"] == "Asia/Manila"


def test_pages_show_local_times_with_the_zone_and_send_at_is_local(server):
    api = server.client
    r = api.post("/blu8x8/api/campaigns", json={"name": f"TZ {uuid.uuid4().hex[:6]}",
                                                "type": "text", "body": "Hi"})
    cid = r.json["id"]
    created = datetime.datetime.strptime(r.json["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ") \
        .replace(tzinfo=datetime.timezone.utc)
    page = api.get(f"/blu8x8/campaigns/{cid}").text
    manila = created.astimezone(zoneinfo.ZoneInfo("Asia/Manila")).strftime("%Y-%m-%d %H:%M:%S")
    assert f"created {manila} PST" in page
    assert "times in Asia/Manila (PST)" in page
    try:
        assert api.patch("/blu8x8/api/settings",
                         json={"time_zone": "America/Los_Angeles"}).status == 200
        la = zoneinfo.ZoneInfo("America/Los_Angeles")
        local = created.astimezone(la)
        page = api.get(f"/blu8x8/campaigns/{cid}").text
        assert f"created {local.strftime('%Y-%m-%d %H:%M:%S')} {local.tzname()}" in page
        # A summer "Send at" is read in daylight time (UTC-7), a winter one in UTC-8.
        api.post(f"/blu8x8/api/campaigns/{cid}/recipients", json={"phones": ["+639490000001"]})
        for when, utc in (("2031-07-04T09:30", "2031-07-04T16:30"),
                          ("2031-12-04T09:30", "2031-12-04T17:30")):
            path = f"/blu8x8/campaigns/{cid}"
            r = api.post_form(f"{path}/queue", {"send_at": when, "confirmed": "1"}, page=path)
            assert r.posted.status == 303, r.posted
            c = api.get(f"/blu8x8/api/campaigns/{cid}").json
            assert c["send_at"].startswith(utc), c["send_at"]          # the API stays UTC
            assert re.search(when.replace("T", " ") + r":00 P[SD]T", api.get(path).text)
            assert api.post(f"/blu8x8/api/campaigns/{cid}/cancel", json={}).status == 200
            r = api.post("/blu8x8/api/campaigns", json={"name": f"TZ {uuid.uuid4().hex[:6]}",
                                                        "type": "text", "body": "Hi"})
            cid = r.json["id"]
            api.post(f"/blu8x8/api/campaigns/{cid}/recipients",
                     json={"phones": ["+639490000001"]})
    finally:
        assert api.patch("/blu8x8/api/settings", json={"time_zone": None}).status in (200, 422)
        api.patch("/blu8x8/api/settings", json={"time_zone": "Asia/Manila"})
