"""``flowsep app``: serve a local web page (Gradio) that separates uploaded or recorded mixtures.

Gradio is an optional extra (``pip install -e ".[app]"``): without it the command says how to install it.
The page binds to 127.0.0.1 unless ``--host`` says otherwise, and is public only with ``--share``. The model
loads once, when the command starts, after the device, the model folder, the address and the port (bound once, as
the server will bind it) have been checked.
"""

from __future__ import annotations

import argparse
from importlib import metadata

from ..errors import UsageError
from .network import host_address, port_number, serving_port

INSTALL_HINT = 'pip install -e ".[app]" in the flowsep checkout (or pip install "gradio>=6")'


def register(subparsers):
    parser = subparsers.add_parser("app", help="serve a local web page that separates uploaded mixtures")
    parser.add_argument(
        "--model", default=None, help="model folder or hub id (default: the shipped flowsep-mini)"
    )
    parser.add_argument(
        "--host", type=host_address, default="127.0.0.1",
        help="address to bind (default: 127.0.0.1, this machine)",
    )  # fmt: skip
    parser.add_argument(
        "--port", type=port_number, default=None, help="port, 1 to 65535 (default: the first free from 7860)"
    )
    parser.add_argument(
        "--share", action="store_true", help="also publish a temporary public gradio.live link"
    )
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, mps (default: auto)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from ..loading import check_device, check_model_source, default_model, load_pipeline

    # 1. Check the device, the model folder, the address and port, and the extra before anything heavy is imported
    check_device(args.device)
    check_model_source(args.model or default_model())
    port = serving_port(args.host, args.port)
    try:
        gradio_version = metadata.version("gradio")
    except metadata.PackageNotFoundError:
        raise UsageError(f"the web app needs Gradio, which is not installed: {INSTALL_HINT}") from None
    if int(gradio_version.split(".")[0]) < 6:
        raise UsageError(f"the web app needs Gradio 6 or newer, found {gradio_version}: {INSTALL_HINT}")

    # 2. Load the model once, and serve
    from ..app.page import serve
    from ..app.separation import Separator

    pipe = load_pipeline(args.model, args.device)
    with tempfile.TemporaryDirectory(prefix="flowsep-app-") as work_dir:
        try:
            serve(Separator(pipe, Path(work_dir)), Path(work_dir), args.host, port, args.share)
        except OSError as error:  # the port was taken between the check and the start
            raise UsageError(f"cannot serve on {args.host} port {port}: {error}") from None
    return 0
