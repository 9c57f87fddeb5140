"""Isle's in-container server for Python and "any executable" functions (standard library only).

It serves HTTP/1.1 on a Unix socket (ISLE_SOCKET, default /run/isle/http.sock) and hands each
request to the function mounted read-only at ISLE_APP (default /app), in one of three modes
(ISLE_MODE; docs/adr/0028-container-functions.md):

- handler: /app/handler.py defines ``handle(request)``; ``request`` has method, path, query (the raw
  query string), args (parsed, name -> list of values), headers (lower-case names) and body (bytes).
  It returns a dict {"status", "headers", "body"} (body str or bytes), a str or bytes (status 200),
  or None (204).
- wsgi: /app/handler.py defines ``app``, a WSGI application (PEP 3333) -- the "full HTTP mode".
- exec: for each request run ISLE_EXEC (default /app/handler) with the body on stdin and CGI
  variables in its environment; its stdout is the response body.

Without ISLE_MODE the mode is wsgi when handler.py defines ``app``, handler when it defines
``handle``, exec when there is no handler.py. A handler that raises answers 500 with a fixed body;
the traceback goes to stderr (the function's logs), never to the client.
"""

import io
import json
import os
import re
import signal
import socketserver
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler

SOCKET = os.environ.get("ISLE_SOCKET", "/run/isle/http.sock")
APP = os.environ.get("ISLE_APP", "/app")
EXEC = os.environ.get("ISLE_EXEC", os.path.join(APP, "handler"))
EXEC_TIMEOUT = float(os.environ.get("ISLE_EXEC_TIMEOUT", "30"))
# The platform enforces the function's body caps before the request gets here; this bounds what a
# broken peer can make the watchdog buffer.
MAX_BODY = int(os.environ.get("ISLE_MAX_BODY", str(64 * 1024 * 1024)))
# Variables the watchdog reads itself: not passed on to an executable.
OWN_VARIABLES = ("ISLE_SOCKET", "ISLE_APP", "ISLE_MODE", "ISLE_EXEC", "ISLE_EXEC_TIMEOUT", "ISLE_MAX_BODY")


def log(message):
    print(f"isle-watchdog: {message}", file=sys.stderr, flush=True)


# Lines written while a request runs carry its invocation id, so the agent files each line under
# the right invocation however many run at once (ADR 0029): "\x1e<id>\x1f<line>". The agent strips
# the tag; a line without one goes to whichever invocation it guesses.
TAG_START, TAG_END = "\x1e", "\x1f"
INVOCATION_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
current = threading.local()


def tag():
    return getattr(current, "invocation", None)


class TaggedStream(io.TextIOBase):
    """Stands in for sys.stdout / sys.stderr: tags whole lines with the request's invocation id."""

    def __init__(self, stream):
        super().__init__()
        self.stream = stream

    def writable(self):
        return True

    def write(self, text):
        invocation = tag()
        if invocation is None:
            self.stream.write(text)
            self.stream.flush()
            return len(text)
        pending = current.pending.get(id(self), "") + text
        *lines, rest = pending.split("\n")
        current.pending[id(self)] = rest
        for line in lines:
            self.stream.write(f"{TAG_START}{invocation}{TAG_END}{line}\n")
        if lines:
            self.stream.flush()
        return len(text)

    def end_request(self):
        rest = current.pending.pop(id(self), "")
        if rest:
            self.stream.write(f"{TAG_START}{current.invocation}{TAG_END}{rest}\n")
            self.stream.flush()

    def flush(self):
        self.stream.flush()

    def fileno(self):
        return self.stream.fileno()

    def isatty(self):
        return False

    @property
    def encoding(self):
        return self.stream.encoding

    @property
    def buffer(self):
        return self.stream.buffer


def begin_request(headers):
    invocation = headers.get("x-isle-invocation-id", "")
    current.invocation = invocation if INVOCATION_ID.match(invocation) else None
    current.pending = {}


def end_request():
    if tag() is not None:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, TaggedStream):
                stream.end_request()
    current.invocation = None


class Request:
    """What ``handle`` receives."""

    __slots__ = ("method", "path", "query", "args", "headers", "body")

    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query
        self.args = urllib.parse.parse_qs(query, keep_blank_values=True)
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body or b"null")

    def text(self):
        return self.body.decode("utf-8")


class HttpError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def load_module():
    import importlib.util

    path = os.path.join(APP, "handler.py")
    if not os.path.exists(path):
        return None
    sys.path.insert(0, APP)
    spec = importlib.util.spec_from_file_location("handler", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["handler"] = module
    spec.loader.exec_module(module)
    return module


def pick_mode(module):
    mode = os.environ.get("ISLE_MODE")
    if mode:
        if mode not in ("handler", "wsgi", "exec"):
            raise SystemExit(f"isle-watchdog: ISLE_MODE must be handler, wsgi or exec, not {mode!r}")
        return mode
    if module is None:
        return "exec"
    if callable(getattr(module, "app", None)):
        return "wsgi"
    if callable(getattr(module, "handle", None)):
        return "handler"
    raise SystemExit(f"isle-watchdog: {APP}/handler.py defines neither handle(request) nor a WSGI app")


def to_bytes(body):
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    raise TypeError(f"a response body must be str or bytes, not {type(body).__name__}")


def call_handler(handle, request):
    result = handle(request)
    if result is None:
        return 204, {}, b""
    if isinstance(result, (str, bytes, bytearray)):
        kind = "text/plain; charset=utf-8" if isinstance(result, str) else "application/octet-stream"
        return 200, {"content-type": kind}, to_bytes(result)
    if isinstance(result, dict):
        status = int(result.get("status", 200))
        headers = dict(result.get("headers") or {})
        body = result.get("body")
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers.setdefault("content-type", "application/json")
        return status, headers, to_bytes(body)
    raise TypeError(f"handle() must return a dict, str, bytes or None, not {type(result).__name__}")


def call_wsgi(app, request, server_name):
    environ = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": urllib.parse.unquote(request.path, encoding="latin-1"),
        "QUERY_STRING": request.query,
        "SERVER_NAME": server_name,
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(request.body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.headers.get("x-forwarded-proto", "http"),
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ["HTTP_" + key] = value
    started = {}

    def start_response(status, headers, exc_info=None):
        if exc_info and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started["status"] = int(status.split(" ", 1)[0])
        started["headers"] = headers
        return lambda data: chunks.append(data)

    chunks = []
    iterable = app(environ, start_response)
    try:
        for chunk in iterable:
            chunks.append(chunk)
    finally:
        if hasattr(iterable, "close"):
            iterable.close()
    if "status" not in started:
        raise RuntimeError("the WSGI app returned without calling start_response")
    return started["status"], started["headers"], b"".join(chunks)


def cgi_environment(request):
    """The executable's environment: the function's variables plus CGI/1.1 request variables."""
    env = {k: v for k, v in os.environ.items() if k not in OWN_VARIABLES}
    env.update(
        REQUEST_METHOD=request.method,
        PATH_INFO=request.path,
        QUERY_STRING=request.query,
        CONTENT_LENGTH=str(len(request.body)),
        CONTENT_TYPE=request.headers.get("content-type", ""),
        SERVER_PROTOCOL="HTTP/1.1",
        GATEWAY_INTERFACE="CGI/1.1",
    )
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH", "PROXY"):  # HTTP_PROXY: httpoxy
            env["HTTP_" + key] = value
    return env


def call_exec(request):
    process = subprocess.Popen(
        [EXEC],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cgi_environment(request),
        cwd=APP,
        start_new_session=True,  # its own process group, so a timeout kills its children too
    )
    try:
        out, err = process.communicate(request.body, timeout=EXEC_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        end_group(process.pid)
        forward_stderr(err)
        log(f"{EXEC} ran over {EXEC_TIMEOUT:g} s and was killed")
        raise HttpError(504, "the function timed out")
    end_group(process.pid)
    forward_stderr(err)
    if process.returncode != 0:
        log(f"{EXEC} exited with {describe_exit(process.returncode)}")
        raise HttpError(500, "the function failed")
    kind = os.environ.get("ISLE_EXEC_CONTENT_TYPE", "application/octet-stream")
    return 200, {"content-type": kind}, out


def end_group(pgid):
    """Kills what the request's process left running in its group and reaps it.

    In a container the watchdog is pid 1, so the group's orphans become its
    children: unreaped, their zombies would hold pids until pids.max refuses
    every fork (a fork bomb would then outlive its request). Killing repeats
    until the group is empty, since a member may fork while it is killed.
    """
    for _ in range(1000):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        try:
            while os.waitpid(-pgid, os.WNOHANG)[0] != 0:
                pass
        except ChildProcessError:
            pass  # not our children (outside a container): the host's init reaps them
        time.sleep(0.002)


def describe_exit(code):
    return f"signal {-code}" if code < 0 else f"status {code}"


def forward_stderr(data):
    if not data:
        return
    invocation = tag()
    if invocation is not None:
        prefix = f"{TAG_START}{invocation}{TAG_END}".encode()
        data = b"".join(prefix + line + b"\n" for line in data.rstrip(b"\n").split(b"\n"))
    sys.stderr.buffer.write(data)
    if not data.endswith(b"\n"):
        sys.stderr.buffer.write(b"\n")
    sys.stderr.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "isle-watchdog"
    sys_version = ""

    def log_message(self, format, *args):
        pass  # the agent records requests; the logs are the function's own output

    def address_string(self):
        return "unix"

    def read_body(self):
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks, size = [], 0
            while True:
                line = self.rfile.readline(1024)
                length = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                size += length
                if size > MAX_BODY:
                    raise HttpError(413, "request body too large")
                chunks.append(self.rfile.read(length))
                self.rfile.readline(1024)
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            raise HttpError(413, "request body too large")
        return self.rfile.read(length) if length else b""

    def handle_one(self):
        begin_request({k.lower(): v for k, v in self.headers.items()})
        try:
            body = self.read_body()
            target = urllib.parse.urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = Request(self.command, target.path or "/", target.query, headers, body)
            status, headers, out = self.server.dispatch(request)
        except HttpError as error:
            status, headers, out = error.status, {"content-type": "text/plain; charset=utf-8"}, (str(error) + "\n").encode()
        except Exception:
            log(f"{self.command} {self.path} raised:\n{traceback.format_exc().rstrip()}")
            status, headers, out = 500, {"content-type": "text/plain; charset=utf-8"}, b"internal error\n"
        finally:
            # Before the answer goes out: the agent then has every line by the time it has the answer.
            end_request()
        self.send_response(status)
        items = headers.items() if isinstance(headers, dict) else headers
        for name, value in items:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, str(value))
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_one


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    # The agent opens many connections at once; Python's default backlog of 5 would refuse some.
    request_queue_size = 256

    def __init__(self, path, dispatch):
        # Listen on a temporary name, then rename: the socket appears only once it accepts
        # connections, so its existence is the readiness signal (bind and listen are two steps).
        partial = f"{path}.{os.getpid()}.tmp"
        super().__init__(partial, Handler)
        os.replace(partial, path)  # also replaces a socket left by a previous replica
        self.dispatch = dispatch


def main():
    sys.stdout = TaggedStream(sys.stdout)
    sys.stderr = TaggedStream(sys.stderr)
    module = load_module()
    mode = pick_mode(module)
    if mode == "handler":
        dispatch = lambda request: call_handler(module.handle, request)  # noqa: E731
    elif mode == "wsgi":
        dispatch = lambda request: call_wsgi(module.app, request, "isle")  # noqa: E731
    else:
        if not os.access(EXEC, os.X_OK):
            raise SystemExit(f"isle-watchdog: {EXEC} is not an executable file")
        dispatch = call_exec
    server = Server(SOCKET, dispatch)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    log(f"serving {mode} mode on {SOCKET}")
    server.serve_forever()
    server.server_close()
    os.unlink(SOCKET)


if __name__ == "__main__":
    main()
