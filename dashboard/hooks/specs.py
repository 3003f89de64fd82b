"""The plugin contract: every hook the host calls, when it calls it, and how results combine.

A plugin is a module (or object) with functions marked ``@dashboard.hookimpl`` whose names match
the specs below. It is found through the ``dashboard.plugins`` entry-point group and is loaded only
when its name is listed in ``[dashboard].plugins``; a plugin that is installed but not listed is
asked for its settings model (so its table is validated) and for nothing else.

Order rules
-----------
* The operator's TOML decides order, never registration order or ``tryfirst``/``trylast``: the
  host refuses a plugin whose hookimpl asks for ``tryfirst``/``trylast`` (``PluginOrderError``).
  The host registers plugins in reverse TOML order, so pluggy (which calls the last registered
  first) calls them in TOML order.
* ``dashboard_wrap_wsgi`` is called once per plugin, last-listed first, so the first plugin
  listed ends up outermost.
* Collecting hooks (every hook not marked *firstresult*) return a list with one entry per
  plugin that implements the hook and did not return ``None``, in TOML order (first listed
  first).
* *firstresult* hooks (``dashboard_map_exception``, ``dashboard_restart_policy``,
  ``dashboard_breaker_control``) are asked in
  TOML order too: the first plugin listed that returns something other than ``None`` wins and
  the rest are not called.

Every hook is called with keyword arguments; an implementation may accept any subset of them (a
hookimpl that takes only ``host`` is fine). Where one plugin's failure must not cost the others
their say (gunicorn server hooks, health gathering, observers), the host calls implementations
one plugin at a time through :mod:`dashboard.hooks.calls` and logs a failure with the plugin's
name. Set ``DASHBOARD_TRACE_HOOKS=1`` to log every hook call, its arguments and its result to the
``dashboard.hooks`` logger.

``host`` is always a :class:`dashboard.types.Host`: typed settings through
``host.plugin_settings(section, Model)``, per-host state through ``host.state(KEY, create)`` with a
``dashboard.types.StateKey``, the engine, the clock and the runtime directory.
"""

from __future__ import annotations

from dashboard.hooks import specs_db, specs_health, specs_host, specs_server

# Assembled here in the order the reference page lists them (pluggy reads this module).
dashboard_settings_model = specs_host.dashboard_settings_model
dashboard_configure = specs_host.dashboard_configure
dashboard_engine_created = specs_host.dashboard_engine_created
dashboard_host_closing = specs_host.dashboard_host_closing
dashboard_wrap_wsgi = specs_host.dashboard_wrap_wsgi
dashboard_map_exception = specs_host.dashboard_map_exception
dashboard_db_checkout = specs_db.dashboard_db_checkout
dashboard_db_connect_attempt = specs_db.dashboard_db_connect_attempt
dashboard_db_statement_started = specs_db.dashboard_db_statement_started
dashboard_db_outcome = specs_db.dashboard_db_outcome
dashboard_health_checks = specs_health.dashboard_health_checks
dashboard_resilience_thresholds = specs_health.dashboard_resilience_thresholds
dashboard_recommendation = specs_health.dashboard_recommendation
dashboard_restart_policy = specs_health.dashboard_restart_policy
dashboard_breaker_control = specs_health.dashboard_breaker_control
dashboard_master_ready = specs_server.dashboard_master_ready
dashboard_master_exiting = specs_server.dashboard_master_exiting
dashboard_worker_started = specs_server.dashboard_worker_started
dashboard_worker_exited = specs_server.dashboard_worker_exited
dashboard_reloaded = specs_server.dashboard_reloaded
dashboard_logging_configured = specs_server.dashboard_logging_configured
