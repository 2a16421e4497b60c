"""``tarash batch``'s reading of one JSONL line: whatever a line holds, it becomes a request
or a :class:`LineError` (never another exception, which would stop the whole batch), and
its results' file name is safe and bounded whatever its key."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tarash.tarash_gateway.cli._batch_cmd import (
    KEY_STEM_MAX,
    LineError,
    decode_line,
    parse_line,
    result_stem,
)
from tarash.tarash_gateway.cli._routing import Route
from tarash.tarash_gateway.models import ExtraParamsWarning

ROUTE = Route(kind="video", provider="fal", model="fal-ai/veo3")
FIELDS = ["prompt", "duration_seconds", "aspect_ratio", "resolution", "seed", "n",
          "negative_prompt", "image_list", "extra_params", "durration_seconds",
          "key", "kind", "provider", "model", "fallbacks", "image"]  # fmt: skip
LINES = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=300)
    | st.sampled_from(["fal", "FAL", "replicate", "nope", "image", "video", "fal:fal-ai/x",
                       "", " ", "~nobody/x.png", "a\x00b", "https://example.com/a.png"])
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)  # fmt: skip


def _parsed_or_refused(text: str, base: Path) -> None:
    refused: LineError | None = None
    try:
        with warnings.catch_warnings():
            # A field no request has is sent in extra_params, with a warning: a request.
            warnings.simplefilter("ignore", ExtraParamsWarning)
            parse_line(text, ROUTE, base)
    except LineError as exc:
        refused = exc
    if refused is not None:  # said in one line, as the batch prints it
        assert str(refused) and "\n" not in str(refused)


@LINES
@given(line=st.dictionaries(st.sampled_from(FIELDS), values, max_size=6))
def test_any_object_becomes_a_request_or_a_line_error(line: dict[str, Any], tmp_path: Path) -> None:
    """Any JSON object, whatever its fields hold, is a request or a LineError."""
    _parsed_or_refused(json.dumps(line), tmp_path)


@LINES
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_become_a_request_or_a_line_error(raw: bytes, tmp_path: Path) -> None:
    """Any bytes (not UTF-8, not JSON, half a line) are a request or a LineError."""
    try:
        text = decode_line(raw, first=False)
    except LineError:
        return
    _parsed_or_refused(text, tmp_path)


def test_a_line_error_keeps_the_lines_key(tmp_path: Path) -> None:
    """A line refused after its key was read keeps it, for its error row."""
    with pytest.raises(LineError) as caught:
        parse_line('{"prompt": "", "key": 7}', ROUTE, tmp_path)
    assert caught.value.key == "7"


def test_a_byte_order_mark_before_the_first_line_is_dropped(tmp_path: Path) -> None:
    """A file saved with a UTF-8 byte-order mark (Windows editors) reads as its text."""
    text = decode_line(b'\xef\xbb\xbf{"prompt": "a cat"}', first=True)
    _, key, request = parse_line(text, ROUTE, tmp_path)
    assert key is None and request.prompt == "a cat"


@given(line=st.integers(min_value=1, max_value=10**7), key=st.none() | st.text(max_size=400))
def test_a_result_file_name_is_safe_and_bounded(line: int, key: str | None) -> None:
    """Any key gives a stem of portable characters, cut to KEY_STEM_MAX, led by the line."""
    stem = result_stem(line, key)
    number, _, rest = stem.partition("-")
    assert int(number) == line and rest
    assert re.fullmatch(r"[A-Za-z0-9._-]+", stem)
    assert len(rest) <= KEY_STEM_MAX
