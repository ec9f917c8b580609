"""moto's server, answering one request at a time.

DynamoDB applies each write to an item atomically and isolates
transactions. moto's threaded server does neither: an UpdateItem checks its
condition and then sets attributes one by one while other threads run, so a
concurrent GetItem can read an item half-updated (a cached token without its
expiry), two conditional writes can both pass, and a failed transaction
restores a copy of the table taken before writes that ran meanwhile. Tests
that race containers on one item would then fail on moto's behalf, now and
then. Serialising the requests (the GIL serialises moto's work anyway) gives
back DynamoDB's guarantees; connections are still served on threads, so
keep-alive clients do not block each other.

Same arguments as `moto_server`: -H HOST -p PORT. Stops on SIGTERM, and when
the process that started it dies.
"""

import argparse
import ctypes
import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

PR_SET_PDEATHSIG = 1


class OneAtATime:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            answer = self.app(environ, start_response)
            try:
                return list(answer)
            finally:
                if hasattr(answer, "close"):
                    answer.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    # moto builds some URLs from it, as its own launcher sets it.
    os.environ.setdefault("MOTO_PORT", str(args.port))

    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))

    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        OneAtATime(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
