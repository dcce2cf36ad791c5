#!/usr/bin/env python3
"""An HTTPS origin that misbehaves on demand (vm scenarios, issue 19).

    lying-origin.py --port PORT --root DIR --cert C --key K --bad-cert C2 --bad-key K2
                    --control FILE --log FILE

Serves the files under DIR (GET, one Range of bytes a-b, HTTP/1.1 keep-alive)
over TLS on 127.0.0.1:PORT. FILE says how to lie, one line:

    GEN MODE COUNT [SECONDS]

The next COUNT answers (connections, for tls) after GEN changed are MODE;
then it heals and answers right. GEN is any token: a new one starts a new
count even for the same MODE and COUNT. MODEs:

    ok        206 with the range asked for
    slow      206, the body trickled over SECONDS (2 unless given)
    reset     206 headers and half the body, then a TCP reset
    full200   200 with the whole file, whatever the Range
    badrange  206 whose Content-Range (and bytes) start 4 KiB off the range asked
    short     206, right headers, half the body, then the connection closed
    5xx       503
    429       429 with Retry-After: 1
    tls       the TLS handshake with --bad-cert (a CA the client does not know)

Each answer is a line in --log: "MODE FIRST-LAST", the lie told (or ok) and
the range asked for; a tls lie is "tls handshake". A scenario counts them.
"""
import argparse
import http.server
import os
import re
import socket
import ssl
import struct
import sys
import threading
import time


class Liar:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.gen = None
        self.served = 0
        self.good = self._context(args.cert, args.key)
        self.bad = self._context(args.bad_cert, args.bad_key)
        self.log = open(args.log, "a", buffering=1)

    @staticmethod
    def _context(cert, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        return ctx

    def _control(self):
        try:
            with open(self.args.control) as f:
                words = f.read().split()
        except FileNotFoundError:
            words = []
        return words if len(words) >= 3 else ["0", "ok", "0"]

    def lie(self, kinds):
        """The lie this answer (or connection) tells if it is one of kinds, else "ok"; and its SECONDS."""
        with self.lock:
            words = self._control()
            if words[0] != self.gen:
                self.gen, self.served = words[0], 0
            mode, count = words[1], int(words[2])
            seconds = float(words[3]) if len(words) > 3 else 2.0
            if mode not in kinds or self.served >= count:
                return "ok", seconds
            self.served += 1
            return mode, seconds

    def tls_pending(self):
        with self.lock:
            words = self._control()
            return words[1] == "tls" and (words[0] != self.gen or self.served < int(words[2]))

    def note(self, line):
        with self.lock:
            self.log.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # a client that went quiet: drop it
    ANSWER_LIES = ("slow", "reset", "full200", "badrange", "short", "5xx", "429")

    def setup(self):
        liar = self.server.liar
        mode, _ = liar.lie(("tls",))
        ctx = liar.bad if mode == "tls" else liar.good
        if mode == "tls":
            liar.note("tls handshake")
        self.request = ctx.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self):
        super().finish()
        # The TLS socket took the accepted one's fd: closing it here is what
        # ends the connection (with RST once _hang_up set SO_LINGER 0).
        self.request.close()

    def log_message(self, fmt, *args):
        pass  # the --log lines say what a scenario needs

    def do_GET(self):
        path = os.path.normpath(self.server.liar.args.root + "/" + self.path.split("?")[0])
        if not path.startswith(self.server.liar.args.root + "/") or not os.path.isfile(path):
            return self._plain(404, "no such blob\n")
        size = os.path.getsize(path)
        m = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
        first, last = (int(m.group(1)), min(int(m.group(2)), size - 1)) if m else (0, size - 1)
        if first > last:
            return self._plain(416, "range not satisfiable\n")
        mode, seconds = self.server.liar.lie(self.ANSWER_LIES)
        self.server.liar.note("%s %d-%d" % (mode, first, last))
        # A tls lie needs a new connection: this one ends after its answer.
        self.close_connection = self.close_connection or self.server.liar.tls_pending()
        with open(path, "rb") as f:
            self._answer(mode, seconds, f, size, first, last, bool(m))

    def _answer(self, mode, seconds, f, size, first, last, ranged):
        if mode == "5xx":
            return self._plain(503, "origin unavailable\n")
        if mode == "429":
            return self._plain(429, "slow down\n", [("Retry-After", "1")])
        if mode == "full200" or not ranged:
            first, last, ranged = 0, size - 1, False
        elif mode == "badrange":
            shift = 4096 if last + 4096 < size else -4096
            first, last = first + shift, last + shift
        f.seek(first)
        body = f.read(last - first + 1)
        self.send_response(206 if ranged else 200)
        if ranged:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (first, last, size))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if mode == "slow":
            self._trickle(body, seconds)
        elif mode in ("reset", "short"):
            self.wfile.write(body[: len(body) // 2])
            self._hang_up(mode == "reset")
        else:
            self.wfile.write(body)

    def _plain(self, status, text, headers=()):
        data = text.encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _trickle(self, body, seconds):
        # Steps of 0.25 s: far above libcurl's low-speed floor, so only a deadline cuts it.
        steps = max(1, int(seconds * 4))
        piece = -(-len(body) // steps)
        for at in range(0, len(body), piece):
            self.wfile.write(body[at : at + piece])
            time.sleep(seconds / steps)

    def _hang_up(self, reset):
        if reset:
            # SO_LINGER 0: close() sends RST, not FIN.
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that hung up or refused our certificate: one line, not a traceback.
        print("lying-origin: %s" % (sys.exc_info()[1],), file=sys.stderr)

def main():
    p = argparse.ArgumentParser()
    for name in ("root", "cert", "key", "bad-cert", "bad-key", "control", "log"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    args.root = os.path.realpath(args.root)
    server = Server(("127.0.0.1", args.port), Handler)
    server.liar = Liar(args)
    server.serve_forever()


if __name__ == "__main__":
    main()
