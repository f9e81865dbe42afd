"""The item-by-item batch reader accepts exactly what strict JSON parsing accepts."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notary.api.batch_json import batch_items
from notary.api.errors import MalformedJson
from notary.errors import ValidationFailed


def read(body: bytes | str, max_items: int = 1000) -> list:
    data = body.encode() if isinstance(body, str) else body
    return list(batch_items(data, "contracts", max_items=max_items))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values, min_size=1, max_size=6), st.sampled_from([None, 0, 2]), st.booleans())
def test_items_are_what_json_loads_reads(items, indent, ascii_only):
    body = json.dumps({"contracts": items}, indent=indent, ensure_ascii=ascii_only)
    assert read(body) == json.loads(body)["contracts"]


@pytest.mark.parametrize(
    "body",
    [
        '{"contracts": [{"a": "x,]}"}, {"b": "\\"]"}]}',
        ' \n{ "contracts" :[ 1 , "two" , [3] , {"4": [5, {"6": null}]} , true ] } \r\n',
        '{"contracts": ["\\u005d", "\\\\"]}',
        '{"contracts": [{"名": "张三"}]}',
    ],
)
def test_tricky_but_valid_bodies(body):
    assert read(body) == json.loads(body)["contracts"]


@pytest.mark.parametrize(
    "body",
    [
        "",
        "{",
        '{"contracts": [',
        '{"contracts": [{"a": 1}',
        '{"contracts": [{"a": 1}]',
        '{"contracts": [{"a": 1}]} x',
        '{"contracts": [{"a": 1},]}',
        '{"contracts": [{"a": 1} {"b": 2}]}',
        '{"contracts": [{"a": "unterminated}]}',
        '{"contracts": [{"a": 1, "a": 2}]}',  # duplicate key inside an item
        '{"contracts": [], "contracts": []}',
        '{"contracts": [{"a": 1}], "contracts": [{"a": 2}]}',
        '{"contracts": [NaN]}',
        '{"contracts": [{"a": 1]]}',
        '{"contracts" [1]}',
        b'{"contracts": ["\xff"]}',
    ],
)
def test_malformed_bodies_are_400(body):
    with pytest.raises(MalformedJson):
        read(body)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("[1, 2]", "_body"),
        ('"contracts"', "_body"),
        ("{}", "contracts"),
        ('{"other": [1]}', "other"),
        ('{"contracts": {"a": 1}}', "contracts"),
        ('{"contracts": []}', "contracts"),
        ('{"contracts": [1, 2, 3]}', "contracts"),  # over max_items=2
        ('{"contracts": [1], "extra": 2}', "extra"),
    ],
)
def test_other_shapes_are_422_naming_the_field(body, field):
    with pytest.raises(ValidationFailed) as caught:
        read(body, max_items=2)
    assert field in caught.value.details
