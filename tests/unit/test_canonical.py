"""RFC 8785 canonical JSON on the published vectors, and canonical.py's fast path against rfc8785.

Vectors: the RFC's own examples (draft -17 = RFC 8785: the sections 3.2.2-3.2.4 example,
the 3.2.3 sorting test, the Appendix B numbers), cyberphone's input/output test data, and
the ES6 number file, regenerated and compared with its published checksums.
"""

import hashlib
import json
import math
import struct

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from notary.verify import canonical
from notary.verify.canonical import canonical_json, parse_canonical_json, parse_json
from notary.verify.errors import MalformedInput
from tests.vectors import load_vector, vector_path

CYBERPHONE_CASES = ["arrays", "french", "structures", "unicode", "values", "weird"]
MAX_SAFE = 2**53 - 1


def double(hex_bits):
    return struct.unpack(">d", int(hex_bits, 16).to_bytes(8, "big"))[0]


def test_rfc8785_whole_example():
    example = load_vector("jcs/rfc8785_examples.json")["whole_example"]
    assert canonical_json(parse_json(example["input"])) == bytes.fromhex(example["expected_hex"])


def test_rfc8785_sorting_order():
    sorting = load_vector("jcs/rfc8785_examples.json")["sorting"]
    output = canonical_json(parse_json(sorting["input"]))
    assert list(json.loads(output).values()) == sorting["expected_value_order"]


def test_rfc8785_appendix_b_numbers():
    numbers = load_vector("jcs/rfc8785_examples.json")["numbers"]["vectors"]
    assert len(numbers) == 26
    for case in numbers:
        value = double(case["ieee754_hex"])
        if case["json"] is None:
            assert not math.isfinite(value)
            with pytest.raises(MalformedInput):
                canonical_json(value)
            with pytest.raises(MalformedInput):
                canonical_json({"n": [value]})
        else:
            assert canonical_json(value) == case["json"].encode("ascii"), case["comment"]
            # The serialised form reads back as the same double (minus zero becomes zero).
            # parse_json keeps integers exact, and canonical_json refuses those beyond 2**53
            # (I-JSON, RFC 7493), so a double is only compared here, not round-tripped.
            assert float(parse_json(case["json"])) == value


@pytest.mark.parametrize("name", CYBERPHONE_CASES)
def test_cyberphone_input_output(name):
    folder = vector_path("jcs/cyberphone")
    source = (folder / "input" / f"{name}.json").read_bytes()
    expected = (folder / "output" / f"{name}.json").read_bytes()
    expected_hex = (folder / "outhex" / f"{name}.txt").read_text(encoding="ascii")
    assert bytes.fromhex("".join(expected_hex.split())) == expected
    value = parse_json(source)
    assert canonical_json(value) == expected
    assert parse_canonical_json(expected) == value


def es6_doubles(generator):
    """The bit patterns of cyberphone's ES6 number file, in order (see es6_numbers.json)."""
    for hex_bits in generator["static_u64"]:
        yield int(hex_bits, 16)
    for i in range(generator["serial_count"]):
        yield 0x0010000000000000 + i
    block = bytes(32)
    while True:
        block = hashlib.sha256(block).digest()
        for offset in range(0, 32, 8):
            bits = int.from_bytes(block[offset : offset + 8], "little")
            value = struct.unpack("<d", block[offset : offset + 8])[0]
            if value != 0 and math.isfinite(value):
                yield bits


def es6_lines(generator, count):
    lines = []
    for bits, _ in zip(es6_doubles(generator), range(count), strict=False):
        value = struct.unpack("<d", bits.to_bytes(8, "little"))[0]
        lines.append(f"{bits:x},{canonical_json(value).decode('ascii')}\n")
    return "".join(lines).encode("ascii")


def test_es6_number_samples():
    generator = load_vector("jcs/es6_numbers.json")
    for sample in generator["sample_lines"]:
        assert canonical_json(double(sample["hex"])) == sample["expected"].encode("ascii")


@pytest.mark.parametrize("lines", [1_000, 10_000, 100_000])
def test_es6_number_file_checksums(lines):
    # 100,000 lines take about 1.5 s here; the 1-million-line checksum would take ~15 s.
    generator = load_vector("jcs/es6_numbers.json")
    published = {c["lines"]: c for c in generator["checksums"]}[lines]
    data = es6_lines(generator, lines)
    assert len(data) == published["bytes"]
    assert hashlib.sha256(data).hexdigest() == published["sha256"]


def test_parse_json_refuses_duplicate_keys_and_non_numbers():
    for text in ['{"a":1,"a":2}', '{"x":{"b":true,"b":true}}', '[{"k":1,"k":1}]']:
        with pytest.raises(MalformedInput):
            parse_json(text)
    for text in ["NaN", "[Infinity]", '{"n":-Infinity}', "[1, NaN]"]:
        with pytest.raises(MalformedInput):
            parse_json(text)
    for data in [b"\xff", b'{"a":1', b""]:
        with pytest.raises(MalformedInput):
            parse_json(data)
    assert parse_json('{"a":1,"b":{"a":2}}') == {"a": 1, "b": {"a": 2}}


def test_parse_canonical_json_refuses_other_forms():
    assert parse_canonical_json(b'{"a":1,"b":2}') == {"a": 1, "b": 2}
    for data in [b'{"b":2,"a":1}', b'{"a": 1}', b'{"a":1.0}', b'"\\u00e9"', b'{"a":1}\n']:
        with pytest.raises(MalformedInput):
            parse_canonical_json(data)


def _nested(depth):
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


def test_deep_nesting_is_refused_not_crashed():
    # parse_json accepts nesting deeper than a recursive walk can follow; the result must be
    # a refusal (MalformedInput), never a RecursionError (canonical.py fix, see the report).
    # 600 levels: beyond the ~340 the old all(<generator>) walk reached, well within limits.
    deep = parse_json("[" * 600 + "]" * 600)
    assert canonical_json(deep) == b"[" * 600 + b"]" * 600
    with pytest.raises(MalformedInput):
        canonical_json(_nested(5000))
    cyclic: list[object] = []
    cyclic.append(cyclic)
    with pytest.raises(MalformedInput):
        canonical_json(cyclic)


# --- The fast path (json's C encoder) must give rfc8785's bytes wherever it is taken. -------

ESCAPED_OR_NOT = ["\x00", "\x1f", "\x7f", "\b", "\f", "\n", "\r", "\t", '"', "\\", "/"]
BEYOND_ASCII = ["\u2028", "\u2029", "\ufeff", "\u00e9", "\u20ac", "\ufb33", "\U0001f600", "\U0010ffff"]
TRICKY_CHARACTERS = st.sampled_from([*ESCAPED_OR_NOT, *BEYOND_ASCII, "</script>"])
JSON_TEXT = st.lists(st.one_of(TRICKY_CHARACTERS, st.characters(codec="utf-8")), max_size=12).map("".join)
ASCII_KEY = st.text(st.characters(max_codepoint=127), max_size=8)
SAFE_INT = st.one_of(
    st.integers(-MAX_SAFE, MAX_SAFE), st.sampled_from([MAX_SAFE, -MAX_SAFE, MAX_SAFE - 1, 0, -1])
)

PLAIN_JSON = st.recursive(
    st.none() | st.booleans() | SAFE_INT | JSON_TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ASCII_KEY, inner, max_size=5),
    max_leaves=30,
)

ANY_KEY = st.one_of(ASCII_KEY, JSON_TEXT)
ANY_INT = st.one_of(SAFE_INT, st.sampled_from([MAX_SAFE + 1, -(MAX_SAFE + 1), 2**64, -(2**63)]))
ANY_FLOAT = st.floats(allow_nan=False, allow_infinity=False)
ANY_JSON = st.recursive(
    st.none() | st.booleans() | ANY_INT | ANY_FLOAT | JSON_TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ANY_KEY, inner, max_size=5),
    max_leaves=30,
)


def rfc8785_outcome(value):
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, ValueError, UnicodeEncodeError):
        return None


def our_outcome(value):
    try:
        return canonical_json(value)
    except MalformedInput:
        return None


@settings(max_examples=250, deadline=None)
@given(PLAIN_JSON)
def test_fast_path_gives_rfc8785_bytes(value):
    assert canonical._plain(value)
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=250, deadline=None)
@given(ANY_JSON)
def test_any_json_value_gives_rfc8785_bytes_or_is_refused_by_both(value):
    assert our_outcome(value) == rfc8785_outcome(value)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.characters(categories=["Cs"]), min_size=1, max_size=3).map("".join), ASCII_KEY)
def test_lone_surrogates_are_refused(surrogates, key):
    for value in [surrogates, {key: surrogates}, [surrogates]]:
        with pytest.raises(MalformedInput):
            canonical_json(value)
        assert rfc8785_outcome(value) is None
