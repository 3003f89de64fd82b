"""``dashboard.testing`` gives plugin authors what they need, and its checks really check."""

from __future__ import annotations

from types import SimpleNamespace

import pluggy
import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

from dashboard import contract, hookimpl
from dashboard.testing import assert_error_envelope, assert_success_envelope, config_problems

ECHO = '[dashboard]\nplugins = []\napp_factory = "dashboard.testing:echo_app"\n'


def test_echo_app_answers_every_path_with_a_success_envelope(dashboard_host, dashboard_client):
    client = dashboard_client(dashboard_host(ECHO))
    data = assert_success_envelope(client.post("/any/path"))
    assert data == {"method": "POST", "path": "/any/path"}


def test_echo_app_raise_reaches_the_exception_mapper(dashboard_host, dashboard_client):
    response = dashboard_client(dashboard_host(ECHO)).get("/raise")
    assert_error_envelope(response, "INTERNAL_ERROR", status=500)


def test_a_misspelt_hookimpl_fails_the_host_build(dashboard_host):
    @hookimpl
    def dashboard_wrap_wsig(app, host):
        return app

    typo = SimpleNamespace(dashboard_wrap_wsig=dashboard_wrap_wsig)
    with pytest.raises(pluggy.PluginValidationError, match="dashboard_wrap_wsig"):
        dashboard_host('[dashboard]\nplugins = ["typo"]\n', plugins={"typo": typo})


def test_config_problems_are_the_check_lines():
    assert config_problems("[database]\npool_size = 0\n") == [
        "database.pool_size: must be >= 1 (got 0, from toml)"]
    assert config_problems("[database]\npool_size = 3\n") == []
    assert config_problems("", env={"DB_POOL_SIZE": "0"}) == [
        "database.pool_size: must be >= 1 (got '0', from env DB_POOL_SIZE)"]


def respond(response: Response) -> object:
    return Client(lambda environ, start_response: response(environ, start_response)).get("/")


def test_assert_error_envelope_accepts_the_contract_shape():
    response = contract.error_response({}, "DB_POOL_EXHAUSTED", retry_after=4.2)
    body = assert_error_envelope(respond(response), "DB_POOL_EXHAUSTED", retry_after=5)
    assert body["meta"]["retry_after_seconds"] == 5


def test_assert_error_envelope_catches_a_retry_after_mismatch():
    response = contract.error_response({}, "DB_QUERY_TIMEOUT", retry_after=10)
    response.headers["Retry-After"] = "3"
    with pytest.raises(AssertionError):
        assert_error_envelope(respond(response), "DB_QUERY_TIMEOUT")


def test_assert_error_envelope_catches_a_hint_on_a_non_retryable_error():
    response = contract.error_response({}, "NOT_FOUND")
    response.headers["Retry-After"] = "1"
    with pytest.raises(AssertionError):
        assert_error_envelope(respond(response), "NOT_FOUND")


def test_assert_error_envelope_catches_the_wrong_code_or_status():
    response = contract.error_response({}, "VALIDATION_ERROR")
    with pytest.raises(AssertionError):
        assert_error_envelope(respond(response), "NOT_FOUND")
    with pytest.raises(AssertionError):
        assert_error_envelope(respond(response), "VALIDATION_ERROR", status=422)

