"""Property-based API tests: schemathesis generates requests from the OpenAPI schema and
checks that the real daemon (`sitwell run`) never answers with a server error, and that
every answer matches the documented status codes, content types and response schemas.

(schemathesis' own pytest plugin does not work with pytest 9, so each operation's
hypothesis strategy is driven here with @given.)
"""

from __future__ import annotations

import copy

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dashboard.app import create_app
from tests.plugins.browser import SitwellProcess

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the test extra")

# The schema the app publishes; building the app calls nothing on the runtime. A deep copy is
# kept as it was at collection: the served schema is compared with the one the operations
# below are generated from, not with whatever this process's models say later.
TESTED = copy.deepcopy(create_app(runtime=None).openapi())  # type: ignore[arg-type]
SCHEMA = schemathesis.openapi.from_dict(copy.deepcopy(TESTED))
OPERATIONS = {
    f"{op.method.upper()} {op.path}": op
    for op in (result.ok() for result in SCHEMA.get_all_operations())
    if op.path not in ("/api/stream", "/api/fleet/stream")  # never end by design; they have their own tests
}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    proc = SitwellProcess(tmp_path_factory.mktemp("schema"), ["--speed", "60", "--scenario", "demo"])
    try:
        yield proc.url
    finally:
        proc.stop()


def test_served_schema_is_the_one_tested(base_url):
    served = httpx.get(base_url + "/openapi.json").json()
    assert served == TESTED


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_operation_conforms_to_the_schema(base_url, name):
    operation = OPERATIONS[name]

    @given(data=st.data())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(data):
        case = data.draw(operation.as_strategy())
        case.call_and_validate(base_url=base_url)

    check()
