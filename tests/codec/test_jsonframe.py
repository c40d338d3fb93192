"""JSON frame objects (CONTRACT §4 frame line as an MQTT payload) and their limits."""

from __future__ import annotations

import json

import numpy as np
import pytest

import monitor.codec.jsonframe as jf
from monitor.codec.errors import CodecError
from monitor.codec.jsonframe import MAX_JSON_FRAME_BYTES, decode_json_frame


def frame_json(rows=4, cols=4, value=5, **extra) -> bytes:
    obj = {"t": 1.25, "cells": [[value] * cols for _ in range(rows)], **extra}
    return json.dumps(obj).encode()


@pytest.fixture(params=["orjson", "stdlib"])
def parser(request, monkeypatch):
    """Run each test with orjson (when installed) and with the stdlib fallback."""
    if request.param == "stdlib":
        monkeypatch.setattr(jf, "_orjson", None)
    elif jf._orjson is None:
        pytest.skip("orjson not installed")
    return request.param


def test_decodes_a_frame_line(parser):
    cells = np.arange(64 * 64).reshape(64, 64) % 4096
    payload = json.dumps({"t": 3.5, "cells": cells.tolist(), "seq": 9, "label": {"posture": "upright"}})
    f = decode_json_frame(payload, max_value=4095)
    assert f.t == 3.5 and f.seq == 9 and f.cells.dtype == np.uint16 and np.array_equal(f.cells, cells)


def test_t_is_optional_and_unknown_keys_ignored(parser):
    f = decode_json_frame(b'{"cells": [[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4]], "x": [1]}')
    assert f.t is None and f.seq is None and int(f.cells.sum()) == 40


@pytest.mark.parametrize(
    "payload,reason",
    [
        (b"", "bad_json"),
        (b"{", "bad_json"),
        (b"\xff\xfe", "bad_json"),
        (b"[1,2]", "bad_frame"),
        (b'{"t": 1}', "bad_frame"),
        (b'{"cells": [1,2,3]}', "bad_frame"),
        (frame_json(rows=3), "bad_grid"),
        (frame_json(cols=65), "bad_grid"),
        (b'{"cells": [[1,2,3,4],[1,2,3,4],[1,2,3],[1,2,3,4]]}', "bad_grid"),
        (b'{"cells": [[1,2,3,4],[1,2,3,4],[1,2,3,4],5]}', "bad_grid"),
        (frame_json(value=1.5), "bad_value"),
        (frame_json(value="7"), "bad_value"),
        (frame_json(value=None), "bad_value"),
        (frame_json(value=[1]), "bad_value"),
        (frame_json(value=10**30), "bad_value"),
        (frame_json(value=-1), "out_of_range"),
        (frame_json(value=4096), "out_of_range"),
        (b'{"t": NaN, "cells": [[1,1,1,1],[1,1,1,1],[1,1,1,1],[1,1,1,1]]}', "bad_json"),
        (b'{"t": 1, "cells": [[1,1,1,Infinity],[1,1,1,1],[1,1,1,1],[1,1,1,1]]}', "bad_json"),
        (b'{"t": 1e999, "cells": [[1,1,1,1],[1,1,1,1],[1,1,1,1],[1,1,1,1]]}', None),
        (b'{"t": "soon", "cells": [[1,1,1,1],[1,1,1,1],[1,1,1,1],[1,1,1,1]]}', "bad_t"),
        (b'{"t": 1e13, "cells": [[1,1,1,1],[1,1,1,1],[1,1,1,1],[1,1,1,1]]}', "bad_t"),
        (frame_json(t=10**400), None),
        (b"[" * 100_000, "oversize"),
        (b"[" * 20_000 + b"]" * 20_000, "too_deep"),
        (b'{"cells": [[[[[[[[[[1]]]]]]]]]]}', "too_deep"),
        (b'{"pad": "' + b"x" * MAX_JSON_FRAME_BYTES + b'"}', "oversize"),
    ],
)
def test_bad_payloads_raise_with_reason(parser, payload, reason):
    with pytest.raises(CodecError) as info:
        decode_json_frame(payload, max_value=4095)
    if reason is None:  # 1e999: orjson refuses to parse it, the stdlib makes it inf
        assert info.value.reason in ("bad_json", "bad_t")
    else:
        assert info.value.reason == reason


def test_expected_grid_is_enforced(parser):
    with pytest.raises(CodecError) as info:
        decode_json_frame(frame_json(rows=8, cols=8), rows=16, cols=16)
    assert info.value.reason == "bad_grid"
    assert decode_json_frame(frame_json(rows=8, cols=8), rows=8, cols=8).cells.shape == (8, 8)
