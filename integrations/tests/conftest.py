import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from custodies.tests.conftest import attach, draft_data, make_draft  # noqa: F401


class Receiver:
    """A real HTTP server on 127.0.0.1 that records requests and answers as told."""

    def __init__(self):
        self.requests = []
        self.responses = []  # (status, headers, delay) consumed in order; default 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like real receivers
            disable_nagle_algorithm = True

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    {
                        "headers": dict(self.headers),
                        "body": body,
                        "path": self.path,
                        "client": self.client_address,
                    }
                )
                status, headers, delay = receiver.responses.pop(0) if receiver.responses else (200, {}, 0)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", "12")
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}')
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up (timeout test) or was killed (crash test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def json_bodies(self):
        return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.CUSTODY_WEBHOOK_ALLOW_PRIVATE = "1"
    r = Receiver()
    yield r
    r.close()
