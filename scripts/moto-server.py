"""moto's S3 server, single-threaded, for the tests: python moto-server.py HOST PORT

`moto_server` serves each connection on its own thread, and moto's S3 backend checks
If-Match / If-None-Match and then writes without a lock, so two racing conditional puts
can both win: a 5 x 10 compare-and-swap counter ended at 49 in 4 of 11 runs (plus two
500s). Served one request at a time (threaded=False, so also HTTP/1.0: a connection per
request), every check-and-write is atomic and the counter was exact in every run.
scripts/s3-server.sh and the tests that start a moto of their own both run this file.

It serves DynamoDB too, with one fix for speed (not behaviour): moto's TransactWriteItems
deep-copies the whole table once per item of the transaction, to roll back on failure, so
a 100-item transaction into a table of a few thousand items took over 5 s and grew the
server to gigabytes. `copy_tables_once` makes those copies one per table per transaction:
they are taken before anything is written, so they were identical anyway.
"""

import copy
import os
import signal
import sys

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def copy_tables_once() -> None:
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    class OncePerTable:
        """`copy` as moto's dynamodb models see it, copying each Table once."""

        def __init__(self) -> None:
            self.tables: dict[int, Table] = {}

        def deepcopy(self, obj, *args):
            if not isinstance(obj, Table):
                return copy.deepcopy(obj, *args)
            if id(obj) not in self.tables:
                self.tables[id(obj)] = copy.deepcopy(obj, *args)
            return self.tables[id(obj)]

        def __getattr__(self, name):
            return getattr(copy, name)

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        # Single-threaded server: no other request sees the swapped module.
        models.copy = OncePerTable()
        try:
            return original(self, transact_items)
        finally:
            models.copy = copy

    models.DynamoDBBackend.transact_write_items = transact_write_items


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    # moto builds some URLs (presigned, redirects) from this, as `moto_server` sets it.
    os.environ.setdefault("MOTO_PORT", str(port))
    # Stopped by PID: exit cleanly on SIGTERM / SIGINT.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    copy_tables_once()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
