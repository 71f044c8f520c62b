"""Tests of the 8x8/OpenAI stand-ins themselves.

The module's integration tests trust these fakes to behave like the real
services and to fail exactly as scripted; a bug here would make those tests
pass or fail for the wrong reason. Only urllib/http.client are used, so the
checks don't depend on the module under test.
"""

import http.client
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from standins import EightByEight, OpenAI  # noqa: E402

VIBER = "/api/v1/subaccounts/Blu_Viber/messages"
SMS = "/api/v1/subaccounts/Blu_SMS/messages"
CHAT = "/v1/chat/completions"


@pytest.fixture
def eight():
    with EightByEight() as server:
        yield server
    assert server.errors == []  # no exception inside the stand-in itself


@pytest.fixture
def openai():
    with OpenAI() as server:
        yield server
    assert server.errors == []


def post(server, path, body, headers=None, timeout=5.0):
    """POST JSON; return (status, headers, parsed body) even for HTTP errors."""
    req = urllib.request.Request(server.url + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          **(headers or {})}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers, json.loads(err.read())


def viber(phone, cmid="cm-1", text="Hello"):
    return {"user": {"msisdn": phone}, "clientMessageId": cmid,
            "type": "text", "content": {"text": text}}


def sms(phone, cmid="sm-1", text="Your order shipped"):
    return {"destination": phone, "clientMessageId": cmid, "text": text,
            "source": "Blu Orders", "encoding": "AUTO"}


# ------------------------------------------------------------------ 8x8 bodies

def test_viber_success_body(eight):
    status, _, body = post(eight, VIBER, viber("+639170000001", "cm-42"))
    assert status == 200
    assert body["clientMessageId"] == "cm-42"
    assert body["user"] == {"msisdn": "+639170000001"}
    assert body["status"]["state"] == "queued"
    assert body["status"]["timestamp"].endswith("Z")
    assert eight.umids == {"cm-42": body["umid"]}
    assert eight.accepted[0]["channel"] == "viber"
    assert eight.accepted[0]["sub_account"] == "Blu_Viber"


def test_sms_success_body(eight):
    status, _, body = post(eight, SMS, sms("+639170000002", "sm-7"))
    assert status == 200
    assert body["destination"] == "+639170000002"
    assert body["clientMessageId"] == "sm-7"
    assert body["encoding"] == "GSM7"
    assert body["status"] == {"code": "QUEUED",
                              "description": "SMS is accepted and queued for processing"}
    assert body["umid"] == eight.umids["sm-7"]


def test_request_is_recorded(eight):
    post(eight, VIBER + "?x=1", viber("+639170000001"), headers={"X-Trace": "abc"})
    assert eight.wait_for(1, timeout=1)
    req = eight.requests[0]
    assert (req.method, req.path, req.query) == ("POST", VIBER, "x=1")
    assert req.headers["x-trace"] == "abc"  # case-insensitive
    assert req.json["user"]["msisdn"] == "+639170000001"
    assert json.loads(req.body) == req.json
    assert req.time <= time.monotonic()
    eight.clear()
    assert eight.requests == [] and not eight.sends_by_msisdn


def test_unknown_path_is_404_with_error_body(eight, openai):
    status, _, body = post(eight, "/api/v2/nothing", {})
    assert status == 404 and body["code"] == 1300 and "errorId" in body
    status, _, body = post(openai, "/v1/embeddings", {})
    assert status == 404 and "message" in body["error"]


def test_sends_by_msisdn_counts_accepted_only(eight):
    post(eight, VIBER, viber("+639170000001", "a"))
    post(eight, SMS, sms("+639170000001", "b"))
    post(eight, VIBER, viber("+639170000002", "c"))
    eight.fail(500, path_contains="Viber")
    post(eight, VIBER, viber("+639170000003", "d"))
    assert eight.sends_by_msisdn == {"+639170000001": 2, "+639170000002": 1}


# ------------------------------------------------------------------ batches

def test_batch_with_rejected_msisdn(eight):
    eight.reject_msisdn("+639170000009")
    # 8x8's batch schema wants type and content in every message.
    promo = {"type": "text", "content": {"text": "Promo"}}
    batch = {"template": {"type": "text", "content": {"text": "Promo"}},
             "messages": [{"user": {"msisdn": "+639170000001"}, "clientMessageId": "m1", **promo},
                          {"user": {"msisdn": "+639170000009"}, "clientMessageId": "m2", **promo},
                          {"user": {"msisdn": "+639170000003"}, "clientMessageId": "m3",
                           "type": "text", "content": {"text": "Hi Ana"}}],
             "clientBatchId": "cb-1", "includeMessagesInResponse": True}
    status, _, body = post(eight, VIBER + "/batch", batch)
    assert status == 200
    assert (body["clientBatchId"], body["acceptedCount"], body["rejectedCount"]) == ("cb-1", 2, 1)
    assert body["batchId"]
    states = {m["clientMessageId"]: m["status"] for m in body["messages"]}
    assert states["m1"]["state"] == "queued"
    assert states["m2"]["state"] == "rejected" and states["m2"]["errorCode"] == 1002
    assert set(eight.umids) == {"m1", "m3"}
    assert "+639170000009" not in eight.sends_by_msisdn
    # Template and per-message content are merged into what was "sent".
    texts = {a["clientMessageId"]: a["message"]["content"]["text"] for a in eight.accepted}
    assert texts == {"m1": "Promo", "m3": "Hi Ana"}


def test_sms_batch_and_messages_only_on_request(eight):
    eight.reject_msisdn("+639170000009", code=1002, message="Invalid MSISDN")
    batch = {"template": {"source": "Blu", "text": "Sale", "encoding": "AUTO"},
             "messages": [{"destination": "+639170000001", "clientMessageId": "s1",
                           "text": "Sale"},
                          {"destination": "+639170000009", "clientMessageId": "s2",
                           "text": "Sale"}],
             "clientBatchId": "cb-2"}
    status, _, body = post(eight, SMS + "/batch", batch)
    assert status == 200 and "messages" not in body
    assert (body["acceptedCount"], body["rejectedCount"]) == (1, 1)

    batch["includeMessagesInResponse"] = True
    _, _, body = post(eight, SMS + "/batch", batch)
    codes = {m["clientMessageId"]: m["status"]["code"] for m in body["messages"]}
    assert codes == {"s1": "QUEUED", "s2": "REJECTED"}
    assert eight.sends_by_msisdn == {"+639170000001": 2}


def test_single_send_to_rejected_msisdn_is_400(eight):
    eight.reject_msisdn("+639170000009")
    status, _, body = post(eight, VIBER, viber("+639170000009"))
    assert status == 400 and body["code"] == 1002 and body["message"] == "Invalid MSISDN"


# ------------------------------------------------------------------ scripting

def test_script_order_then_default(eight):
    eight.script(503, {"code": 2000, "message": "first"})
    eight.script(202, delay=0)  # normal body, scripted status
    eight.script(400, times=2)  # default 8x8 error body
    results = [post(eight, VIBER, viber("+639170000001", f"c{i}"))[:3:2] for i in range(5)]
    assert results[0] == (503, {"code": 2000, "message": "first"})
    assert results[1][0] == 202 and results[1][1]["status"]["state"] == "queued"
    assert [r[0] for r in results[2:]] == [400, 400, 200]
    assert results[2][1]["code"] == 1000
    assert eight.sends_by_msisdn["+639170000001"] == 2  # the 202 and the final 200


def test_script_path_contains_keeps_channels_apart(eight):
    eight.fail(500, 2000, "sms down", path_contains="Blu_SMS")
    assert post(eight, VIBER, viber("+639170000001"))[0] == 200
    status, _, body = post(eight, SMS, sms("+639170000002"))
    assert (status, body["message"]) == (500, "sms down")


def test_fail_helper_uses_8x8_error_shape(eight):
    eight.fail(422, 1004, "Invalid text", times=2)
    for _ in range(2):
        status, _, body = post(eight, VIBER, viber("+639170000001"))
        assert status == 422
        assert (body["code"], body["message"]) == (1004, "Invalid text")
        assert body["errorId"] and body["timestamp"]
    assert post(eight, VIBER, viber("+639170000001"))[0] == 200


def test_rate_limit_has_retry_after(eight, openai):
    eight.rate_limit()
    status, headers, body = post(eight, VIBER, viber("+639170000001"))
    assert status == 429 and headers["Retry-After"] == "1" and "code" in body
    openai.script(429, headers={"Retry-After": "1"})
    status, headers, body = post(openai, CHAT, {"model": "gpt-4o", "messages": []})
    assert status == 429 and headers["retry-after"] == "1"
    assert body["error"]["code"] == "rate_limit_exceeded"


def test_hang_keeps_connection_open_until_stop():
    server = EightByEight().start()
    try:
        server.hang()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=0.3)
        conn.request("POST", VIBER, body=json.dumps(viber("+639170000001")))
        with pytest.raises(socket.timeout):
            conn.getresponse()
        assert server.wait_for(1, timeout=1)  # the request was read and recorded
        assert not server.sends_by_msisdn
        # Other connections are served while one hangs.
        assert post(server, VIBER, viber("+639170000002"))[0] == 200
    finally:
        started = time.monotonic()
        server.stop()
        conn.close()
    assert time.monotonic() - started < 2


def test_close_before_answer_is_a_connection_error(eight):
    eight.close_before_answer()
    conn = http.client.HTTPConnection("127.0.0.1", eight.port, timeout=2)
    conn.request("POST", VIBER, body=json.dumps(viber("+639170000001")))
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conn.getresponse()
    conn.close()
    assert eight.wait_for(1, timeout=1)
    assert post(eight, VIBER, viber("+639170000001"))[0] == 200  # next one is fine


def test_latency_and_delay_are_added(eight):
    eight.latency = 0.2
    started = time.monotonic()
    post(eight, VIBER, viber("+639170000001"))
    assert 0.18 <= time.monotonic() - started < 1.0
    eight.latency = 0
    eight.script(200, delay=0.2)
    started = time.monotonic()
    post(eight, VIBER, viber("+639170000001"))
    assert 0.18 <= time.monotonic() - started < 1.0


def test_slow_answer_does_not_block_other_connections(eight):
    eight.script(200, delay=1.0, path_contains="Blu_Viber")
    slow = http.client.HTTPConnection("127.0.0.1", eight.port, timeout=3)
    slow.request("POST", VIBER, body=json.dumps(viber("+639170000001")))
    assert eight.wait_for(1, timeout=1)
    started = time.monotonic()
    assert post(eight, SMS, sms("+639170000002"))[0] == 200
    assert time.monotonic() - started < 0.5
    assert slow.getresponse().status == 200
    slow.close()


def test_keep_alive_reuses_one_connection(eight):
    conn = http.client.HTTPConnection("127.0.0.1", eight.port, timeout=2)
    for i in range(2):
        conn.request("POST", VIBER, body=json.dumps(viber("+639170000001", f"k{i}")),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.headers["Content-Length"]
        resp.read()
    conn.close()
    post(eight, VIBER, viber("+639170000001"))  # urllib: a new connection
    first, second, third = eight.requests
    assert first.connection_id == second.connection_id != third.connection_id


def test_stopped_server_refuses_connections():
    server = EightByEight().start()
    url = server.url
    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + VIBER, data=b"{}", timeout=1)


def test_outage_refuses_connections_then_listens_on_the_same_port():
    server = EightByEight().start()
    try:
        port = server.port
        server.outage(0.5)
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(server.url + VIBER, data=b"{}", timeout=1)
        time.sleep(0.8)
        assert server.port == port
        status, _, _ = post(server, VIBER, viber("+639170000001"))
        assert status == 200
    finally:
        server.stop()


# ------------------------------------------------------------------ 8x8's schema

def test_bodies_breaking_8x8s_schema_are_refused_as_8x8_would(eight):
    # clientBatchId: at most 20 characters (SMS batch schema).
    batch = {"template": {"source": "Blu", "encoding": "AUTO"},
             "messages": [{"destination": "+639170000001", "clientMessageId": "s1",
                           "text": "Sale"}],
             "clientBatchId": "blu8x8-sms-12345-678901"}
    status, _, body = post(eight, SMS + "/batch", batch)
    assert status == 400 and body["code"] == 1000 and "clientBatchId" in body["message"]
    assert body["errorId"] and body["timestamp"]
    batch["clientBatchId"] = "b8-2s"
    assert post(eight, SMS + "/batch", batch)[0] == 200
    # A numeric source of 17 characters, a Viber fallbackAfter under 10 s.
    assert post(eight, SMS, {**sms("+639170000001"), "source": "+1234567890123456"})[0] == 400
    fallback = {**viber("+639170000001"), "channels": [
        {"channel": "Viber", "fallbackAfter": 5, "successStatus": "Delivered"},
        {"channel": "SMS"}]}
    assert post(eight, VIBER, fallback)[0] == 400
    assert any("fallbackAfter" in e for e in eight.schema_errors)
    fallback["channels"][0]["fallbackAfter"] = 60
    assert post(eight, VIBER, fallback)[0] == 200
    # "buttons" is not in the schema's enum but in the same document's Viber examples.
    button = {**viber("+639170000001"), "type": "buttons"}
    button["content"]["button"] = {"caption": "Go", "action": "https://example.com"}
    assert post(eight, VIBER, button)[0] == 200
    assert post(eight, VIBER, {**viber("+639170000001"), "type": "carrot"})[0] == 400


def test_account_refusal_and_server_errors_on_demand(eight):
    eight.refuse_account(403, 1201, "Forbidden", times=1)
    status, _, body = post(eight, VIBER, viber("+639170000001"))
    assert status == 403 and body["code"] == 1201 and body["errorId"]
    eight.refuse_account(times=1)
    status, _, body = post(eight, VIBER, viber("+639170000001"))
    assert status == 401 and body["code"] == 1200
    eight.fail(503, times=1)
    status, _, body = post(eight, VIBER, viber("+639170000001"))
    assert status == 503 and body["errorId"]
    assert post(eight, VIBER, viber("+639170000001"))[0] == 200


# ------------------------------------------------------------------ auth

def test_8x8_auth(eight):
    eight.api_key = "k-123"
    status, _, body = post(eight, VIBER, viber("+639170000001"))
    assert status == 401 and body["code"] == 1200 and body["message"] == "Unauthorized"
    status, _, _ = post(eight, VIBER, viber("+639170000001"),
                        headers={"Authorization": "Bearer wrong"})
    assert status == 401
    status, _, _ = post(eight, VIBER, viber("+639170000001"),
                        headers={"Authorization": "Bearer k-123"})
    assert status == 200
    assert eight.sends_by_msisdn["+639170000001"] == 1


def test_openai_auth(openai):
    openai.api_key = "sk-test"
    chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    status, _, body = post(openai, CHAT, chat, headers={"Authorization": "Bearer nope"})
    assert status == 401
    assert body == {"error": {"message": "Incorrect API key provided",
                              "type": "invalid_request_error", "param": None,
                              "code": "invalid_api_key"}}
    assert post(openai, CHAT, chat, headers={"Authorization": "Bearer sk-test"})[0] == 200


# ------------------------------------------------------------------ OpenAI

def test_openai_default_reply(openai):
    chat = {"model": "gpt-4o-mini", "max_completion_tokens": 200,
            "messages": [{"role": "system", "content": "You are a coffee expert."},
                         {"role": "user", "content": "Do you deliver to Cebu?"}]}
    status, _, body = post(openai, CHAT, chat)
    assert status == 200
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "gpt-4o-mini"
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": OpenAI.DEFAULT_REPLY}
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_openai_reply_fn_and_fail(openai):
    def answer(req):
        last = req["messages"][-1]["content"]
        return "Yes" if "intent" in last else None  # None: fall back to .reply

    openai.reply = "Espresso machines are in stock."
    openai.reply_fn = answer
    intent = {"model": "gpt-4o", "messages": [{"role": "user", "content": "intent? buy"}]}
    chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Machines?"}]}
    assert post(openai, CHAT, intent)[2]["choices"][0]["message"]["content"] == "Yes"
    assert post(openai, CHAT, chat)[2]["choices"][0]["message"]["content"] == \
        "Espresso machines are in stock."

    openai.fail(500)
    status, _, body = post(openai, CHAT, chat)
    assert status == 500 and body["error"]["type"] == "server_error"
    openai.fail(429, "insufficient_quota", "You exceeded your current quota")
    status, _, body = post(openai, CHAT, chat)
    assert (status, body["error"]["code"]) == (429, "insufficient_quota")
    assert body["error"]["type"] == "insufficient_quota"

    openai.reset()
    assert post(openai, CHAT, chat)[2]["choices"][0]["message"]["content"] == \
        OpenAI.DEFAULT_REPLY
    assert len(openai.requests) == 1  # reset() forgot the earlier ones


# ------------------------------------------- OpenAI: schema and error shapes

def test_openai_refuses_what_the_schema_refuses(openai):
    """The stand-in answers 400 like OpenAI (error.code, type, message,
    param) on bodies CreateChatCompletionRequest or the o-series rules
    refuse, and lists them in invalid_requests."""
    ok = {"model": "gpt-4o", "max_completion_tokens": 200,
          "messages": [{"role": "system", "content": "P"}, {"role": "user", "content": "Q"}]}
    assert post(openai, CHAT, ok)[0] == 200
    assert openai.invalid_requests == []
    cases = [
        ({"model": "gpt-4o"}, "missing_required_parameter", "messages"),
        ({"model": "gpt-4o", "messages": []}, "invalid_value", "messages"),
        ({"model": "gpt-4o", "messages": [{"role": "boss", "content": "x"}]},
         "invalid_value", "messages[0]"),
        ({**ok, "max_completion_tokens": "many"}, "invalid_value", "max_completion_tokens"),
        ({**ok, "model": "o1", "temperature": 0.7}, "unsupported_parameter", "temperature"),
        ({**ok, "model": "o3-mini", "max_tokens": 50}, "unsupported_parameter", "max_tokens"),
        ({**ok, "model": "o1-mini"}, "unsupported_value", "messages[0].role"),
    ]
    for body, code, param in cases:
        status, _, answer = post(openai, CHAT, body)
        assert status == 400, body
        err = answer["error"]
        assert (err["code"], err["param"], err["type"]) == (code, param, "invalid_request_error"), err
        assert isinstance(err["message"], str) and err["message"]
    assert len(openai.invalid_requests) == len(cases)


def test_openai_quota_and_rate_limit_answers_are_openais(openai):
    import openai_schema
    chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    openai.quota_exhausted()
    status, _, body = post(openai, CHAT, chat)
    assert status == 429
    assert body["error"]["code"] == body["error"]["type"] == "insufficient_quota"
    assert openai_schema.problems(body, "ErrorResponse") == []
    openai.rate_limited_ms(300)
    status, headers, body = post(openai, CHAT, chat)
    assert status == 429 and headers["retry-after-ms"] == "300" and headers["retry-after"] == "1"
    assert body["error"]["code"] == "rate_limit_exceeded"
    assert openai_schema.problems(body, "ErrorResponse") == []


def test_openai_o_series_spend_reasoning_tokens(openai):
    """An o-series cap below the reasoning the model does leaves no reply."""
    chat = {"model": "o1-mini", "max_completion_tokens": 200,
            "messages": [{"role": "user", "content": "P"}, {"role": "user", "content": "Q"}]}
    body = post(openai, CHAT, chat)[2]
    assert body["choices"][0]["message"]["content"] == ""
    assert body["choices"][0]["finish_reason"] == "length"
    body = post(openai, CHAT, {**chat, "max_completion_tokens": 4000})[2]
    assert body["choices"][0]["message"]["content"] == OpenAI.DEFAULT_REPLY
