"""`custody` console script: a friendly front for the management commands.

custody serve [--host 127.0.0.1] [--port 8000] [--workers N]   production server (gunicorn)
custody maintenance on|off [--message TEXT]                   read-only mode with a banner
custody new-custodies on|off                                   allow or refuse opening custodies
custody migrate | demo-data | createuser | check | <any manage.py command>
"""

import argparse
import os
import sys
from pathlib import Path


def _django_setup() -> None:
    # The project root on the path, so apps added after `pip install -e .` are found too.
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _manage(argv: list[str]) -> int:
    _django_setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["custody", *argv])
    return 0


def serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="custody serve", description="Serve Custody with gunicorn.")
    parser.add_argument("--host", default=os.environ.get("CUSTODY_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("CUSTODY_PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("CUSTODY_THREADS", "4")))
    args = parser.parse_args(argv)
    # The server's workers link audit entries in a thread of their own, after the request's commit.
    os.environ.setdefault("CUSTODY_AUDIT_LINK_IN_BACKGROUND", "1")
    _django_setup()
    from gunicorn.app.wsgiapp import run

    sys.argv = [
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"{args.host}:{args.port}",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--access-logfile",
        "-",
        "--timeout",
        "60",
        "--graceful-timeout",
        "20",
        # gunicorn's largest request line (its default is 4,094): long filter and export links fit;
        # longer ones get 414, documented on every API operation.
        "--limit-request-line",
        "8190",
        # One control socket per instance, inside the project, not shared under ~/.gunicorn.
        "--control-socket",
        str(
            Path(os.environ.get("CUSTODY_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
            / f"gunicorn-{args.port}.ctl"
        ),
    ]
    run()
    return 0


# friendly names → management commands
ALIASES = {
    "demo-data": "demo_data",
    "check": "custody_check",
    "sla-check": "sla_check",
    "run-jobs": "run_jobs",
    "render-docs": "render_docs",
    "new-custodies": "new_custodies",
    "reencrypt-secrets": "reencrypt_secrets",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__.strip())
        return 0
    command, rest = argv[0], argv[1:]
    if command == "serve":
        return serve(rest)
    return _manage([ALIASES.get(command, command), *rest])


if __name__ == "__main__":
    sys.exit(main())
