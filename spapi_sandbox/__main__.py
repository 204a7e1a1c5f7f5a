"""Command line: ``python -m spapi_sandbox serve ...`` runs the sandbox over HTTPS with uvicorn."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _read_credentials(path: str) -> tuple[str, str]:
    data = json.loads(Path(path).read_text())
    return data["client_id"], data["client_secret"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m spapi_sandbox", description="Local stand-in for Login with Amazon and the SP-API."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTPS server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=58443)
    serve.add_argument("--certfile", required=True, help="server certificate (PEM)")
    serve.add_argument("--keyfile", required=True, help="server private key (PEM)")
    serve.add_argument("--state-dir", required=True, help="where sellers, tokens and reports persist")
    serve.add_argument(
        "--app-credentials-file",
        required=True,
        help='JSON {"client_id": ..., "client_secret": ...} of the registered LWA application',
    )
    serve.add_argument(
        "--admin-token-file", help="enables /_sandbox/ admin API; the file holds the bearer token"
    )
    serve.add_argument("--seed", type=int, default=42, help="world seed (fixed per state dir)")
    serve.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiplies Amazon's durations: 0.01 runs a hundred times faster",
    )
    serve.add_argument(
        "--report-processing-seconds",
        type=float,
        default=30.0,
        help="Amazon-seconds from createReport to DONE, before time-scale",
    )
    serve.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)

    import uvicorn  # noqa: PLC0415 - keep `--help` fast

    from .app import create_app  # noqa: PLC0415
    from .config import SandboxConfig  # noqa: PLC0415
    from .state import StateError  # noqa: PLC0415

    if args.time_scale <= 0:
        parser.error("--time-scale must be positive")
    client_id, client_secret = _read_credentials(args.app_credentials_file)
    admin_token = Path(args.admin_token_file).read_text().strip() if args.admin_token_file else None
    if admin_token == "":
        parser.error("--admin-token-file is empty")
    config = SandboxConfig(
        state_dir=Path(args.state_dir),
        client_id=client_id,
        client_secret=client_secret,
        admin_token=admin_token,
        seed=args.seed,
        time_scale=args.time_scale,
        report_processing_seconds=args.report_processing_seconds,
    )
    try:
        app = create_app(config)
    except StateError as exc:
        print(f"spapi_sandbox: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        ssl_certfile=args.certfile,
        ssl_keyfile=args.keyfile,
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
