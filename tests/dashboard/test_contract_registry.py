"""``contract.register_error_code``: plugins add codes; nobody redefines one."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

from dashboard import contract
from dashboard.contract import ErrorCode, register_error_code
from dashboard.testing import assert_error_envelope


@pytest.fixture
def clean_codes(monkeypatch):
    monkeypatch.setattr(contract, "ERROR_CODES", dict(contract.ERROR_CODES))


def test_a_registered_code_is_sent_in_the_envelope(clean_codes):
    register_error_code(ErrorCode("TEA_TIME", 503, True, "Back after tea."))
    response = contract.error_response({}, "TEA_TIME", retry_after=30)
    client = Client(lambda environ, start_response: response(environ, start_response))
    body = assert_error_envelope(client.get("/"), "TEA_TIME", status=503, retry_after=30)
    assert body["error"]["message"] == "Back after tea."


def test_registering_the_same_definition_again_is_a_no_op(clean_codes):
    spec = ErrorCode("TEA_TIME", 503, True, "Back after tea.")
    assert register_error_code(spec) is spec
    assert register_error_code(ErrorCode("TEA_TIME", 503, True, "Back after tea.")) == spec


def test_a_contract_code_cannot_be_redefined(clean_codes):
    with pytest.raises(ValueError, match="already defined"):
        register_error_code(ErrorCode("DB_POOL_EXHAUSTED", 500, False, "changed"))
    assert contract.ERROR_CODES["DB_POOL_EXHAUSTED"].status == 503


@pytest.mark.parametrize("spec", [ErrorCode("tea-time", 503, True, "x"),
                                  ErrorCode("TEA_TIME", 200, False, "x")])
def test_names_and_statuses_are_checked(clean_codes, spec):
    with pytest.raises(ValueError):
        register_error_code(spec)
