"""Foundation: admin security, API conventions, settings precedence, the
worker process's life cycle and directive validation, against a real httpd."""

import os
import re
import signal
import time

import pytest

from conftest import wait_until


# --------------------------------------------------------------- admin access

@pytest.mark.expect_log("AH01617")   # mod_auth_basic: the wrong password
def test_admin_pages_need_authentication(server):
    anon = server.client.as_user(None)
    assert anon.get("/blu8x8/").status == 401
    assert anon.get("/blu8x8/api/status").status == 401
    wrong = server.client.as_user("admin", "not-the-password")
    assert wrong.get("/blu8x8/users").status == 401


def test_an_error_line_no_test_expects_fails_the_harness_check(make_server):
    """The harness fails a test on an error-level log line it did not expect
    by tag; the same line, expected, passes."""
    h = make_server(worker=False)
    assert h.client.as_user("admin", "not-the-password").get("/blu8x8/").status == 401
    wait_until(lambda: "AH01617" in h.read_log(), what="mod_auth_basic's error line")
    unexpected = h.log_errors(set())
    assert len(unexpected) == 1 and "[auth_basic:error]" in unexpected[0], unexpected
    h.log_checked = 0   # read the whole log again, this time expecting the line
    assert h.log_errors({"AH01617"}) == []


def test_authenticated_login_without_admin_role_is_forbidden(server):
    alice = server.client.as_user("alice")
    page = alice.get("/blu8x8/")
    assert page.status == 403
    assert "administrator role" in page.text
    api = alice.get("/blu8x8/api/users")
    assert api.status == 403
    assert api.json["error"]


def test_config_admin_gets_the_administrator_role(server):
    users = server.client.get("/blu8x8/api/users").json
    admin = [u for u in users["items"] if u["login"] == "admin"][0]
    assert "administrator" in admin["roles"]


def test_dashboard_shows_worker_and_navigation(server):
    page = server.client.get("/blu8x8/")
    assert page.status == 200
    assert 'id="worker-state">Running' in page.text
    assert 'href="/blu8x8/users"' in page.text
    assert page.header("content-security-policy")
    assert page.header("x-frame-options") == "DENY"


def test_unknown_route_is_404_and_wrong_method_is_405(server):
    assert server.client.get("/blu8x8/no-such-page").status == 404
    assert server.client.get("/blu8x8/api/nothing").json["error"]
    r = server.client.request("PUT", "/blu8x8/api/users")
    assert r.status == 405
    assert "GET" in r.header("allow") and "POST" in r.header("allow")


# ------------------------------------------------------------------------ CSRF

def test_form_post_without_csrf_token_is_refused(server):
    r = server.client.post("/blu8x8/users", form={"login": "mallory", "name": "M"})
    assert r.status == 403
    assert "CSRF" in r.text
    r = server.client.post("/blu8x8/users", form={"login": "mallory", "csrf": "0" * 64})
    assert r.status == 403
    logins = [u["login"] for u in server.client.get("/blu8x8/api/users").json["items"]]
    assert "mallory" not in logins


def test_csrf_token_is_bound_to_the_login(server):
    server.client.post("/blu8x8/api/users", json={"login": "bob", "roles": ["administrator"]})
    bob = server.client.as_user("bob")
    admin_token = server.client.csrf("/blu8x8/users")
    assert bob.csrf("/blu8x8/users") != admin_token
    r = bob.post("/blu8x8/users", form={"login": "eve", "csrf": admin_token})
    assert r.status == 403


def test_form_post_with_token_creates_and_redirects(server):
    r = server.client.post_form("/blu8x8/users", {"login": "dora", "name": "Dora",
                                                  "phone": "0917 555 0101",
                                                  "roles[]": ["sales_agent"]})
    assert r.status == 303
    assert r.header("location") == "/blu8x8/users?notice=created"
    users = {u["login"]: u for u in server.client.get("/blu8x8/api/users").json["items"]}
    assert users["dora"]["phone"] == "+639175550101"
    assert users["dora"]["roles"] == ["sales_agent"]


def test_form_validation_error_keeps_typed_values(server):
    r = server.client.post_form("/blu8x8/users", {"login": "eric", "name": "Eric B",
                                                  "phone": "call me"})
    assert r.status == 422
    assert "not a valid phone number" in r.text
    assert 'value="Eric B"' in r.text


# ------------------------------------------------------------- API conventions

def test_state_changing_api_call_needs_json_content_type(server):
    r = server.client.post("/blu8x8/api/users", body='{"login": "x"}',
                           headers={"Content-Type": "text/plain"})
    assert r.status == 415
    r = server.client.post("/blu8x8/api/users", body="login=x",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 415
    r = server.client.patch("/blu8x8/api/settings", body='{"account_id": "x"}')
    assert r.status == 415


def test_api_rejects_malformed_json(server):
    r = server.client.post("/blu8x8/api/users", body="{not json",
                           headers={"Content-Type": "application/json"})
    assert r.status == 400
    assert r.json["error"]


def test_users_api_crud(server):
    c = server.client
    r = c.post("/blu8x8/api/users", json={"login": "agent7", "name": "Agent Seven",
                                           "phone": "+63 917 123 4567", "roles": ["sales_agent"]})
    assert r.status == 201
    user = r.json
    assert user["id"] > 0 and user["phone"] == "+639171234567"
    assert c.post("/blu8x8/api/users", json={"login": "agent7"}).status == 422
    r = c.patch(f"/blu8x8/api/users/{user['id']}", json={"name": "Agent 7", "roles": []})
    assert r.status == 200 and r.json["name"] == "Agent 7" and r.json["roles"] == []
    r = c.post("/blu8x8/api/users", json={"login": "", "phone": "12ab"})
    assert r.status == 422
    assert set(r.json["fields"]) == {"login", "phone"}
    listing = c.get("/blu8x8/api/users?per_page=2&page=1").json
    assert listing["per_page"] == 2 and listing["page"] == 1 and len(listing["items"]) == 2
    assert listing["total"] >= 3
    assert c.delete(f"/blu8x8/api/users/{user['id']}").status == 204
    assert c.get(f"/blu8x8/api/users/{user['id']}").status == 404
    assert c.patch("/blu8x8/api/users/999999", json={"name": "x"}).status == 404


def test_admin_cannot_delete_or_demote_self(server):
    c = server.client
    me = [u for u in c.get("/blu8x8/api/users").json["items"] if u["login"] == "admin"][0]
    assert c.delete(f"/blu8x8/api/users/{me['id']}").status == 409
    r = c.patch(f"/blu8x8/api/users/{me['id']}", json={"roles": ["sales_agent"]})
    assert r.status == 422


def test_user_names_are_html_escaped(server):
    c = server.client
    c.post("/blu8x8/api/users", json={"login": "xss", "name": "<script>alert(1)</script>'\""})
    page = c.get("/blu8x8/users").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#39;&quot;" in page


def test_api_body_over_the_limit_is_413(server):
    r = server.client.post("/blu8x8/api/users", body='{"name": "' + "a" * 300000 + '"}',
                           headers={"Content-Type": "application/json"})
    assert r.status == 413


# ---------------------------------------------------------------- settings

def test_settings_precedence_config_database_default(make_server, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("sk-from-file-123\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(secret, 0o644)
    h = make_server(f'Blu8x8AccountId PinnedAccount\nBlu8x8OpenAIKey "file:{secret}"\n'
                    "Blu8x8SmsSender \"Blu Coffee\"\nBlu8x8SmsSender \"Blu Promo\"\n")
    c = h.client
    s = c.get("/blu8x8/api/settings").json
    assert s["account_id"] == {"value": "PinnedAccount", "source": "config", "pinned": True}
    assert s["send_interval"] == {"value": 5, "source": "default", "pinned": False}
    assert s["sms_senders"]["value"] == ["Blu Coffee", "Blu Promo"]
    assert s["openai_key"] == {"set": True, "source": "config", "pinned": True}
    # The harness configures the webhook's secret for every server.
    assert s["webhook_authorization"] == {"set": True, "source": "config", "pinned": True}
    assert "sk-from-file-123" not in c.get("/blu8x8/api/settings").text

    r = c.patch("/blu8x8/api/settings", json={"account_id": "Other"})
    assert r.status == 409
    r = c.patch("/blu8x8/api/settings", json={"send_interval": 0.2, "viber_sub_account": "Sub2"})
    assert r.status == 200
    assert r.json["send_interval"] == {"value": 0.2, "source": "database", "pinned": False}
    assert r.json["viber_sub_account"]["value"] == "Sub2"
    # The database value beats the default, also after a restart.
    h.stop()
    h.start()
    s = h.client.get("/blu8x8/api/settings").json
    assert s["send_interval"]["value"] == 0.2 and s["send_interval"]["source"] == "database"


def test_settings_validation(server):
    c = server.client
    r = c.patch("/blu8x8/api/settings", json={"send_interval": -1, "openai_model": "gpt-5",
                                               "no_such_setting": 1})
    assert r.status == 422
    assert set(r.json["fields"]) == {"send_interval", "openai_model", "no_such_setting"}
    r = c.patch("/blu8x8/api/settings", json={"da_vinci": True})
    assert r.status == 422
    assert "da_vinci" in r.json["fields"]
    r = c.patch("/blu8x8/api/settings", json={"ai_respond": True, "da_vinci": True})
    assert r.status == 200 and r.json["da_vinci"]["value"] is True
    r = c.patch("/blu8x8/api/settings", json={"ai_respond": False})
    assert r.status == 422, "turning the AI reply off under Da Vinci must be refused"
    r = c.patch("/blu8x8/api/settings", json={"openai_key": "sk-k-123"})
    assert r.status == 200 and r.json["openai_key"]["set"] is True
    assert "k-123" not in r.text


# ------------------------------------------------------------------ the worker

def test_worker_killed_is_back_within_5_seconds(make_server):
    h = make_server()
    pid = h.wait_worker()
    assert h.workers() == [pid]
    os.kill(pid, signal.SIGKILL)
    started = time.time()
    new_pid = h.wait_worker(timeout=5, not_pid=pid)
    assert time.time() - started < 5
    assert new_pid != pid
    assert h.workers() == [new_pid]
    status = h.client.get("/blu8x8/api/status").json
    assert status["worker"]["pid"] == new_pid
    assert status["crons"]["send_queued"]["last_run"]


def test_worker_runs_as_the_unprivileged_user(make_server):
    h = make_server()
    pid = h.wait_worker()
    uid = int(re.search(r"^Uid:\s+(\d+)", open(f"/proc/{pid}/status").read(), re.M).group(1))
    if os.geteuid() == 0:
        assert uid != 0
    assert open(f"/proc/{pid}/comm").read().strip() == "blu8x8-worker"


def test_graceful_restart_and_stop_leave_one_then_no_worker(make_server):
    h = make_server()
    old = h.wait_worker()
    h.graceful()
    new = h.wait_worker(timeout=10, not_pid=old)
    deadline = time.time() + 5
    while time.time() < deadline and h.workers() != [new]:
        time.sleep(0.05)
    assert h.workers() == [new]
    h.stop()
    deadline = time.time() + 5
    while time.time() < deadline and h.workers():
        time.sleep(0.05)
    assert h.workers() == []


def test_worker_off_starts_none(make_server):
    h = make_server(worker=False)
    # No wait needed: the parent forks the worker in post_config, before any
    # child answers, so a worker that would run exists once the server answers.
    assert h.workers() == []
    st = h.client.get("/blu8x8/api/status").json["worker"]
    assert st["running"] is False and st["pid"] is None


# -------------------------------------------------------- directive validation

@pytest.mark.parametrize("directive, needle", [
    ("Blu8x8SendInterval abc", "Blu8x8SendInterval"),
    ("Blu8x8SendInterval -2", "Blu8x8SendInterval"),
    ("Blu8x8DefaultCountry 0x63", "Blu8x8DefaultCountry"),
    ('Blu8x8SmsSender "Blu Coffee Roasters"', "Blu8x8SmsSender"),
    ("Blu8x8OpenAIModel gpt-5", "Blu8x8OpenAIModel"),
    ("Blu8x8OpenAIMaxTokens 0", "Blu8x8OpenAIMaxTokens"),
    ("Blu8x8AIRespond maybe", "Blu8x8AIRespond"),
    ("Blu8x8ChatAppsURL ftp://example.com", "Blu8x8ChatAppsURL"),
    ("Blu8x8MaxBody 10", "Blu8x8MaxBody"),
    ("Blu8x8Database mysql host=x", "Blu8x8Database"),
    ("Blu8x8ApiKey file:/nonexistent/key", "Blu8x8ApiKey"),
    ("Blu8x8TemplateDir /nonexistent/templates", "Blu8x8TemplateDir"),
])
def test_bad_directive_value_stops_httpd_naming_the_directive(make_server, directive, needle):
    h = make_server(directive, start=False)
    result = h.check_config()
    assert result.returncode != 0
    assert needle in result.stdout + result.stderr


def test_da_vinci_pinned_without_ai_reply_fails_at_start(make_server):
    h = make_server("Blu8x8DaVinci On", start=False)
    with pytest.raises(RuntimeError) as info:
        h.start()
    assert "Blu8x8DaVinci" in str(info.value)


def test_dashboard_shows_the_day_in_figures(make_server):
    h = make_server()
    c = h.client
    c.post("/blu8x8/api/contacts", json={"name": "Ana", "phone": "09170000001"})
    c.post("/blu8x8/api/contacts", json={"name": "Ben", "phone": "09170000002", "opted_out": True})
    c.post("/blu8x8/api/campaigns", json={"name": "Promo", "type": "text", "body": "Hi"})
    page = c.get("/blu8x8/").text
    assert re.search(r'id="fig-contacts">2</p><p>1 opted out', page)
    assert 'id="fig-sending">0</p>' in page and "1 draft" in page
    assert 'id="fig-leads">0</p>' in page and 'id="fig-sms">0</p>' in page
