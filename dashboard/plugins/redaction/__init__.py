"""The ``redaction`` plugin: no database credential or token in any log line.

It installs one logging filter on every handler of the process (see
:mod:`dashboard.plugins.redaction.install`) when the host is configured, and again when the host
says logging is set up (gunicorn has then built its own handlers). The filter masks recognised
credential shapes (:mod:`dashboard.plugins.redaction.patterns`) and the literal secrets this host
was configured with (:mod:`dashboard.plugins.redaction.literals`): the passwords of
``[database].url`` and of any ``*url`` plugin setting, and the admin token named by
``[plugins.recovery].admin_token_env``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dashboard import configured_secrets, hookimpl
from dashboard.plugins.redaction.filter import RedactingFilter
from dashboard.plugins.redaction.install import active_filter, install, uninstall
from dashboard.plugins.redaction.literals import literal_forms
from dashboard.plugins.redaction.redactor import Redactor
from dashboard.plugins.redaction.settings import RedactionSettings

if TYPE_CHECKING:
    from dashboard import Host

SECTION = "redaction"

__all__ = ["RedactingFilter", "Redactor", "active_filter", "install", "redactor_for",
           "uninstall"]


@hookimpl
def dashboard_settings_model() -> tuple[str, type[RedactionSettings]]:
    return SECTION, RedactionSettings


@hookimpl
def dashboard_configure(host: Host) -> None:
    install(redactor_for(host))


@hookimpl
def dashboard_logging_configured(host: Host) -> None:
    install(redactor_for(host))


def redactor_for(host: Host) -> Redactor:
    """A redactor with this host's mask, extra patterns and configured secrets."""
    settings = host.plugin_settings(SECTION, RedactionSettings)
    return Redactor(settings.mask, literal_forms(configured_secrets(host.settings)),
                    settings.extra_patterns)
