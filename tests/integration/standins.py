#!/usr/bin/python3
"""Controllable stand-ins for the 8x8 (Chat Apps + SMS) and OpenAI HTTP APIs.

mod_blu8x8 talks to three external services. The integration tests cannot use
the real ones (cost, rate limits, no way to make them fail on cue), so they
start these fakes on 127.0.0.1 and point the module's base URLs at them.

Each stand-in:

* answers like the real service (bodies from /work/shared/8x8-API.md),
* records every request so tests can assert on what the module sent,
* can be scripted to fail, slow down, hang or drop the connection, so the
  module's retry, timeout and fallback code paths can be tested,
* speaks HTTP/1.1 with keep-alive, because the module reuses connections and
  the tests check that it does (each request records its connection id).

Only the Python standard library is used, because the test machine has
nothing else but pytest.

Run from the command line for benchmarks:

    /usr/bin/python3 tests/integration/standins.py --port 9001 --latency 0.05
    /usr/bin/python3 tests/integration/standins.py --port 9002 --openai
"""

from __future__ import annotations

import argparse
import collections
import datetime
import itertools
import json
import re
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional, Union

try:  # beside this file; the schema needs python3-jsonschema
    import eightx8_schema
except ImportError:  # pragma: no cover - run as a script from elsewhere
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
    import eightx8_schema

__all__ = ["RecordedRequest", "StandIn", "EightByEight", "OpenAI", "main"]


def utc_timestamp() -> str:
    """Now as ISO 8601 UTC with milliseconds and a 'Z', the way 8x8 writes it."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class RecordedRequest:
    """One request as the stand-in received it.

    ``headers`` is an ``email.message.Message`` so lookups are
    case-insensitive (``req.headers["authorization"]``). ``json`` is the
    parsed body, or None when the body is empty or not valid JSON.
    ``connection_id`` is the same for requests that arrived over one TCP
    connection, which is how tests prove keep-alive reuse.
    """

    method: str
    path: str  # path only, without the query string
    target: str  # the raw request target, query string included
    headers: Message
    body: bytes
    json: Any
    time: float  # time.monotonic() when the request had been read
    connection_id: int

    @property
    def query(self) -> str:
        """The query string (without '?'), or ''."""
        return self.target.partition("?")[2]


# A scripted body may be fixed data or a function of the request, so that
# error bodies can get a fresh errorId/timestamp on every use.
Body = Union[None, bytes, str, dict, list, Callable[[RecordedRequest], Any]]


@dataclass
class _Scripted:
    """One queued behaviour; consumed by the next matching requests."""

    action: str  # "answer", "hang" or "close"
    status: int = 200
    body: Body = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    remaining: Optional[int] = 1  # None: never used up
    path_contains: Optional[str] = None

    def matches(self, path: str) -> bool:
        return self.path_contains is None or self.path_contains in path


class _Server(ThreadingHTTPServer):
    """Threaded server: a slow or hung answer never blocks other connections."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # benchmarks open many connections at once

    def __init__(self, address, handler, standin: "StandIn"):
        self.standin = standin
        super().__init__(address, handler)

    def handle_error(self, request, client_address):
        """Stay quiet when a client goes away; keep real bugs for inspection."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # reset, broken pipe, closed by stop()
            return
        self.standin._note_error(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    """Thin adapter: every request goes to the owning StandIn's _handle()."""

    protocol_version = "HTTP/1.1"  # keep-alive unless the client says close
    server_version = "StandIn/1.0"
    sys_version = ""
    # Headers and body go out in separate writes; with Nagle on, a keep-alive
    # client could stall ~40 ms on delayed ACKs and skew latency numbers.
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        self.connection_id = self.server.standin._register_connection(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.standin._forget_connection(self.connection)

    def log_message(self, format, *args):  # noqa: A002 - signature from base class
        """Silence the per-request log lines: pytest output stays readable."""

    def _dispatch(self):
        self.server.standin._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch


class StandIn:
    """Base class: server lifecycle, request recording and response scripting.

    Subclasses implement ``_answer(request)`` (the normal behaviour of the
    service) and ``error_body(status, code, message)`` (its error shape).

    Order of decisions for every request: record it; if a scripted entry
    matches, it wins (even over the auth check, so tests get exactly what
    they scripted); otherwise the subclass answers normally.
    """

    #: Name used in the CLI banner.
    name = "stand-in"

    def __init__(self, port: int = 0, host: str = "127.0.0.1",
                 latency: float = 0.0, api_key: Optional[str] = None,
                 record: bool = True):
        self.host = host
        #: False keeps memory flat in long benchmark runs: requests,
        #: ``accepted`` and ``umids`` are then not stored.
        self.record = record
        self.port = port
        #: Seconds added before every answer (and before a scripted close).
        self.latency = latency
        #: When set, requests must carry ``Authorization: Bearer <api_key>``.
        self.api_key = api_key
        #: Tracebacks of unexpected exceptions inside the stand-in itself.
        self.errors: list[str] = []
        self._cond = threading.Condition()
        self._requests: list[RecordedRequest] = []
        # Requests per whole second of time.monotonic(), kept even when
        # record is False (benchmarks: the highest count against 8x8's limit).
        self._per_second: dict[int, int] = {}
        self._script: list[_Scripted] = []
        self._connection_ids = itertools.count(1)
        self._open_connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    # ----------------------------------------------------------- lifecycle

    def start(self) -> "StandIn":
        """Bind (port 0 picks a free port) and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError(f"{self.name} already started")
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _Handler, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{self.name}:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release hung answers and drop open connections.

        Safe to call twice. After stop() the port refuses connections, which
        tests can use to simulate the service being down.
        """
        if self._server is None:
            return
        self._stopping.set()  # wakes hang() and delayed answers
        self._server.shutdown()
        self._server.server_close()
        with self._cond:
            sockets = list(self._open_connections)
        for sock in sockets:  # unblock threads waiting on idle keep-alive reads
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "StandIn":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    # ----------------------------------------------------------- recording

    def max_per_second(self) -> int:
        """The most requests received within one whole second."""
        with self._cond:
            return max(self._per_second.values(), default=0)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot (copy) of the requests recorded so far, oldest first."""
        with self._cond:
            return list(self._requests)

    @property
    def connection_ids(self) -> set[int]:
        """Distinct connection ids seen in the recorded requests."""
        return {r.connection_id for r in self.requests}

    def wait_for(self, count: int, timeout: float = 5.0,
                 path_contains: Optional[str] = None) -> bool:
        """Wait until at least ``count`` (matching) requests are recorded.

        The module sends asynchronously, so tests wait for the traffic
        instead of sleeping a fixed time. Returns False on timeout.
        """
        def enough() -> bool:
            if path_contains is None:
                return len(self._requests) >= count
            return sum(path_contains in r.path for r in self._requests) >= count

        with self._cond:
            return self._cond.wait_for(enough, timeout=timeout)

    def clear(self) -> None:
        """Forget recorded requests (and subclass counters); keep scripts."""
        with self._cond:
            self._requests.clear()
            self._per_second.clear()
            self._clear_records()

    def clear_script(self) -> None:
        """Drop scripted behaviours that have not been used yet."""
        with self._cond:
            self._script.clear()

    def reset(self) -> None:
        """Back to a fresh state: records, scripts, latency, subclass setup.

        Lets one server live for a whole pytest session while every test
        starts clean.
        """
        with self._cond:
            self._requests.clear()
            self._per_second.clear()
            self._script.clear()
            self._clear_records()
            self._reset_config()
        self.latency = 0.0
        self.errors.clear()

    # ----------------------------------------------------------- scripting

    def script(self, status: int, body: Body = None, headers: Optional[dict] = None,
               delay: float = 0.0, times: Optional[int] = 1,
               path_contains: Optional[str] = None) -> None:
        """Queue an answer for the next ``times`` matching requests.

        ``body`` may be a dict/list (sent as JSON), str, bytes or a function
        ``f(request) -> body``. With ``body=None`` and a status below 400 the
        normal answer is produced (auth check and bookkeeping included) and
        only its status, extra headers and ``delay`` come from the script;
        with ``body=None`` and an error status, the service's usual error body
        is sent. ``times=None`` repeats until ``clear_script()``.
        ``path_contains`` restricts the entry to paths containing that text,
        so Viber and SMS scripts on one server don't consume each other.
        Entries are used in the order they were queued.
        """
        if body is None and status >= 400:
            body = lambda req, s=status: self.error_body(s)  # noqa: E731
        self._push(_Scripted("answer", status, body, dict(headers or {}), delay,
                             times, path_contains))

    def fail(self, status: int, code: Any = None, message: Optional[str] = None,
             times: Optional[int] = 1, headers: Optional[dict] = None,
             delay: float = 0.0, path_contains: Optional[str] = None) -> None:
        """Queue an error answer in the service's own error-body shape."""
        body = lambda req: self.error_body(status, code, message)  # noqa: E731
        self.script(status, body, headers, delay, times, path_contains)

    def rate_limit(self, retry_after: Union[int, float, str] = 1,
                   times: Optional[int] = 1, path_contains: Optional[str] = None) -> None:
        """Queue HTTP 429 with a ``Retry-After`` header, as both services send."""
        self.fail(429, times=times, headers={"Retry-After": str(retry_after)},
                  path_contains=path_contains)

    def hang(self, times: Optional[int] = 1, path_contains: Optional[str] = None) -> None:
        """Read the next request fully, then never answer until stop().

        The connection stays open, so the module's own timeouts must fire.
        """
        self._push(_Scripted("hang", remaining=times, path_contains=path_contains))

    def close_before_answer(self, times: Optional[int] = 1, delay: float = 0.0,
                            path_contains: Optional[str] = None) -> None:
        """Read the next request, then close the socket without answering.

        The client sees an empty reply / remote disconnect, like a crashed
        upstream or a load balancer dropping the connection.
        """
        self._push(_Scripted("close", delay=delay, remaining=times,
                             path_contains=path_contains))

    def _push(self, entry: _Scripted) -> None:
        if entry.remaining is not None and entry.remaining < 1:
            raise ValueError("times must be >= 1 or None")
        with self._cond:
            self._script.append(entry)

    def _take_script(self, path: str) -> Optional[_Scripted]:
        """Consume one use of the first queued entry matching ``path``."""
        with self._cond:
            for i, entry in enumerate(self._script):
                if entry.matches(path):
                    if entry.remaining is not None:
                        entry.remaining -= 1
                        if entry.remaining == 0:
                            del self._script[i]
                    return entry
        return None

    # ----------------------------------------------------------- subclass hooks

    def error_body(self, status: int, code: Any = None, message: Optional[str] = None) -> Any:
        """The service's error body for ``status``; overridden by subclasses."""
        return {"message": message or "error", "code": code}

    def _answer(self, req: RecordedRequest) -> tuple[int, Any, dict]:
        """Normal answer: (status, body, extra headers). Overridden."""
        return 404, self.error_body(404), {}

    def _clear_records(self) -> None:
        """Reset subclass counters. Called with the lock held."""

    def _reset_config(self) -> None:
        """Reset subclass configuration. Called with the lock held."""

    def _authorized(self, req: RecordedRequest) -> bool:
        """True when no key is configured or the Bearer token matches."""
        return self.api_key is None or \
            req.headers.get("Authorization", "") == f"Bearer {self.api_key}"

    # ----------------------------------------------------------- plumbing

    def _register_connection(self, sock: socket.socket) -> int:
        with self._cond:
            self._open_connections.add(sock)
            return next(self._connection_ids)

    def _forget_connection(self, sock: socket.socket) -> None:
        with self._cond:
            self._open_connections.discard(sock)

    def _note_error(self, text: str) -> None:
        with self._cond:
            self.errors.append(text)

    def _handle(self, handler: _Handler) -> None:
        """Record the request, then answer, hang or drop as scripted."""
        body = self._read_body(handler)
        path = handler.path.partition("?")[0]
        parsed = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        req = RecordedRequest(handler.command, path, handler.path, handler.headers,
                              body, parsed, time.monotonic(), handler.connection_id)
        with self._cond:
            second = int(req.time)
            self._per_second[second] = self._per_second.get(second, 0) + 1
            if self.record:
                self._requests.append(req)
                self._cond.notify_all()

        entry = self._take_script(path)
        if entry is not None and entry.action == "hang":
            self._stopping.wait()
            handler.close_connection = True
            return

        wait = self.latency + (entry.delay if entry else 0.0)
        if wait > 0 and self._stopping.wait(wait):
            handler.close_connection = True  # stopping: don't answer late
            return

        if entry is not None and entry.action == "close":
            handler.close_connection = True  # the server then closes the socket
            return

        headers: dict = {}
        if entry is not None and entry.body is not None:
            status, payload = entry.status, entry.body
            if callable(payload):
                payload = payload(req)
        else:
            status, payload, headers = self._answer(req)
            if entry is not None and status < 400:
                status = entry.status  # scripted status, normal body
        if entry is not None:
            headers = {**headers, **entry.headers}
        self._send(handler, status, payload, headers)

    @staticmethod
    def _read_body(handler: _Handler) -> bytes:
        """Read the whole request body (Content-Length, or chunked as a courtesy)."""
        if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size_line = handler.rfile.readline()
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # skip trailers
                    return b"".join(chunks)
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()  # CRLF after each chunk
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length > 0 else b""

    @staticmethod
    def _send(handler: _Handler, status: int, payload: Any, headers: dict) -> None:
        """Write one response, always with Content-Length (keep-alive needs it)."""
        if payload is None:
            data = b""
        elif isinstance(payload, bytes):
            data = payload
        elif isinstance(payload, str):
            data = payload.encode("utf-8")
        else:
            data = json.dumps(payload).encode("utf-8")
        names = {k.lower() for k in headers}
        handler.send_response(status)
        if "content-type" not in names:
            handler.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            if name.lower() != "content-length":
                handler.send_header(name, str(value))
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)


# 8x8 error codes used by default for each HTTP status (from the API notes).
# The notes name no code for 429; 1100 "bulk limit reached" is the closest.
_EIGHT_CODES = {400: (1000, "Invalid parameter"), 401: (1200, "Unauthorized"),
                403: (1201, "Forbidden"), 404: (1300, "Not found"),
                422: (1000, "Invalid parameter"), 429: (1100, "Too many requests"),
                500: (2000, "Internal error")}

_MESSAGES_PATH = re.compile(r"^/api/v1/subaccounts/([^/]+)/messages(/batch)?/?$")
_BATCH_LIMIT = 10_000


class EightByEight(StandIn):
    """Fake 8x8: Chat Apps (Viber) and SMS, single and batch sends.

    Both products use the same paths, so one instance can serve as both the
    Chat Apps and the SMS base URL: a body with ``user`` is a Viber message,
    one with ``destination`` is an SMS.

    Bookkeeping for assertions (accepted messages only):

    * ``sends_by_msisdn``: Counter phone -> accepted sends (proves nobody is
      messaged twice),
    * ``umids``: clientMessageId -> umid we answered,
    * ``accepted``: list of dicts {channel, sub_account, msisdn,
      clientMessageId, umid, batch, message (template merged in)}.
    """

    name = "8x8"

    def __init__(self, *args, validate: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.sends_by_msisdn: collections.Counter = collections.Counter()
        self.umids: dict[str, str] = {}
        self.accepted: list[dict] = []
        self._rejected: dict[str, tuple[int, str]] = {}
        #: Check every send body against 8x8's official OpenAPI schema
        #: (eightx8_schema) and refuse it as 8x8 would (400, code 1000).
        self.validate = validate
        #: "<path>: <problem>" of every refused body, for assertions.
        self.schema_errors: list[str] = []
        self._outage_timer: Optional[threading.Timer] = None
        self._in_outage = False

    # ------------------------------------------------------------ failures

    def refuse_account(self, status: int = 401, code: int = 1200,
                       message: str = "Request was not authenticated properly",
                       times: Optional[int] = None,
                       path_contains: Optional[str] = None) -> None:
        """Answer like 8x8 refusing the account (401/1200 by default; 403
        1201, 426 1014 or 400 1001 "sub-account not yours" are the others
        its documents show), until clear_script() when times is None."""
        self.fail(status, code, message, times=times, path_contains=path_contains)

    def outage(self, seconds: Optional[float] = None) -> None:
        """8x8 goes away: the port refuses connections (nothing is sent).
        After ``seconds`` (None: until back()) it listens again on the same
        port."""
        self.stop()
        self._in_outage = True
        if seconds is not None:
            self._outage_timer = threading.Timer(seconds, self.back)
            self._outage_timer.daemon = True
            self._outage_timer.start()

    def back(self) -> None:
        """The end of an outage: listening again on the same port."""
        if self._in_outage and self._server is None:
            self.start()
        self._in_outage = False

    def reset(self) -> None:
        """Also ends an outage a test left behind."""
        if self._outage_timer is not None:
            self._outage_timer.cancel()
            self._outage_timer = None
        self.back()
        super().reset()

    def reject_msisdn(self, phone: str, code: int = 1002,
                      message: str = "Invalid MSISDN") -> None:
        """Reject every message to ``phone``.

        In a batch the message comes back with status rejected (the batch
        still succeeds); a single send gets HTTP 400 with an 8x8 error body.
        """
        with self._cond:
            self._rejected[phone] = (code, message)

    def error_body(self, status: int, code: Any = None, message: Optional[str] = None) -> dict:
        default_code, default_message = _EIGHT_CODES.get(status, (2000, "Error"))
        return {"code": default_code if code is None else code,
                "message": message or default_message,
                "errorId": str(uuid.uuid4()), "timestamp": utc_timestamp()}

    def _clear_records(self) -> None:
        self.sends_by_msisdn.clear()
        self.umids.clear()
        self.accepted.clear()
        self.schema_errors.clear()

    def _reset_config(self) -> None:
        self._rejected.clear()
        self.validate = True

    # ------------------------------------------------------------ routing

    def _answer(self, req: RecordedRequest) -> tuple[int, Any, dict]:
        match = _MESSAGES_PATH.match(req.path)
        if req.method != "POST" or match is None:
            return 404, self.error_body(404, message=f"No route for {req.method} {req.path}"), {}
        if not self._authorized(req):
            return 401, self.error_body(401), {}
        if not isinstance(req.json, dict):
            return 400, self.error_body(400, message="Request body must be a JSON object"), {}
        if self.validate:
            kind = eightx8_schema.kind_of(req.path, req.json)
            problems = eightx8_schema.errors(kind, req.json) if kind else ["unknown body"]
            if problems:
                with self._cond:
                    self.schema_errors.extend(f"{req.path}: {p}" for p in problems)
                return 400, self.error_body(400, 1000, "Invalid parameter: "
                                            + "; ".join(problems)), {}
        sub_account, batch = match.group(1), bool(match.group(2))
        if batch:
            return self._batch(sub_account, req.json)
        return self._single(sub_account, req.json)

    @staticmethod
    def _channel_and_phone(msg: dict) -> tuple[Optional[str], Optional[str]]:
        """('viber', msisdn) or ('sms', destination) or (None, None)."""
        user = msg.get("user")
        if isinstance(user, dict) and user.get("msisdn"):
            return "viber", user["msisdn"]
        if msg.get("destination"):
            return "sms", msg["destination"]
        return None, None

    def _single(self, sub_account: str, msg: dict) -> tuple[int, Any, dict]:
        channel, phone = self._channel_and_phone(msg)
        if channel is None:
            return 400, self.error_body(400, message="user.msisdn or destination is required"), {}
        with self._cond:
            rejection = self._rejected.get(phone)
        if rejection is not None:
            return 400, self.error_body(400, *rejection), {}
        umid = self._accept(channel, sub_account, phone, msg, batch=False)
        return 200, self._success_item(channel, phone, msg, umid), {}

    def _batch(self, sub_account: str, body: dict) -> tuple[int, Any, dict]:
        template = body.get("template") or {}
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not isinstance(template, dict):
            return 400, self.error_body(400, message="messages must be a non-empty array"), {}
        if len(messages) > _BATCH_LIMIT:
            return 400, self.error_body(400, 1100, "Bulk limit reached"), {}

        items, accepted = [], 0
        for raw in messages:
            msg = _merge(template, raw if isinstance(raw, dict) else {})
            channel, phone = self._channel_and_phone(msg)
            with self._cond:
                rejection = self._rejected.get(phone) if phone else (1000, "Invalid parameter")
            if rejection is None:
                umid = self._accept(channel, sub_account, phone, msg, batch=True)
                items.append(self._success_item(channel, phone, msg, umid))
                accepted += 1
            else:
                items.append(self._rejected_item(channel, phone, msg, *rejection))

        answer = {"batchId": str(uuid.uuid4()),
                  "clientBatchId": body.get("clientBatchId"),
                  "acceptedCount": accepted,
                  "rejectedCount": len(items) - accepted}
        # Like 8x8: per-message results only when the client asks for them.
        if body.get("includeMessagesInResponse"):
            answer["messages"] = items
        return 200, answer, {}

    # ------------------------------------------------------------ bodies

    def _accept(self, channel: str, sub_account: str, phone: str, msg: dict,
                batch: bool) -> str:
        umid = str(uuid.uuid4())
        cmid = msg.get("clientMessageId")
        with self._cond:
            self.sends_by_msisdn[phone] += 1
            if not self.record:
                return umid
            if cmid:
                self.umids[cmid] = umid
            self.accepted.append({"channel": channel, "sub_account": sub_account,
                                  "msisdn": phone, "clientMessageId": cmid,
                                  "umid": umid, "batch": batch, "message": msg})
        return umid

    @staticmethod
    def _success_item(channel: str, phone: str, msg: dict, umid: str) -> dict:
        item: dict = {"umid": umid, "clientMessageId": msg.get("clientMessageId")}
        if channel == "viber":
            item["user"] = {"msisdn": phone}
            item["status"] = {"state": "queued", "timestamp": utc_timestamp()}
        else:
            item["destination"] = phone
            item["encoding"] = _sms_encoding(msg)
            item["status"] = {"code": "QUEUED",
                              "description": "SMS is accepted and queued for processing"}
        return item

    @staticmethod
    def _rejected_item(channel: Optional[str], phone: Optional[str], msg: dict,
                       code: int, message: str) -> dict:
        item: dict = {"umid": str(uuid.uuid4()), "clientMessageId": msg.get("clientMessageId")}
        if channel == "sms":
            item["destination"] = phone
            item["status"] = {"code": "REJECTED", "description": message,
                              "errorCode": code, "errorMessage": message}
        else:
            item["user"] = {"msisdn": phone}
            item["status"] = {"state": "rejected", "errorCode": code,
                              "errorMessage": message, "timestamp": utc_timestamp()}
        return item


def _merge(template: dict, message: dict) -> dict:
    """Batch message = template overlaid with the message's own fields.

    Nested objects (``content``, ``user``, ``sms``) are merged one level deep
    so a per-message ``content.text`` keeps the template's ``content.url``.
    """
    merged = dict(template)
    for key, value in message.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _sms_encoding(msg: dict) -> str:
    """Encoding 8x8 reports: the requested one, or a rough GSM7/UCS2 guess for AUTO."""
    requested = str(msg.get("encoding") or "AUTO").upper()
    if requested in ("GSM7", "UCS2"):
        return requested
    text = str(msg.get("text") or "")
    return "GSM7" if all(ord(c) < 128 for c in text) else "UCS2"


_OPENAI_ERRORS = {
    400: ("invalid_request_error", None, "Invalid request"),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided"),
    403: ("invalid_request_error", "unsupported_country_region_territory",
          "Country, region, or territory not supported"),
    404: ("invalid_request_error", "model_not_found", "The model does not exist"),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests"),
    500: ("server_error", None, "The server had an error while processing your request"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later"),
}


# Parameters the o-series (reasoning models) refuse, as OpenAI's reasoning
# guide lists them; o1-mini and o1-preview also refuse system and developer
# messages.
_REASONING_REFUSED = ("temperature", "top_p", "presence_penalty", "frequency_penalty",
                      "logprobs", "top_logprobs", "logit_bias", "max_tokens")
#: Hidden reasoning tokens the stand-in's o-series "spend" before answering:
#: a smaller max_completion_tokens gives an empty reply, as o1 does.
REASONING_TOKENS = 1500


def is_reasoning_model(model: Any) -> bool:
    return isinstance(model, str) and len(model) > 1 and model[0] == "o" and model[1].isdigit()


class OpenAI(StandIn):
    """Fake OpenAI chat completions.

    The reply text is ``reply_fn(request_json)`` when set (and not None),
    otherwise ``reply``. Tests use reply_fn to answer the module's intent
    question ("Yes"/"No") differently from the chat reply.

    Every request body is checked against CreateChatCompletionRequest of
    OpenAI's OpenAPI document (tests/reference/) and the o-series rules;
    an invalid one is answered 400 as OpenAI does, and ``invalid_requests``
    lists them (scripted answers included) for tests to assert there are none.
    """

    name = "openai"
    DEFAULT_REPLY = "Thanks for asking! Our team will get back to you shortly."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reply: str = self.DEFAULT_REPLY
        self.reply_fn: Optional[Callable[[Any], Optional[str]]] = None

    def _reset_config(self) -> None:
        self.reply = self.DEFAULT_REPLY
        self.reply_fn = None

    def error_body(self, status: int, code: Any = None, message: Optional[str] = None,
                   type: Optional[str] = None, param: Optional[str] = None) -> dict:  # noqa: A002
        """OpenAI's documented error object: message, type, param, code."""
        default_type, default_code, default_message = _OPENAI_ERRORS.get(
            status, ("server_error", None, "Error"))
        if code == "insufficient_quota":  # OpenAI's quota 429 uses it as type too
            default_type = code
        return {"error": {"message": message or default_message,
                          "type": type or default_type,
                          "param": param,
                          "code": default_code if code is None else code}}

    # ----------------------------------------------------------- scripting

    def quota_exhausted(self, times: Optional[int] = 1) -> None:
        """429 insufficient_quota: no retry can succeed until billing changes."""
        self.fail(429, "insufficient_quota",
                  "You exceeded your current quota, please check your plan and billing "
                  "details.", times=times)

    def rate_limited_ms(self, ms: int, times: Optional[int] = 1) -> None:
        """429 rate_limit_exceeded with OpenAI's headers: retry-after-ms exact,
        retry-after rounded up to whole seconds."""
        self.fail(429, "rate_limit_exceeded",
                  f"Rate limit reached for requests. Please try again in {ms}ms.",
                  times=times, headers={"retry-after-ms": str(ms),
                                        "retry-after": str(max(1, -(-ms // 1000)))})

    # ----------------------------------------------------------- validation

    @staticmethod
    def request_problem(body: Any) -> Optional[tuple[str, Optional[str], str]]:
        """(code, param, message) as OpenAI would refuse body; None when valid."""
        import openai_schema  # the schema loader (python3-jsonschema)

        found = openai_schema.first_problem(body)
        if found is not None:
            param, message = found
            missing = re.match(r"'([^']+)' is a required property", message)
            if missing:
                name = f"{param}.{missing.group(1)}" if param else missing.group(1)
                return ("missing_required_parameter", name,
                        f"Missing required parameter: '{name}'.")
            return "invalid_value", param, f"Invalid value for '{param or 'body'}': {message}"
        model = body.get("model")
        if is_reasoning_model(model):
            for key in _REASONING_REFUSED:
                if key in body:
                    hint = " Use 'max_completion_tokens' instead." if key == "max_tokens" else ""
                    return ("unsupported_parameter", key,
                            f"Unsupported parameter: '{key}' is not supported with this "
                            f"model.{hint}")
            if model.startswith(("o1-mini", "o1-preview")):
                for i, m in enumerate(body["messages"]):
                    if m.get("role") in ("system", "developer"):
                        return ("unsupported_value", f"messages[{i}].role",
                                f"Unsupported value: 'messages[{i}].role' does not support "
                                f"'{m['role']}' with this model.")
        return None

    @property
    def invalid_requests(self) -> list[tuple[RecordedRequest, str]]:
        """Every recorded chat request whose body OpenAI would refuse."""
        out = []
        for req in self.requests:
            if req.path.rstrip("/") != "/v1/chat/completions":
                continue
            problem = self.request_problem(req.json) if isinstance(req.json, dict) else \
                ("invalid_request_error", None, "the body is not a JSON object")
            if problem:
                out.append((req, problem[2]))
        return out

    def _answer(self, req: RecordedRequest) -> tuple[int, Any, dict]:
        if req.method != "POST" or req.path.rstrip("/") != "/v1/chat/completions":
            return 404, self.error_body(
                404, code="unknown_url",
                message=f"Invalid URL ({req.method} {req.path})"), {}
        if not self._authorized(req):
            return 401, self.error_body(401), {}
        body = req.json
        if not isinstance(body, dict):
            return 400, self.error_body(
                400, message="We could not parse the JSON body of your request."), {}
        problem = self.request_problem(body)
        if problem is not None:
            code, param, message = problem
            return 400, self.error_body(400, code=code, message=message, param=param), {}

        reply = self.reply_fn(body) if self.reply_fn is not None else None
        if reply is None:
            reply = self.reply
        prompt_tokens = sum(len(str(m.get("content", "")).split())
                            for m in body["messages"] if isinstance(m, dict))
        completion_tokens = len(reply.split())
        reasoning = REASONING_TOKENS if is_reasoning_model(body.get("model")) else 0
        finish = "stop"
        cap = body.get("max_completion_tokens")
        if reasoning and cap is not None and cap < reasoning + completion_tokens:
            # The cap ran out while the model was still reasoning: no text.
            reply, completion_tokens, finish = "", 0, "length"
        return 200, {
            "id": "chatcmpl-" + uuid.uuid4().hex[:24],
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [{"index": 0,
                         "message": {"role": "assistant", "content": reply},
                         "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt_tokens,
                      "completion_tokens": completion_tokens + reasoning,
                      "total_tokens": prompt_tokens + completion_tokens + reasoning,
                      "completion_tokens_details": {"reasoning_tokens": reasoning}},
        }, {}


def main(argv: Optional[list] = None) -> int:
    """Run one stand-in in the foreground until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds added to every answer")
    parser.add_argument("--api-key", default=None,
                        help="require 'Authorization: Bearer KEY'")
    parser.add_argument("--openai", action="store_true",
                        help="serve OpenAI chat completions instead of 8x8")
    parser.add_argument("--no-validate", action="store_true",
                        help="8x8: do not check bodies against 8x8's schema (benchmarks)")
    args = parser.parse_args(argv)

    if args.openai:
        server = OpenAI(port=args.port, host=args.host, latency=args.latency,
                        api_key=args.api_key, record=False)
    else:
        server = EightByEight(port=args.port, host=args.host, latency=args.latency,
                              api_key=args.api_key, record=False,
                              validate=not args.no_validate)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    server.start()
    print(f"{server.name} stand-in listening on {server.url}", flush=True)
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        print(f"max per second: {server.max_per_second()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
