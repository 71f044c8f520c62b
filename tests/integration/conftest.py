"""Integration harness: a real httpd with the built module, per test module.

Each server gets its own directory (config, htpasswd, SQLite database, logs)
and a free loopback port, and points the module's 8x8 and OpenAI base URLs at
the stand-ins of standins.py. After every test the server's error log is
checked for crashes and sanitizer reports, so a test that "passes" while a
child segfaults still fails, and for any line at level error or above that
the test did not expect (as httpd's and mod_md's test suites do): a test that
provokes one names its log tag,

    @pytest.mark.expect_log("B8-0123", "AH00526")
    def test_...

or, for a tag known only at run time, calls the expect_log fixture:
expect_log("B8-0123"). Tags are our B8-xxxx ids and httpd's AHxxxxx ids.

Fixtures:
  eightx8, openai   session-wide stand-ins, reset before each test
  server            one httpd shared by the tests of a module (fresh database)
  make_server       factory for tests that need their own config or to kill it

Database: SQLite by default; with B8_DB=pgsql every server gets a fresh
PostgreSQL database (created and dropped here) on the cluster that B8_PG names
(a libpq connection string without dbname: tests/pgcluster.sh run sets both).
server.sql() and server.write_sql() work on either.
"""

from __future__ import annotations

import base64
import http.client
import json as jsonlib
import os
import pathlib
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from standins import EightByEight, OpenAI  # noqa: E402

MODULE = os.environ.get("B8_MODULE", str(ROOT / "build" / "mod_blu8x8.so"))
SANITIZE = os.environ.get("B8_SANITIZE", "0") == "1"
APACHE = shutil.which("apache2") or "/usr/sbin/apache2"
DB = os.environ.get("B8_DB", "sqlite3")
PG = os.environ.get("B8_PG", "")
if DB not in ("sqlite3", "pgsql"):
    raise RuntimeError(f"B8_DB={DB!r}: use sqlite3 or pgsql")
if DB == "pgsql" and not PG:
    raise RuntimeError("B8_DB=pgsql needs B8_PG, the test cluster's connection string "
                       "(run the tests under tests/pgcluster.sh run ...)")

ADMIN = ("admin", "admin-secret-pw")
# The Authorization header 8x8 would send: every server is configured with it
# (Blu8x8WebhookAuthorization; unset, the webhook refuses every event), and a
# Client without a login sends it with each POST to the webhook.
WEBHOOK_AUTH = "Bearer test-webhook-Zq81xv"
HOOK_PATH = "/viber/status"
# Logins in the htpasswd file; only "admin" is given the admin role by config.
LOGINS = {"admin": ADMIN[1], "alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}

# Error-log lines that always mean a bug.
CRASH_PATTERNS = re.compile(
    r"(exit signal (Segmentation|Abort|Bus)|AddressSanitizer|runtime error:|"
    r"LeakSanitizer|Assertion .* failed|double free|corrupted)")

# An error-log line at level error or above: "[date] [module:level] ...".
ERROR_LEVEL = re.compile(r"^\[[^\]]*\] \[[\w.-]*:(emerg|alert|crit|error)\]")
LOG_TAG = re.compile(r"\b(B8-\d{4}|AH\d{5})\b")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "expect_log(*tags): error-level log lines with these tags (B8-xxxx, "
        "AHxxxxx) are expected by the test; any other error-level line fails it")


# httpd's own, when a server stops or restarts (never the module's): the event
# MPM re-arming a keep-alive connection in a pollset its stopping child has
# already closed.
STOP_NOISE = {"AH03093"}
STOPPING = re.compile(r"caught SIGTERM, shutting down|Doing graceful restart|Attempting to restart")


def unexpected_errors(text: str, allowed) -> list[str]:
    """The error-level (and above) lines of an error log whose tag is not in
    allowed. A line without a tag is never expected."""
    allowed = set(allowed) | (STOP_NOISE if STOPPING.search(text) else set())
    out = []
    for ln in text.splitlines():
        if ERROR_LEVEL.search(ln):
            m = LOG_TAG.search(ln)
            if not (m and m.group(1) in allowed):
                out.append("unexpected error-level log line: " + ln)
    return out


def wait_until(pred, timeout=15.0, step=0.05, what="condition"):
    """pred's first true value, polled every step seconds; fails after timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def worker_ticks(client, ticks: int = 2, timeout: float = 20.0) -> str:
    """Waits until the server's worker has written `ticks` more heartbeats
    (last_tick of GET /blu8x8/api/status moves on; one every 2 s). Two ticks
    span at least a whole heartbeat period in which the worker was alive and
    looping. Returns the last tick seen."""
    def tick():
        return client.get("/blu8x8/api/status").json["worker"]["last_tick"]
    last, seen = tick(), 0
    deadline = time.time() + timeout
    while seen < ticks:
        if time.time() > deadline:
            raise AssertionError(f"the worker wrote {seen} of {ticks} heartbeats in {timeout} s")
        time.sleep(0.05)
        now = tick()
        if now != last:
            last, seen = now, seen + 1
    return last


def stays(value, client, ticks: int = 2):
    """value()'s result, unchanged while the worker of client's server ticks
    `ticks` times: what a test shows does not happen (a resend, a second
    reply) had that long to happen. Fails if it changes."""
    before = value()
    worker_ticks(client, ticks)
    after = value()
    assert after == before, f"changed while nothing more should happen: {before!r} -> {after!r}"
    return after


def page_replaced(old):
    """For WebDriverWait: true once the page holding element old is gone. Like
    Selenium's staleness_of, but Chromium may also answer "Node with given id
    does not belong to the document" for an element of a page just left."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def check(_driver):
        try:
            old.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as e:
            if "does not belong to the document" in str(e):
                return True
            raise
    return check


def inbound_event(phone, text, umid=None, name="Ana", kind="Text", content=None):
    """An inbound message event as 8x8 posts it to the webhook: content, else
    a text; a fresh UMID unless one is given."""
    return {"namespace": "ChatApps", "eventType": "inbound_message_received",
            "description": "ChatApps inbound message",
            "payload": {"umid": umid or str(uuid.uuid4()),
                        "subAccountId": "BluCoffeePH_TwoWayViber_NOTIF",
                        "timestamp": "2026-11-01T14:34:56.017Z",
                        "user": {"msisdn": phone, "channelUserId": phone.lstrip("+"),
                                 "name": name},
                        "recipient": {"channel": "viber", "channelId": "2f9c"},
                        "type": kind, "content": content or {"text": text}}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sanitizer_env(logdir: pathlib.Path) -> dict:
    env = dict(os.environ)
    if SANITIZE:
        libs = []
        for lib in ("libasan.so", "libubsan.so"):
            path = subprocess.run(["gcc", f"-print-file-name={lib}"], capture_output=True,
                                  text=True).stdout.strip()
            if path and os.path.exists(path):
                libs.append(path)
        env["LD_PRELOAD"] = " ".join(libs)
        # httpd keeps its pools until exit by design: leaks are not ours to judge here.
        # use_sigaltstack=0: ASan otherwise misreports its own signal-stack teardown in
        # threads that the uninstrumented httpd binary creates. disable_coredump=0: a
        # crashing child still leaves its core (httpd's own SIGSEGV handler runs first), for
        # the backtrace that tells httpd's crashes from ours.
        env["ASAN_OPTIONS"] = (f"detect_leaks=0:abort_on_error=0:use_sigaltstack=0:"
                              f"disable_coredump=0:log_path={logdir}/asan")
        env["UBSAN_OPTIONS"] = f"print_stacktrace=1:log_path={logdir}/ubsan"
    return env


def pg_connect(dbname: str):
    import psycopg2
    return psycopg2.connect(f"{PG} dbname={dbname}", connect_timeout=10)


def pg_create_database() -> str:
    name = "b8_" + uuid.uuid4().hex[:16]
    con = pg_connect("postgres")
    try:
        con.autocommit = True
        con.cursor().execute(f"CREATE DATABASE {name}")
    finally:
        con.close()
    return name


def pg_drop_database(name: str) -> None:
    con = pg_connect("postgres")
    try:
        con.autocommit = True
        con.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        con.close()


def _allow_core_dumps():
    """A crashing child leaves a core file in <root>/run (CoreDumpDirectory)."""
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


class Response:
    def __init__(self, status: int, headers: dict, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def json(self):
        return jsonlib.loads(self.body)

    @property
    def csv_text(self) -> str:
        """A CSV export's text: every export starts with a UTF-8 BOM (checked, dropped)."""
        assert self.body.startswith(b"\xef\xbb\xbf"), self.body[:40]
        return self.body[3:].decode("utf-8")

    def header(self, name: str):
        return self.headers.get(name.lower())

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.body[:200]!r}>"


class Client:
    """Minimal HTTP client bound to one server and (optionally) one login."""

    def __init__(self, port: int, auth=ADMIN, webhook_auth: str | None = WEBHOOK_AUTH):
        self.port = port
        self.auth = auth
        self.webhook_auth = webhook_auth
        # Cookies as a browser keeps them (the flash of post/redirect/get).
        self.cookies: dict[str, str] = {}

    def as_user(self, login: str | None, password: str | None = None) -> "Client":
        if login is None:
            return Client(self.port, None, self.webhook_auth)
        return Client(self.port, (login, password or LOGINS[login]))

    def request(self, method: str, path: str, body=None, headers=None, json=None,
                form=None, timeout: float = 30.0) -> Response:
        hdrs = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif form is not None:
            body = urllib.parse.urlencode(form, doseq=True).encode()
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif isinstance(body, str):
            body = body.encode()
        if self.auth:
            token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            hdrs.setdefault("Authorization", "Basic " + token)
        elif self.webhook_auth and path.startswith(HOOK_PATH):
            hdrs.setdefault("Authorization", self.webhook_auth)
        # A header given as None is not sent (a webhook POST without Authorization).
        if self.cookies and "Cookie" not in hdrs:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            for name, value in resp.getheaders():
                if name.lower() == "set-cookie":
                    self._keep_cookie(value)
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        finally:
            conn.close()

    def _keep_cookie(self, header: str) -> None:
        first, *attrs = [p.strip() for p in header.split(";")]
        name, _, value = first.partition("=")
        gone = not value or any(a.lower() == "max-age=0" for a in attrs)
        if gone:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def csrf(self, page: str = "/blu8x8/") -> str:
        """The CSRF token from a page's forms (bound to this login)."""
        html = self.get(page).text
        m = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
        assert m, f"no CSRF token on {page}"
        return m.group(1)

    def follow(self, r: Response) -> Response:
        """The page a form's 303 lands on (as a browser shows it)."""
        if r.status != 303:
            return r
        landed = self.get(r.header("location"))
        landed.posted = r
        return landed

    def post_form(self, path: str, fields: dict, page: str | None = None,
                  follow: bool = True) -> Response:
        """POST an HTML form with the CSRF token taken from `page` (default: path).

        Every form answers 303 (post/redirect/get); like a browser, this
        follows it and returns the page it lands on (its status is the
        form's outcome: 422 after a refused form), with `.posted` the 303."""
        data = dict(fields)
        data.setdefault("csrf", self.csrf(page or path))
        r = self.post(path, form=data)
        return self.follow(r) if follow else r


class Httpd:
    """One httpd with the module, in its own directory."""

    def __init__(self, root: pathlib.Path, directives: str = "", eightx8=None, openai=None,
                 worker: bool = True, share_db_with: "Httpd | None" = None,
                 webhook_auth: str | None = WEBHOOK_AUTH, standin_urls: bool = True):
        self.root = root
        # PostgreSQL: a database of its own, or the one of another server
        # (several servers on one database).
        self.owns_db = share_db_with is None
        self.pg_db = share_db_with.pg_db if share_db_with else None
        if DB == "pgsql" and self.pg_db is None:
            self.pg_db = pg_create_database()
        self.port = free_port()
        self.directives = directives
        self.proc: subprocess.Popen | None = None
        self.log_checked = 0   # error-log offset that log_errors has read up to
        self.worker = worker
        urls = ""
        if not standin_urls:   # the defaults (8x8's and OpenAI's own hosts), not pinned
            eightx8 = openai = None
        if webhook_auth is not None:
            urls += f'Blu8x8WebhookAuthorization "{webhook_auth}"\n'
        if eightx8 is not None:
            urls += (f"Blu8x8ChatAppsURL {eightx8.url}\nBlu8x8SmsURL {eightx8.url}\n"
                     "Blu8x8ApiKey test-8x8-key\n")
        if openai is not None:
            urls += f"Blu8x8OpenAIURL {openai.url}\n"
        self.base_directives = urls + ("" if worker else "Blu8x8Worker Off\n")
        self.client = Client(self.port, webhook_auth=webhook_auth)

    # -- files ---------------------------------------------------------------
    @property
    def conf_path(self) -> pathlib.Path:
        return self.root / "httpd.conf"

    @property
    def error_log(self) -> pathlib.Path:
        return self.root / "error.log"

    @property
    def db_path(self) -> pathlib.Path:
        return self.root / "blu8x8.db"

    def write_files(self) -> None:
        (self.root / "www").mkdir(parents=True, exist_ok=True)
        (self.root / "run").mkdir(exist_ok=True)
        (self.root / "www" / "static.txt").write_text("x" * 512)
        htpasswd = self.root / "htpasswd"
        if not htpasswd.exists():
            for i, (login, pw) in enumerate(LOGINS.items()):
                subprocess.run(["htpasswd", "-b", "-m"] + ([] if i else ["-c"])
                               + [str(htpasswd), login, pw], check=True, capture_output=True)
        user = "User www-data\nGroup www-data" if os.geteuid() == 0 else ""
        template = (ROOT / "conf" / "httpd-dev.conf.in").read_text()
        if DB == "pgsql":
            line = 'Blu8x8Database sqlite3 "@VAR@/blu8x8.db"'
            assert line in template, "conf/httpd-dev.conf.in: no SQLite database line to replace"
            template = template.replace(line, f'Blu8x8Database pgsql "{PG} dbname={self.pg_db}"')
        conf = (template.replace("@VAR@", str(self.root)).replace("@PORT@", str(self.port))
                .replace("@MODULE@", MODULE).replace("@ROOT@", str(ROOT))
                .replace("@USER@", user)
                .replace("@EXTRA@", self.base_directives + self.directives))
        conf = conf.replace("LogLevel warn blu8x8:info", "LogLevel warn blu8x8:debug")
        conf += f'\nCoreDumpDirectory "{self.root}/run"\n'
        self.conf_path.write_text(conf)
        if os.geteuid() == 0:
            os.chmod(self.root, 0o755)
            for path in (self.root / "www", self.root / "run"):
                shutil.chown(path, "www-data", "www-data")
            os.chmod(htpasswd, 0o644)

    # -- lifecycle -------------------------------------------------------------
    def check_config(self) -> subprocess.CompletedProcess:
        """apache2 -t: the config test httpd runs before starting."""
        self.write_files()
        return subprocess.run([APACHE, "-t", "-f", str(self.conf_path)], capture_output=True,
                              text=True, env=_sanitizer_env(self.root))

    def start(self, wait_worker: bool | None = None) -> "Httpd":
        self.write_files()
        self.proc = subprocess.Popen([APACHE, "-f", str(self.conf_path), "-DFOREGROUND"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=_sanitizer_env(self.root), preexec_fn=_allow_core_dumps)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode(errors="replace")
                raise RuntimeError(f"httpd exited: {out}\n{self.read_log()}")
            try:
                if self.client.get("/blu8x8/api/status", timeout=2).status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            raise RuntimeError("httpd did not answer:\n" + self.read_log())
        if wait_worker if wait_worker is not None else self.worker:
            self.wait_worker()
        return self

    def wait_worker(self, timeout: float = 10.0, not_pid: int | None = None) -> int:
        """Polls the status API until a worker runs (other than not_pid)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = self.client.get("/blu8x8/api/status").json["worker"]
            if st["running"] and st["pid"] and st["pid"] != not_pid:
                return st["pid"]
            time.sleep(0.05)
        raise AssertionError("no worker running:\n" + self.read_log())

    def children_started(self) -> bool:
        """Whether every httpd child of this server is past its start (has
        made its threads). httpd 2.4 can crash a child stopped while it is
        still starting (see known_httpd_shutdown_crash), and when that child
        has just changed its user it leaves no core to prove it."""
        for entry in pathlib.Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
            if fields.get("PPid", "").strip() != str(self.proc.pid):
                continue
            if fields.get("Name", "").strip() == "apache2" and int(fields.get("Threads", "1")) < 2:
                return False
        return True

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc and self.proc.poll() is None:
            deadline = time.monotonic() + 3
            while not self.children_started() and time.monotonic() < deadline:
                time.sleep(0.02)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()

    def graceful(self) -> None:
        self.proc.send_signal(signal.SIGUSR1)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def workers(self) -> list[int]:
        """Live blu8x8-worker processes started by this server's config."""
        found = []
        for entry in pathlib.Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                comm = (entry / "comm").read_text().strip()
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # A zombie is already dead: the parent only has to reap it.
            if comm == "blu8x8-worker" and str(self.conf_path) in cmdline and ") Z " not in stat:
                found.append(int(entry.name))
        return found

    def read_log(self) -> str:
        try:
            return self.error_log.read_text(errors="replace")
        except OSError:
            return ""

    def log_errors(self, allowed) -> list[str]:
        """Unexpected error-level lines logged since the previous call (the
        whole log at the first), for the shared server's per-test check."""
        try:
            with open(self.error_log, "rb") as f:
                f.seek(self.log_checked)
                data = f.read()
        except OSError:
            return []
        # Only whole lines: a line being written is the next check's.
        data = data[:data.rfind(b"\n") + 1]
        self.log_checked += len(data)
        return unexpected_errors(data.decode(errors="replace"), allowed)

    def sanitizer_reports(self) -> str:
        text = ""
        for f in self.root.glob("asan*"):
            text += f.read_text(errors="replace")
        for f in self.root.glob("ubsan*"):
            text += f.read_text(errors="replace")
        return text

    def core_backtraces(self) -> list[str]:
        """For each core file crashed children left in <root>/run, the
        backtrace of the thread that took the signal (gdb's current thread
        is not always that one)."""
        traces = []
        for core in sorted((self.root / "run").glob("core*")):
            out = subprocess.run(["gdb", "-batch", "-nx", "-ex", "thread apply all bt 30",
                                  APACHE, str(core)],
                                 capture_output=True, text=True, timeout=120).stdout
            threads = re.split(r"\n(?=Thread \d+ )", out)
            faulting = [t for t in threads if "<signal handler called>" in t]
            if not faulting:
                # Without a signal frame, the thread gdb names current took
                # the signal (the others, e.g. the module's idle click
                # recorder, were only waiting).
                m = re.search(r"\[Current thread is (\d+) ", out)
                faulting = [t for t in threads if m and t.startswith(f"Thread {m.group(1)} ")]
            traces.append("\n".join(faulting) if faulting else out)
        return traces

    def known_httpd_shutdown_crash(self, log: str) -> bool:
        """httpd 2.4's event MPM can crash a child that is told to stop while it
        is still starting: apr_os_sock_get on a listener that is already gone,
        or SIGTERM's handler calling exit() while the interrupted thread was
        inside malloc (ap_thread_main_create), so that glibc aborts on its own
        half-updated heap. Only these, proven by the core's backtrace after the
        stop signal, with no frame of ours, are not counted against the module."""
        # The parent may log the child's death just before its own "caught
        # SIGTERM" line: the order of the two lines proves nothing.
        stop = log.find("caught SIGTERM, shutting down")
        if stop < 0 or not shutil.which("gdb"):
            return False

        def known(trace: str) -> bool:
            if "mod_blu8x8" in trace or "b8_" in trace:
                return False
            return "apr_os_sock_get" in trace or (
                "ap_thread_main_create" in trace and "__run_exit_handlers" in trace)

        traces = self.core_backtraces()
        return bool(traces) and all(known(t) for t in traces)

    def problems(self, allowed: re.Pattern | None = None) -> list[str]:
        log = self.read_log()
        lines = [ln for ln in log.splitlines() if CRASH_PATTERNS.search(ln)]
        if allowed is not None:
            lines = [ln for ln in lines if not allowed.search(ln)]
        if lines and self.known_httpd_shutdown_crash(log):
            lines = [ln for ln in lines if not re.search(
                r"exit signal (Segmentation fault|Abort)|^(corrupted|double free|free\(\))", ln)]
        reports = self.sanitizer_reports()
        if reports:
            lines.append(reports)
        return lines

    def count_drift(self) -> list[str]:
        """The recipient counts the triggers keep (campaign_counts) against
        the rows themselves: every test that ends with a difference fails."""
        try:
            kept = {(str(c), s): n for c, s, n in
                    self.sql("SELECT campaign_id, state, SUM(n) FROM campaign_counts "
                             "GROUP BY campaign_id, state HAVING SUM(n) <> 0")}
            rows = {(str(c), s): n for c, s, n in
                    self.sql("SELECT campaign_id, state, COUNT(*) FROM messages "
                             "WHERE campaign_id IS NOT NULL GROUP BY campaign_id, state")}
            # A message counts in its own shard only: no shard goes below zero.
            negative = self.sql("SELECT campaign_id, state, shard, n FROM campaign_counts "
                                "WHERE n < 0")
        except Exception:   # never started: no database to check
            return []
        drift = [f"campaign_counts says {kept} but the rows say {rows}"] if kept != rows else []
        drift += [f"campaign_counts has shards below zero: {negative}"] if negative else []
        return drift + self.metrics_drift()

    def metrics_drift(self) -> list[str]:
        """The metrics' counts kept by triggers: the queues (pending rows of
        the direct and SMS lanes) equal the rows; a state's counter is never
        below the rows in that state (each entered it once at least)."""
        lane = "CASE WHEN kind = 'sms' THEN 'sms' ELSE 'direct' END"
        try:
            queues = {l: n for l, n in self.sql("SELECT lane, SUM(n) FROM queue_counts "
                                                 "GROUP BY lane HAVING SUM(n) <> 0")}
            pending = {l: n for l, n in self.sql(
                f"SELECT {lane}, COUNT(*) FROM messages WHERE state = 'pending' "
                f"AND kind <> 'campaign' GROUP BY {lane}")}
            counted = {(c, s): n for c, s, n in self.sql(
                "SELECT channel, state, SUM(n) FROM message_counts GROUP BY channel, state")}
            now = self.sql("SELECT channel, state, COUNT(*) FROM messages "
                           "WHERE state <> 'pending' GROUP BY channel, state")
        except Exception:   # no metrics tables (an older schema under test)
            return []
        drift = [f"queue_counts says {queues} but the rows say {pending}"] \
            if queues != pending else []
        short = [(c, s, counted.get((c, s), 0), n) for c, s, n in now
                 if counted.get((c, s), 0) < n]
        return drift + ([f"message_counts below the rows (channel, state, counted, rows): "
                         f"{short}"] if short else [])

    def sql(self, query: str, params=()):
        """Reads the database directly (tests only; the module owns writes).
        SQLite's ? placeholders, on either database; rows as tuples."""
        if DB == "pgsql":
            con = pg_connect(self.pg_db)
            try:
                con.set_session(readonly=True, autocommit=True)
                cur = con.cursor()
                cur.execute(query.replace("?", "%s"), tuple(params))
                return [tuple(r) for r in cur.fetchall()]
            finally:
                con.close()
        import sqlite3
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(query, params).fetchall()
        finally:
            con.close()

    def write_sql(self, query: str, params=()):
        """Writes to the database behind the module's back (tests that set up
        a state another component would make). Returns the new row's id of
        an INSERT (lastrowid)."""
        if DB == "pgsql":
            q = query.replace("?", "%s")
            insert = q.lstrip().upper().startswith("INSERT") and "RETURNING" not in q.upper()
            con = pg_connect(self.pg_db)
            try:
                with con:
                    cur = con.cursor()
                    cur.execute(q + (" RETURNING id" if insert else ""), tuple(params))
                    return cur.fetchone()[0] if insert else None
            finally:
                con.close()
        import sqlite3
        con = sqlite3.connect(str(self.db_path), timeout=10)
        try:
            with con:
                return con.execute(query, params).lastrowid
        finally:
            con.close()
            if os.geteuid() == 0:   # files the module's user must still write
                for suffix in ("-wal", "-shm"):
                    f = pathlib.Path(str(self.db_path) + suffix)
                    if f.exists() and f.stat().st_uid == 0:
                        shutil.chown(f, "www-data", "www-data")

    def drop_database(self) -> None:
        """PostgreSQL: drops the server's database (stop every server on it first)."""
        if DB == "pgsql" and self.pg_db and self.owns_db:
            pg_drop_database(self.pg_db)
            self.pg_db = None


def new_root() -> pathlib.Path:
    path = pathlib.Path(tempfile.mkdtemp(prefix="b8test-"))
    os.chmod(path, 0o755)
    return path


@pytest.fixture(scope="session")
def eightx8():
    s = EightByEight().start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def openai():
    s = OpenAI().start()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _reset_standins(request):
    for name in ("eightx8", "openai"):
        if name in request.fixturenames:
            request.getfixturevalue(name).reset()
    yield


_servers: list[Httpd] = []
# The log tags the running test expects at level error (its expect_log marks
# and expect_log() calls).
_expected: set[str] = set()


@pytest.fixture(autouse=True)
def _expected_tags(request):
    _expected.clear()
    for mark in request.node.iter_markers("expect_log"):
        _expected.update(mark.args)
    yield
    _expected.clear()


@pytest.fixture
def expect_log():
    """expect_log("B8-0123", ...): these error-level lines are expected by the test."""
    def add(*tags):
        _expected.update(tags)
    return add


@pytest.fixture
def make_server(eightx8, openai, _expected_tags):
    """Factory: make_server(directives="", worker=True, start=True) -> Httpd."""
    made = []

    def factory(directives: str = "", worker: bool = True, start: bool = True,
                share_db_with: Httpd | None = None, **kw) -> Httpd:
        """kw: webhook_auth (None: no Blu8x8WebhookAuthorization), standin_urls."""
        h = Httpd(new_root(), directives, eightx8, openai, worker, share_db_with, **kw)
        made.append(h)
        _servers.append(h)
        return h.start() if start else h

    yield factory
    for h in made:
        h.stop()
    drift = [p for h in made for p in h.count_drift()]
    for h in made:
        h.drop_database()
    problems = drift + [p for h in made for p in h.problems(getattr(factory, "allowed", None))]
    problems += [p for h in made for p in h.log_errors(_expected)]
    for h in made:
        if not problems:
            shutil.rmtree(h.root, ignore_errors=True)
    assert not problems, "server problems:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def server(eightx8, openai):
    """One server for a test module (the module's tests share its database)."""
    h = Httpd(new_root(), "", eightx8, openai).start()
    _servers.append(h)
    yield h
    close_module_server(h)


def close_module_server(h: Httpd) -> None:
    """The end of a test module's own server: stopped, its database dropped,
    its files kept only when it went wrong (counts that drifted, crashes,
    error-level lines). What the last test left and the stop itself: nothing
    is expected there."""
    h.stop()
    drift = h.count_drift()
    h.drop_database()
    problems = drift + h.problems() + h.log_errors(set())
    if not problems:
        shutil.rmtree(h.root, ignore_errors=True)
    assert not problems, "server problems:\n" + "\n".join(problems)


@pytest.fixture
def api(server):
    """Admin client of the shared server."""
    return server.client


@pytest.fixture(autouse=True)
def _check_shared_server_log(request, _expected_tags):
    """The shared server's log after each test: crashes anywhere in it, and
    unexpected error-level lines logged since the previous test's check (the
    first test answers for the server's start too)."""
    yield
    if "server" in request.fixturenames:
        h = request.getfixturevalue("server")
        problems = h.problems() + h.log_errors(_expected)
        assert not problems, "server problems:\n" + "\n".join(problems)


def pytest_sessionfinish(session, exitstatus):
    for h in _servers:
        h.stop()
    for h in _servers:
        h.drop_database()
