"""``dashboard``: serve, check, plugins, init-db.

Every command that reads the config exits 2 on an invalid one, printing one line per problem
with the key path and its source, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from dashboard import __version__
from dashboard.config.problems import ConfigError, print_problems
from dashboard.config.sections import Settings
from dashboard.config.sources import CONFIG_PATH_ENV, DEFAULT_CONFIG_PATH, FLAG_SOURCES_ENV
from dashboard.hooks.discovery import load_installed_settings as load_settings

EXIT_OK = 0
EXIT_INVALID = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader left


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.config:
        os.environ[CONFIG_PATH_ENV] = args.config
    try:
        code = int(args.handler(args) or EXIT_OK)
        sys.stdout.flush()  # a reader that left shows here, not in the interpreter's exit
        return code
    except ConfigError as error:
        print_problems(error)
        return EXIT_INVALID
    except BrokenPipeError:  # `dashboard check | head -1`: quietly, no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # exit flushes too
        return EXIT_BROKEN_PIPE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"dashboard {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the dashboard under gunicorn")
    serve.add_argument("--bind", help="HOST:PORT (overrides [server].bind)")
    serve.add_argument("--workers", type=int, help="worker processes (overrides [server].workers)")
    serve.set_defaults(handler=_serve)
    for name, handler, text in [
        ("check", _check, "validate the config and print the effective settings"),
        ("plugins", _plugins, "list enabled plugins in pipeline order"),
        ("init-db", _init_db, "create and seed the demo MES tables (idempotent)"),
    ]:
        commands.add_parser(name, help=text).set_defaults(handler=handler)
    for sub in commands.choices.values():
        sub.add_argument("--config", help=f"config file (default: ${CONFIG_PATH_ENV} or "
                         "config/resilience.toml)")
    return parser


def _serve(args: argparse.Namespace) -> int:
    # Flags travel as environment overrides so that every worker, and every reload, sees them;
    # FLAG_SOURCES_ENV makes a problem with one name the flag, not the variable.
    flags = []
    if args.bind:
        os.environ["DASHBOARD__SERVER__BIND"] = args.bind
        flags.append("DASHBOARD__SERVER__BIND=--bind")
    if args.workers is not None:
        os.environ["DASHBOARD__SERVER__WORKERS"] = str(args.workers)
        flags.append("DASHBOARD__SERVER__WORKERS=--workers")
    if flags:
        os.environ[FLAG_SOURCES_ENV] = ",".join(flags)
    import dashboard.gunicorn_conf  # noqa: F401  # validates (exit 2) and prepares metrics first
    from dashboard.server.app import serve

    serve()
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from dashboard.server.runtime_lock import RuntimeDirError, check_runtime_dir

    settings = load_settings()
    try:
        check_runtime_dir(settings.dashboard.runtime_dir)
    except RuntimeDirError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    if settings.config_path is None:
        print(f"config: no file read ({os.environ.get(CONFIG_PATH_ENV) or DEFAULT_CONFIG_PATH} "
              "not found): defaults and environment only (valid)")
    else:
        print(f"config: {settings.config_path} (valid)")
    enabled = set(settings.dashboard.plugins)
    width = max(len(path) for path, _, _ in settings.effective())
    for path, value, source in settings.effective():
        print(f"{path.ljust(width)} = {_render(value)}  [{source}]")
    for name in sorted(settings.plugins):
        if name not in enabled:
            state = "configured" if f"plugins.{name}" in settings.sources else "installed"
            print(f"plugins.{name}: inactive ({state}, not listed in dashboard.plugins)")
    for line in _engine_lines(settings):
        print(line)
    return EXIT_OK


def _engine_lines(settings: Settings) -> list[str]:
    """Which engines the host builds and whether the app's own are adopted (URLs masked)."""
    from dashboard.config.secrets import mask_url
    from dashboard.db.engine import host_database_url

    database = settings.database
    url = host_database_url(database, settings.dashboard.app_factory)
    if url is None:
        own = "none ([database].url is unset: no engine and no database file of the host's own)"
    else:
        given = "[database].url" if database.url else "the demo app's embedded SQLite default"
        own = f'"default" from {given}: {mask_url(url)}'
    if database.adopt:
        app = ("adopted (adopt = true): every SQLAlchemy engine the app creates runs with "
               "[database]'s bounds and timeouts")
    else:
        app = "not adopted (adopt = false): the app's own engines keep their own settings"
    return [f"engines: host builds {own}", f"engines: app engines {app}"]


def _render(value: object) -> str:
    import json

    return json.dumps(value) if not isinstance(value, str) else f'"{value}"'


def _plugins(args: argparse.Namespace) -> int:
    from dashboard.hooks.discovery import installed_entry_points
    from dashboard.host import Host

    settings = load_settings()
    host = Host(settings)
    entry_points = installed_entry_points()
    for position, name in enumerate(host.plugin_names, start=1):
        dist = entry_points[name].dist
        version = dist.version if dist is not None else "unknown"
        plugin = host.pm.get_plugin(name)
        hooks = sorted(caller.name for caller in host.pm.get_hookcallers(plugin) or [])
        print(f"{position}. {name} {version}")
        print(f"   hooks: {', '.join(hooks)}")
    return EXIT_OK


def _init_db(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from dashboard.db.engine import build_engine
    from dashboard.reports.seed import init_db

    settings: Settings = load_settings()
    engine = build_engine(settings.database)
    try:
        added = init_db(engine)
    except SQLAlchemyError as error:
        print(f"database.url: cannot initialise the database ({type(error).__name__}; "
              f"check that it is reachable)", file=sys.stderr)
        return EXIT_INVALID
    finally:
        engine.dispose()
    print("demo tables created and seeded" if added else "demo tables already seeded")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
