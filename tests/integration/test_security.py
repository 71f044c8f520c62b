"""Safe by default (API.md "Second round"): the webhook is closed
until its secret is configured, files are not readable by other users, the
8x8 and OpenAI base URLs cannot be pointed elsewhere through the API, TRACE
is off."""

import json
import os
import pathlib
import stat
import subprocess

import pytest

from conftest import DB, HOOK_PATH, ROOT, WEBHOOK_AUTH, Client

EVENT = {"version": 9, "namespace": "ChatApps", "eventType": "inbound_message_received",
         "payload": {"umid": "sec-umid-1", "channel": "viber", "user": {"msisdn": "+639171110001",
                                                                         "name": "Ana"},
                     "recipient": {"channel": "viber", "channelId": "x"},
                     "type": "Text", "content": {"text": "hello"}}}


def hook(h, auth=None, event=EVENT):
    """POST an event with exactly this Authorization header (None: none)."""
    return Client(h.port, None, None).post(HOOK_PATH, json=event,
                                           headers={"Authorization": auth})


def inbound_count(h):
    return h.sql("SELECT COUNT(*) FROM inbound")[0][0]


# ------------------------------------------------------------ webhook secret

def test_webhook_without_secret_refuses_every_event_and_says_so(make_server):
    h = make_server(worker=False, webhook_auth=None)
    assert "B8-4000: Blu8x8WebhookAuthorization is not set" in h.read_log()
    for auth in (None, "", "Bearer anything", "none"):
        r = hook(h, auth)
        assert r.status == 401, auth
        assert "Blu8x8WebhookAuthorization" in r.json["error"]
    # 405 still comes first.
    assert Client(h.port, None, None).get(HOOK_PATH).status == 405
    assert inbound_count(h) == 0
    s = h.client.get("/blu8x8/api/settings").json["webhook_authorization"]
    assert s == {"set": False, "source": "default", "pinned": False}


def test_webhook_none_opens_it_on_purpose_with_a_warning(make_server):
    h = make_server("Blu8x8WebhookAuthorization none\n", worker=False, webhook_auth=None)
    log = h.read_log()
    assert "B8-4001: Blu8x8WebhookAuthorization none" in log and "B8-4000" not in log
    assert hook(h, None).status == 200
    assert hook(h, "Bearer whatever", dict(EVENT, payload=dict(EVENT["payload"],
                                                               umid="sec-umid-2"))).status == 200
    assert inbound_count(h) == 2


def test_webhook_secret_by_directive_wrong_is_401_right_is_200(make_server):
    h = make_server(worker=False)     # the harness's Blu8x8WebhookAuthorization
    assert "B8-4000" not in h.read_log() and "B8-4001" not in h.read_log()
    for auth in (None, "Bearer wrong", WEBHOOK_AUTH + "x", WEBHOOK_AUTH.lower()):
        assert hook(h, auth).status == 401, auth
    assert inbound_count(h) == 0
    assert hook(h, WEBHOOK_AUTH).status == 200
    assert inbound_count(h) == 1
    assert WEBHOOK_AUTH.split()[1] not in h.read_log()


def test_webhook_secret_saved_in_settings_opens_it_but_none_is_refused(make_server):
    h = make_server(worker=False, webhook_auth=None)
    api = h.client
    r = api.patch("/blu8x8/api/settings", json={"webhook_authorization": "None"})
    assert r.status == 422 and "webhook_authorization" in r.json["fields"]
    assert hook(h, "None").status == 401
    r = api.patch("/blu8x8/api/settings", json={"webhook_authorization": "Bearer saved-k9"})
    assert r.status == 200 and r.json["webhook_authorization"]["set"] is True
    assert hook(h, "Bearer other").status == 401
    assert hook(h, "Bearer saved-k9").status == 200
    # Saved in the database: no warning at the next start.
    h.stop()
    h.error_log.write_text("")
    h.start(wait_worker=False)
    assert "B8-4000" not in h.read_log()
    assert hook(h, "Bearer saved-k9", dict(EVENT, payload=dict(EVENT["payload"],
                                                               umid="sec-umid-3"))).status == 200


# ------------------------------------------------------------------ file modes

def open_bits(path: pathlib.Path) -> str | None:
    """What other users could do with path: None when nothing."""
    mode = stat.S_IMODE(path.lstat().st_mode)
    if path.is_dir() and mode & 0o027 == 0:
        return None
    if path.is_file() and mode & 0o037 == 0:
        return None
    return f"{path} is {mode:04o}"


def webhook_and_api_writes(h):
    assert hook(h, WEBHOOK_AUTH).status == 200
    r = h.client.post("/blu8x8/api/contacts", json={"phone": "+639171110002", "name": "Ben"})
    assert r.status == 201, r


@pytest.mark.skipif(DB != "sqlite3", reason="SQLite files")
def test_database_files_are_the_run_users_only(make_server):
    h = make_server(start=False)
    data = h.root / "data" / "db"
    h.directives = f'Blu8x8Database sqlite3 "{data}/blu8x8.db"\n'
    h.start()
    webhook_and_api_writes(h)
    names = {p.name for p in data.iterdir()}
    assert {"blu8x8.db", "blu8x8.db-wal", "blu8x8.db-shm", "blu8x8.db-lock"} <= names, names
    paths = [data.parent, data] + sorted(data.rglob("*"))
    assert [b for b in map(open_bits, paths) if b] == []
    if os.geteuid() == 0:   # written by httpd's User, not root
        assert {p.stat().st_uid for p in [data] + list(data.iterdir())} == {33}


@pytest.mark.skipif(DB != "sqlite3", reason="SQLite files")
def test_files_an_older_version_left_open_are_closed_at_start(make_server):
    h = make_server(worker=False)
    webhook_and_api_writes(h)
    h.stop()
    for suffix in ("", "-lock"):
        os.chmod(f"{h.db_path}{suffix}", 0o666)
    os.chmod(h.root, 0o777)
    h.start()
    assert [b for b in map(open_bits, (h.db_path, pathlib.Path(f"{h.db_path}-lock"), h.root))
            if b] == []
    assert h.client.get("/blu8x8/api/contacts").status == 200


@pytest.mark.skipif(DB != "sqlite3", reason="SQLite files")
def test_database_the_run_user_cannot_write_stops_httpd_naming_it(make_server):
    h = make_server(worker=False)
    webhook_and_api_writes(h)
    h.stop()
    os.chmod(h.db_path, 0o440)
    with pytest.raises(RuntimeError):
        h.start()
    log = h.read_log()
    assert "B8-4004" in log and f"cannot write {h.db_path} " in log, log[-2000:]
    # Given back to the run user, it starts again with its data.
    os.chmod(h.db_path, 0o600)
    h.error_log.write_text("")
    h.start()
    assert len(h.client.get("/blu8x8/api/contacts").json["items"]) == 1


@pytest.mark.skipif(DB != "sqlite3" or os.geteuid() != 0, reason="SQLite files, run as root")
@pytest.mark.expect_log("B8-4006", "AH00020")   # ours, then httpd's "Configuration Failed"
def test_database_behind_a_directory_the_run_user_cannot_enter_stops_httpd(make_server):
    h = make_server(start=False, worker=False)
    locked = h.root / "locked"
    locked.mkdir(mode=0o700)
    h.directives = f'Blu8x8Database sqlite3 "{locked}/db/blu8x8.db"\n'
    with pytest.raises(RuntimeError):
        h.start()
    assert f"B8-4006: Blu8x8Database: httpd's User (uid 33) cannot reach {locked}/db/blu8x8.db " \
           f"through {locked} (mode 0700)" in h.read_log()


def test_make_run_keeps_var_to_root_and_the_run_user(tmp_path):
    """conf/prepare-dev-var.sh and conf/gen-dev-conf.sh, as `make run` calls them."""
    var = tmp_path / "var"
    var.mkdir()
    (var / "error.log").write_text("an older run's log\n")
    os.chmod(var / "error.log", 0o644)
    os.chmod(var, 0o755)
    for _ in range(2):   # a second run keeps the secrets
        subprocess.run(["sh", str(ROOT / "conf" / "prepare-dev-var.sh"), str(var)], check=True)
        conf = subprocess.run(["sh", str(ROOT / "conf" / "gen-dev-conf.sh"), str(var), "8999",
                               "/nonexistent/mod_blu8x8.so", str(ROOT)], check=True,
                              capture_output=True, text=True).stdout
        if _ == 0:
            first = {f: (var / f).read_text() for f in ("admin-password", "webhook-authorization")}
    assert {f: (var / f).read_text() for f in first} == first
    assert [b for b in map(open_bits, [var] + sorted(var.rglob("*"))) if b] == []
    for secret in ("admin-password", "webhook-authorization"):
        assert stat.S_IMODE((var / secret).stat().st_mode) == 0o600
    token = first["webhook-authorization"].strip()
    assert token.startswith("Bearer ") and len(token) >= 7 + 30
    # bcrypt, cost 10 or more
    cost = int((var / "htpasswd").read_text().split(":", 1)[1].split("$")[2])
    assert cost >= 10
    if os.geteuid() == 0:
        st = (var / "htpasswd").stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 33, 0o640)
        assert (var / "www").stat().st_uid == 33
    assert f'Blu8x8WebhookAuthorization "file:{var}/webhook-authorization"' in conf
    assert "\nTraceEnable Off\n" in conf
    # The Makefile runs both and httpd under umask 027 and prints the header.
    make = (ROOT / "Makefile").read_text()
    run = make[make.index("\nrun:"):make.index("\nstop:")]
    assert "conf/prepare-dev-var.sh" in run and run.count("umask 027;") == 2
    assert "webhook-authorization" in run


# --------------------------------------------------------------- outbound URLs

URLS = {"chatapps_url": ["https://chatapps.8x8.com", "https://chatapps.us.8x8.com",
                         "https://chatapps.8x8.uk", "https://chatapps.8x8.id"],
        "sms_url": ["https://sms.8x8.com", "https://sms.us.8x8.com", "https://sms.8x8.uk",
                    "https://sms.8x8.id"],
        "openai_url": ["https://api.openai.com"]}


def test_base_urls_through_the_api_only_8x8_and_openai(make_server):
    h = make_server(worker=False, standin_urls=False)
    api = h.client
    for key in URLS:
        for bad in ("http://evil.test", "https://evil.test", "http://127.0.0.1:9",
                    URLS[key][0].replace("https", "http"), URLS[key][0] + ".evil.test"):
            r = api.patch("/blu8x8/api/settings", json={key: bad})
            assert r.status == 422, (key, bad)
            assert list(r.json["fields"]) == [key] and URLS[key][0] in r.json["fields"][key]
            assert api.get("/blu8x8/api/settings").json[key]["source"] == "default"
        for good in URLS[key]:
            r = api.patch("/blu8x8/api/settings", json={key: good + "/"})
            assert r.status == 200, (key, good)
            assert r.json[key] == {"value": good, "source": "database", "pinned": False}
    # The page offers them as a choice, and refuses a typed other URL.
    page = api.get("/blu8x8/settings").text
    for key, urls in URLS.items():
        block = page[page.index(f'id="setting-{key}"'):]
        block = block[:block.index("</select>")]
        assert f'<select id="f-{key}" name="{key}">' in block
        assert [u for u in urls if f'<option value="{u}"' in block] == urls
    assert "Europe (UK) (https://chatapps.8x8.uk)" in page
    r = api.post_form("/blu8x8/settings", {"sms_url": "https://evil.test"})
    assert r.status == 422 and "https://sms.8x8.com" in r.text
    assert api.get("/blu8x8/api/settings").json["sms_url"]["value"] == URLS["sms_url"][-1]


def test_base_url_saved_before_the_rule_stays_until_changed(make_server):
    h = make_server(worker=False, standin_urls=False)
    # (RETURNING: the harness would otherwise ask PostgreSQL for an id column)
    h.write_sql("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
                + (" RETURNING key" if DB == "pgsql" else ""),
                ("openai_url", "https://llm-proxy.internal", "2026-12-01T00:00:00Z"))
    # Saved by an older version: the server is restarted onto it (a write
    # behind the module's back is no save its settings cache hears of).
    h.stop()
    h.start(wait_worker=False)
    page = h.client.get("/blu8x8/settings").text
    assert '<option value="https://llm-proxy.internal" selected>' in page
    # Saving the form unchanged keeps it; another URL than the allowed is refused.
    r = h.client.post_form("/blu8x8/settings", {"openai_url": "https://llm-proxy.internal",
                                                "send_interval": "2"})
    assert r.status == 303
    r = h.client.patch("/blu8x8/api/settings", json={"openai_url": "https://other.internal"})
    assert r.status == 422


def test_base_url_by_directive_is_any_url(server, eightx8):
    """The stand-ins are configured by directive (the harness): pinned, and used."""
    s = server.client.get("/blu8x8/api/settings").json
    for key in ("chatapps_url", "sms_url", "openai_url"):
        assert s[key]["pinned"] is True and s[key]["value"].startswith("http://127.0.0.1:")
    r = server.client.patch("/blu8x8/api/settings", json={"chatapps_url": URLS["chatapps_url"][1]})
    assert r.status == 409


# ------------------------------------------------------------------------ TRACE

def test_trace_is_refused(server):
    r = server.client.request("TRACE", "/blu8x8/")
    assert r.status == 405
    r = Client(server.port, None).request("TRACE", "/viber/status")
    assert r.status == 405
    assert b"Authorization" not in r.body


def test_shipped_configs_turn_trace_off():
    for name in ("blu8x8.conf", "httpd-dev.conf.in"):
        lines = [ln.strip() for ln in (ROOT / "conf" / name).read_text().splitlines()]
        assert "TraceEnable Off" in lines, name
