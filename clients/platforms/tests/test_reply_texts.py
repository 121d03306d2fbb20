"""The deal fetch keeps each deal's JSON text as the server sent it (stored as its raw copy,
not encoded again), and parses exactly what json.loads parses."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clients.deal_store import deal_records_prepare
from clients.platforms.webapi import _parse_reply

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=12), st.floats(allow_nan=False)
)
objects = st.dictionaries(st.text(max_size=8), scalars, max_size=6)


@given(
    head=st.dictionaries(st.sampled_from(["retcode", "total", "x"]), scalars, max_size=3),
    answer=st.lists(objects, max_size=5),
    indent=st.sampled_from([None, 1, "\t"]),
)
def test_the_scanner_parses_as_json_loads_and_keeps_each_objects_text(head, answer, indent):
    text = json.dumps({**head, "answer": answer}, indent=indent)
    reply = _parse_reply(text, texts=True)
    assert reply == json.loads(text)
    assert [json.loads(t) for t in reply.answer_texts] == answer


@pytest.mark.parametrize(
    "text", ['{"retcode": "0 Done", "answer": [{"a": 1} {"b": 2}]}', '{"a": 1} x', '{"a" 1}']
)
def test_the_scanner_refuses_what_is_not_json(text):
    with pytest.raises(ValueError):
        _parse_reply(text, texts=True)


def test_copy_lines_escape_what_copy_would_misread_and_keep_the_last_copy_of_a_ticket():
    plain = {"Deal": "7", "Login": "100", "TimeMsc": "1700000000123", "Comment": "ok"}
    odd = {"Deal": "8", "Login": "100", "Time": "1700000001", "Comment": "a\tb\\c\nd", "Price": 1}
    again = {**plain, "Comment": "edited"}
    prepared = deal_records_prepare(
        [(plain, json.dumps(plain)), (odd, json.dumps(odd)), (again, json.dumps(again))]
    )
    assert (prepared.seen, prepared.count) == (3, 2)
    assert prepared.last == (1700000001000, 8)
    lines = prepared.data.splitlines()
    assert len(lines) == 2 and all(line.count("\t") == 19 for line in lines)
    assert "\\N" in lines[0] and "edited" in lines[0]  # None is NULL; the later copy won
    assert "a\\tb\\\\c\\nd" in lines[1] and "\t1\t" in lines[1]
