"""moto's S3 server, single-threaded, for the tests: python moto-server.py HOST PORT

`moto_server` serves each connection on its own thread, and moto's S3 backend checks
If-Match / If-None-Match and then writes without a lock, so two racing conditional puts
can both win: a 5 x 10 compare-and-swap counter ended at 49 in 4 of 11 runs (plus two
500s). Served one request at a time (threaded=False, so also HTTP/1.0: a connection per
request), every check-and-write is atomic and the counter was exact in every run.
scripts/s3-server.sh and the tests that start a moto of their own both run this file.
"""

import os
import signal
import sys

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    # moto builds some URLs (presigned, redirects) from this, as `moto_server` sets it.
    os.environ.setdefault("MOTO_PORT", str(port))
    # Stopped by PID: exit cleanly on SIGTERM / SIGINT.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
