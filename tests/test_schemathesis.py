"""Property-based tests of every operation in the app's own OpenAPI schema: no 5xx, responses as documented.

Hypothesis drives schemathesis' strategies directly: `schemathesis.pytest.from_fixture` (4.32) reads a node
attribute that pytest 9 no longer has, and building the schema at import would build the app at import.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from qa.config import Settings
from qa.server.state import Pipeline
from qa.wiring import build_app

EXAMPLES = 25
Operation = schemathesis.APIOperation[Any, Any, Any, Any]
# Valid input: the status is documented, and the body and content type are what the schema says.
POSITIVE: list[schemathesis.CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Invalid input: never a server error, and the error still comes as documented JSON.
NEGATIVE: list[schemathesis.CheckFunction] = [not_a_server_error, content_type_conformance]


@pytest.fixture(scope="module")
def operations(settings: Settings, pipeline: Pipeline) -> list[Operation]:
    """Every operation of an app with the real pipeline, called in-process over ASGI."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", build_app(settings, pipeline=pipeline))
    results = list(schema.get_all_operations())
    assert all(isinstance(r, Ok) for r in results), "the OpenAPI schema has operations schemathesis cannot read"
    return [r.ok() for r in results if isinstance(r, Ok)]


def test_the_schema_lists_the_api(operations: list[Operation]) -> None:
    labels = {op.label for op in operations}
    assert {"POST /ask", "POST /ask/stream", "GET /search", "GET /documents", "GET /ready", "GET /live"} <= labels


@pytest.mark.parametrize(("mode", "checks"), [(GenerationMode.POSITIVE, POSITIVE), (GenerationMode.NEGATIVE, NEGATIVE)])
def test_every_operation_conforms(
    operations: list[Operation], mode: GenerationMode, checks: list[schemathesis.CheckFunction]
) -> None:
    failures: list[str] = []
    tested: list[str] = []
    for operation in operations:
        strategy = operation.as_strategy(generation_mode=mode)

        @given(case=strategy)
        @hypothesis_settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(checks=checks)

        try:
            run()
        except Unsatisfiable:
            # Nothing invalid can be made for it (no parameters, or a free-text path): only in negative mode.
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        except Exception as exc:  # gather every operation's failure, not only the first
            failures.append(f"{operation.label}: {exc}")
        tested.append(operation.label)
    assert not failures, "\n\n".join(failures)
    assert {"POST /ask", "GET /search"} <= set(tested)
