"""Speaking the real OpenAI (second round): every request body the AI lane
builds validates against OpenAI's CreateChatCompletionRequest (the OpenAPI
document (tests/reference/, a copy of shared/reference/), checked by the OpenAI stand-in with
python3-jsonschema) for each model family; the o-series get room for their
reasoning; replies fit Viber's 1,000 characters; a quota 429 is not retried
and a rate-limit 429 waits exactly as long as retry-after-ms says."""

import shutil
import uuid

import pytest

from conftest import Httpd, new_root, stays, wait_until
from standins import is_reasoning_model

AI_DIRECTIVES = ("Blu8x8OpenAIKey sk-test-openai\n"
                 "Blu8x8AIQuietWindow 0.3\n"
                 "Blu8x8OpenAITimeout 2\n"
                 "Blu8x8PublicURL https://blu.example.ph\n")

INTENT_Q = ("Is this message showing interest in our coffee products and services? "
            "Answer Yes or No.")

MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4-turbo", "gpt-4-turbo-preview",
          "o1", "o1-mini", "o3-mini", "o3", "o4-mini"]

_phones = iter(range(1, 10_000))


def new_phone():
    return f"+63917{next(_phones):07d}"


@pytest.fixture(scope="module")
def ai(eightx8, openai):
    """One server with the worker, the AI reply and Da Vinci on, three FAQ pairs."""
    h = Httpd(new_root(), AI_DIRECTIVES, eightx8, openai).start()
    c = h.client
    assert c.patch("/blu8x8/api/settings", json={"ai_respond": True}).status == 200
    for prompt, completion in (("Do you deliver?", "Yes, Metro Manila next day."),
                               ("Hours?", "8am-6pm, \"Mon\" to Sat"),
                               ("Beans?", "Barako, Arabica (Benguet)")):
        assert c.post("/blu8x8/api/faqs", json={"prompt": prompt,
                                                "completion": completion}).status == 201
    yield h
    h.stop()
    h.drop_database()
    problems = h.problems()
    if not problems:
        shutil.rmtree(h.root, ignore_errors=True)
    assert not problems, "server problems:\n" + "\n".join(problems)


@pytest.fixture(autouse=True)
def _defaults(request, openai):
    """Each test starts from gpt-4o, 200 tokens, Da Vinci off."""
    yield
    if "ai" in request.fixturenames:
        request.getfixturevalue("ai").client.patch(
            "/blu8x8/api/settings", json={"openai_model": "gpt-4o", "openai_max_tokens": 200,
                                          "da_vinci": False})


def inbound(text, phone, name="Ana"):
    return {"namespace": "ChatApps", "eventType": "inbound_message_received",
            "description": "ChatApps inbound message",
            "payload": {"umid": str(uuid.uuid4()),
                        "subAccountId": "BluCoffeePH_TwoWayViber_NOTIF",
                        "timestamp": "2026-11-01T14:34:56.017Z",
                        "user": {"msisdn": phone, "name": name},
                        "recipient": {"channel": "viber", "channelId": "2f9c"},
                        "type": "Text", "content": {"text": text}}}


def post_event(h, event):
    r = h.client.as_user(None).post("/viber/status", json=event)
    assert r.status == 200, r


def rows(h, phone):
    return h.client.get(f"/blu8x8/api/inbound?phone={phone}").json["items"]


def is_intent(req):
    body = req if isinstance(req, dict) else req.json
    return any(m["content"] == INTENT_Q for m in body["messages"])


def calls_for(openai, text):
    return [r for r in openai.requests if r.json and r.json["messages"][-1]["content"] == text]


def viber_texts(eightx8, phone):
    return [r.json["content"]["text"] for r in eightx8.requests
            if r.json and "user" in r.json and r.json["user"]["msisdn"] == phone]


def set_settings(h, **values):
    r = h.client.patch("/blu8x8/api/settings", json=values)
    assert r.status == 200, r


# ------------------------------------------------ schema, per model family

@pytest.mark.parametrize("model", MODELS)
def test_every_request_body_validates_against_openais_schema(ai, openai, eightx8, model):
    """The chat request (FAQ prompt, history) and the intent question, for
    each model family, pass CreateChatCompletionRequest and the o-series
    rules; at the default 200-token setting an o-series model still
    answers (its cap is raised to 4000 for the reasoning)."""
    h = ai
    set_settings(h, openai_model=model, da_vinci=True)
    phone = new_phone()
    openai.reply_fn = lambda req: "No" if is_intent(req) else None
    first, second = f"Do you deliver to Cebu? ({model})", f"And to Davao? ({model})"
    post_event(h, inbound(first, phone))
    assert wait_until(lambda: viber_texts(eightx8, phone), timeout=20)
    post_event(h, inbound(second, phone))
    assert wait_until(lambda: len(viber_texts(eightx8, phone)) == 2, timeout=20)
    assert viber_texts(eightx8, phone) == [openai.DEFAULT_REPLY] * 2

    sent = calls_for(openai, first) + calls_for(openai, second)
    chats = [r.json for r in sent if not is_intent(r)]
    intents = [r.json for r in sent if is_intent(r)]
    assert len(chats) == 2 and len(intents) == 2
    assert openai.invalid_requests == [], openai.invalid_requests
    for body in chats + intents:
        assert body["model"] == model
        roles = [m["role"] for m in body["messages"]]
        if is_reasoning_model(model):
            assert body["max_completion_tokens"] >= 4000
            assert "system" not in roles
            assert set(body) == {"model", "messages", "max_completion_tokens"}
            if model == "o1-mini":
                assert "developer" not in roles and roles[0] == "user"
            else:
                assert roles[0] == "developer"
        else:
            assert roles[0] == "system"
    # The FAQ prompt and the history (user, assistant, user) are in the second chat.
    assert "'Hours?' - '8am-6pm, \"Mon\" to Sat'" in chats[1]["messages"][0]["content"]
    assert [(m["role"], m["content"]) for m in chats[1]["messages"][1:]] == [
        ("user", first), ("assistant", openai.DEFAULT_REPLY), ("user", second)]
    assert chats[0]["max_completion_tokens"] == (4000 if is_reasoning_model(model) else 200)
    assert {r["ai_state"] for r in rows(h, phone)} == {"answered"}


def test_o_series_cap_is_shown_on_the_settings_page(ai):
    page = ai.client.get("/blu8x8/settings").text
    start = page.index('id="setting-openai_max_tokens"')
    field = page[start:page.index('<div class="setting"', start + 1)]
    assert 'id="f-openai_max_tokens"' in field
    assert "o1, o1-mini and the other o-series models get at least 4000" in field


def test_a_larger_o_series_cap_is_kept(ai, openai, eightx8):
    set_settings(ai, openai_model="o1", openai_max_tokens=6000)
    phone = new_phone()
    post_event(ai, inbound("Beans?", phone))
    assert wait_until(lambda: viber_texts(eightx8, phone), timeout=20)
    assert calls_for(openai, "Beans?")[0].json["max_completion_tokens"] == 6000


# ---------------------------------------------------------- Viber's 1,000

def test_long_reply_is_cut_at_a_sentence_end_within_1000_characters(ai, openai, eightx8):
    sentence = "Our café roasts Barako ☕ beans every morning in Batangas. "
    long_reply = sentence * 40   # 2,320 characters, multi-byte ones among them
    openai.reply = long_reply
    phone = new_phone()
    post_event(ai, inbound("Tell me everything about your beans", phone))
    texts = wait_until(lambda: viber_texts(eightx8, phone), timeout=20)
    sent = texts[0]
    assert len(sent) <= 1000            # code points, as Viber counts
    assert len(sent) > 900              # the cut is at the last sentence end that fits
    assert sent.endswith("Batangas.") and long_reply.startswith(sent)
    row = wait_until(lambda: [r for r in rows(ai, phone) if r["ai_state"] == "answered"])
    stored = ai.sql("SELECT body FROM messages WHERE id = ?", (row[0]["reply_id"],))[0][0]
    assert stored == sent


def test_long_reply_without_sentence_ends_is_cut_at_a_word(ai, openai, eightx8):
    openai.reply = "ñandú " * 400     # 2,400 characters, no sentence end
    phone = new_phone()
    post_event(ai, inbound("Words?", phone))
    sent = wait_until(lambda: viber_texts(eightx8, phone), timeout=20)[0]
    assert len(sent) <= 1000 and sent.endswith("ñandú…")


# ------------------------------------------------------------------- 429s

@pytest.mark.parametrize("da_vinci", [False, True])
def test_insufficient_quota_fails_after_exactly_one_request(ai, openai, eightx8, da_vinci):
    set_settings(ai, da_vinci=da_vinci)
    openai.quota_exhausted(times=None)
    try:
        phone = new_phone()
        post_event(ai, inbound("Is the cafe open?", phone))
        row = wait_until(lambda: [r for r in rows(ai, phone) if r["ai_state"] == "failed"])[0]
        assert "OpenAI quota exhausted" in row["ai_error"]
        # Two worker ticks: longer than the first backoff (1 s) a retry would take.
        assert stays(lambda: len(openai.requests), ai.client) == 1
        assert viber_texts(eightx8, phone) == []
        assert rows(ai, phone)[0]["ai_state"] == "failed"
        conv = ai.client.get("/blu8x8/api/conversations?q=" + phone[1:]).json["items"][0]
        assert "OpenAI quota exhausted" in ai.client.get(f"/blu8x8/conversations/{conv['id']}").text
    finally:
        openai.clear_script()


def test_rate_limit_waits_for_retry_after_ms_to_the_millisecond(ai, openai, eightx8):
    """retry-after-ms 300 (retry-after says 1 s, rounded up): the second
    request comes 300 ms or more after the first, and well before a whole
    second."""
    openai.rate_limited_ms(300)
    phone = new_phone()
    post_event(ai, inbound("Open on Sunday?", phone))
    assert wait_until(lambda: viber_texts(eightx8, phone), timeout=20)
    first, second = openai.requests[:2]
    gap = second.time - first.time
    assert 0.3 <= gap < 0.95, gap
    assert len(openai.requests) == 2


def test_rate_limit_without_headers_is_retried(ai, openai, eightx8):
    openai.fail(429, "rate_limit_exceeded")
    phone = new_phone()
    post_event(ai, inbound("Hello again", phone))
    assert wait_until(lambda: viber_texts(eightx8, phone), timeout=20)
    assert len(openai.requests) == 2
