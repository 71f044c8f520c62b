"""Pasted numbers are imported in batches (issue 20, item 4: 100,000 in a
couple of seconds): the batches must not change what the import reports
and keeps. Duplicates inside one batch and across batches, opted-out and
named contacts, invalid lines: the same answer and rows as one at a time,
in the order they were pasted."""

from __future__ import annotations

import uuid


def test_batched_import_reports_and_keeps_what_was_pasted(server):
    api = server.client
    base = 6391750000
    named = api.post("/blu8x8/api/contacts", json={"name": "Named Contact",
                                                     "phone": f"+{base + 5}"})
    assert named.status == 201, named
    out = api.post("/blu8x8/api/contacts", json={"name": "Gone", "phone": f"+{base + 7}",
                                                   "opted_out": True})
    assert out.status == 201, out
    cid = api.post("/blu8x8/api/campaigns", json={"name": f"Batch {uuid.uuid4().hex[:6]}",
                                                   "type": "text", "body": "Hi"}).json["id"]
    lines, expected = ["phone,name"], []
    for i in range(300):                       # several whole batches and a partial one
        phone = base + i
        lines.append(f"0{str(phone)[2:]},Person {i}")
        if i % 50 == 3:
            lines.append(f"0{str(phone)[2:]}")  # the same number again, within its batch
        if i % 97 == 10:
            lines.append("09x7 not a number")
        if i != 7:
            expected.append((f"+{phone}", f"Person {i}"))   # the pasted name wins
    lines += [f"0{str(base + 1)[2:]}", f"0{str(base + 250)[2:]}"]   # across batches
    r = api.post(f"/blu8x8/api/campaigns/{cid}/recipients/import",
                 body="\n".join(lines) + "\n", headers={"Content-Type": "text/csv"})
    assert r.status == 200, r
    rep = r.json
    assert (rep["added"], rep["duplicates"], rep["opted_out"], rep["invalid_count"]) \
        == (299, 6 + 2, 1, 3), rep
    rows = server.sql("SELECT phone, name, contact_id FROM messages WHERE campaign_id = ? "
                      "ORDER BY id", (cid,))
    assert [(p, n) for p, n, _ in rows] == expected
    # The contact's row is linked to it; the others are not.
    linked = {p: c for p, _, c in rows if c is not None}
    assert linked == {f"+{base + 5}": named.json["id"]}
    assert len({r[0] for r in server.sql(
        "SELECT client_message_id FROM messages WHERE campaign_id = ?", (cid,))}) == 299
