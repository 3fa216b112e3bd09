"""pyxen: Python bindings for the Xen Management API (XenAPI 1.0) served by xend.

Standard library only.  Typical use::

    from xen.xenapi import Session, Failure
    s = Session("https://host:9367/", cafile="/etc/xen/ca.pem")
    s.login_with_password("root", "secret")
    try:
        for vm in s.xenapi.VM.get_all():
            print(s.xenapi.VM.get_name_label(vm))
        task = s.xenapi.Async.VM.start(vm, False)
    finally:
        s.logout()

Calls made through ``s.xenapi`` get the session ref inserted as their first
argument (except ``session.login_with_password`` and ``system.*``), the
``{Status, Value}`` result is unwrapped to its Value, and a ``Failure`` result
raises :class:`Failure` whose ``details`` is the ErrorDescription list.

Values are returned as xmlrpc.client decodes them: **ints arrive as decimal
strings** (``"268435456"``), as the XenAPI wire protocol requires, and are left
so; datetimes are ``xmlrpc.client.DateTime``.  XML-RPC faults and HTTP errors
(below the API level) raise ``xmlrpc.client.Fault`` / ``ProtocolError`` /
``OSError`` unchanged.

URLs: ``http://host:port/``, ``https://host:port/`` (certificates verified by
default) and ``unix:///var/run/xend/xen-api.sock`` (HTTP over a local Unix
socket; the root-only socket of xend accepts any user name).

Thread safety: a :class:`Session` may be shared by threads.  Each thread talks
over its own HTTP connection (so one thread may block in ``event.next`` while
others make calls), and the transparent re-login is serialised by a lock.
"""
import http.client
import socket
import ssl
import threading
import urllib.parse
import xmlrpc.client

__all__ = ["Session", "Failure", "local_session", "xapi_local", "DEFAULT_SOCKET",
           "UnixTransport", "API_VERSION_1_0"]

DEFAULT_SOCKET = "/var/run/xend/xen-api.sock"
API_VERSION_1_0 = "1.0"

# Methods sent without a session ref in front of their parameters.
_NO_SESSION = ("session.login_with_password",)
_NO_SESSION_PREFIX = ("system.",)
# Short names accepted on s.xenapi, as XenAPI.py users write them.
_ALIASES = {"login_with_password": "session.login_with_password",
            "logout": "session.logout"}

# Readable texts for the commonest error codes (str() of a Failure).
_TEXTS = {
    "HANDLE_INVALID": "no object of class {0} has the ref {1}",
    "SESSION_INVALID": "the session {0} is not valid (logged out, expired or the daemon restarted)",
    "SESSION_AUTHENTICATION_FAILED": "the user name or password was not accepted",
    "SESSION_NOT_REGISTERED": "session {0} is not registered for events",
    "MESSAGE_METHOD_UNKNOWN": "the server has no method {0}",
    "MESSAGE_PARAMETER_COUNT_MISMATCH": "{0} takes {1} parameters (with the session), {2} were given",
    "VM_BAD_POWER_STATE": "VM {0} must be {1} for this operation but is {2}",
    "PERMISSION_DENIED": "permission denied",
    "OPERATION_NOT_ALLOWED": "the operation is not allowed now",
    "INTERNAL_ERROR": "internal error in the server: {0}",
}


class Failure(Exception):
    """An API-level failure: ``details`` is the ErrorDescription list
    (the error code followed by its parameters, all strings)."""

    def __init__(self, details):
        if not isinstance(details, (list, tuple)):
            details = [str(details)]
        self.details = [d if isinstance(d, str) else str(d) for d in details]
        super().__init__(self.details)

    @property
    def code(self):
        return self.details[0] if self.details else ""

    @property
    def params(self):
        return self.details[1:]

    def __str__(self):
        if not self.details:
            return "XenAPI failure (no error description)"
        code, params = self.details[0], self.details[1:]
        text = _TEXTS.get(code)
        if text is not None:
            try:
                return "%s: %s" % (code, text.format(*params))
            except IndexError:
                pass
        if params:
            return "%s: %s" % (code, ", ".join(params))
        return code

    def __repr__(self):
        return "Failure(%r)" % (self.details,)


# ---- transports ----

class _TimeoutMixin:
    """A transport whose connections get a socket timeout (None: block)."""
    timeout = None

    def _set_timeout(self, conn):
        if self.timeout is not None:
            conn.timeout = self.timeout
        return conn


class _HTTPTransport(_TimeoutMixin, xmlrpc.client.Transport):
    def __init__(self, timeout=None):
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host):
        return self._set_timeout(super().make_connection(host))


class _HTTPSTransport(_TimeoutMixin, xmlrpc.client.SafeTransport):
    def __init__(self, context, timeout=None):
        super().__init__(context=context)
        self.timeout = timeout

    def make_connection(self, host):
        return self._set_timeout(super().make_connection(host))


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=None):
        super().__init__("localhost")
        self.unix_path = path
        if timeout is not None:
            self.timeout = timeout

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if self.timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(self.timeout)
            sock.connect(self.unix_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class UnixTransport(xmlrpc.client.Transport):
    """XML-RPC over HTTP over a Unix-domain stream socket (kept alive)."""

    def __init__(self, path, timeout=None):
        super().__init__()
        self.path = path
        self.timeout = timeout

    def make_connection(self, host):
        # Reuse the kept-alive connection like the base class does.
        if self._connection and self._connection[0] == host:
            return self._connection[1]
        self._connection = host, _UnixHTTPConnection(self.path, self.timeout)
        return self._connection[1]


def _ssl_context(cafile, verify, context):
    if context is not None:
        return context
    ctx = ssl.create_default_context(cafile=cafile)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _unix_path(url):
    """The socket path of unix:///path, unix:/path or unix:path."""
    rest = url[len("unix:"):]
    if rest.startswith("//"):
        parsed = urllib.parse.urlsplit(url)
        if parsed.netloc not in ("", "localhost"):
            raise ValueError("unix URL must name a local path: %r" % url)
        rest = parsed.path
    rest = urllib.parse.unquote(rest)
    if not rest:
        raise ValueError("unix URL without a socket path: %r" % url)
    return rest


# ---- the session ----

class _Dispatcher:
    """``s.xenapi.VM.get_all`` -> a callable for the wire method ``VM.get_all``."""
    __slots__ = ("_send", "_name")

    def __init__(self, send, name):
        self._send = send
        self._name = name

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        if attr.endswith("_") and not attr.endswith("__"):
            attr = attr[:-1]          # event.from_ -> event.from (a Python keyword)
        return _Dispatcher(self._send, attr if self._name is None else "%s.%s" % (self._name, attr))

    def __getitem__(self, attr):
        return _Dispatcher(self._send, attr if self._name is None else "%s.%s" % (self._name, attr))

    def __call__(self, *args):
        if self._name is None:
            raise TypeError("xenapi is not callable; call xenapi.<class>.<message>(...)")
        return self._send(self._name, args)

    def __repr__(self):
        return "<XenAPI method %s>" % (self._name or "")


class Session:
    """A XenAPI session with a xend (or any XenAPI 1.0) server.

    ``url``: ``http://``, ``https://`` or ``unix:///path/to/socket``.
    ``cafile``: CA certificates (PEM) to verify an https server against
    (default: the system's).  ``verify=False`` (or ``ignore_ssl=True``)
    turns verification off.  ``context``: an ``ssl.SSLContext`` to use as is.
    ``timeout``: socket timeout in seconds (default None: block, as
    ``event.next`` needs).
    """

    def __init__(self, url, cafile=None, verify=True, context=None, timeout=None,
                 ignore_ssl=False, encoding=None, verbose=False):
        self.url = url
        if ignore_ssl:
            verify = False
        scheme = url.split(":", 1)[0].lower()
        if scheme == "unix":
            path = _unix_path(url)
            self._endpoint = "http://localhost/"
            self._new_transport = lambda: UnixTransport(path, timeout)
        elif scheme == "http":
            self._endpoint = url
            self._new_transport = lambda: _HTTPTransport(timeout)
        elif scheme == "https":
            ctx = _ssl_context(cafile, verify, context)
            self._endpoint = url
            self._new_transport = lambda: _HTTPSTransport(ctx, timeout)
        else:
            raise ValueError("unsupported URL scheme %r (http, https or unix)" % scheme)
        self._encoding = encoding
        self._verbose = verbose
        self._local = threading.local()
        self._lock = threading.Lock()
        self._session = ""
        self._login = None            # (method, params) to log in again with
        self.last_login_method = None
        self.last_login_params = None
        self.API_version = API_VERSION_1_0

    # ---- plumbing ----
    def _proxy(self):
        p = getattr(self._local, "proxy", None)
        if p is None:
            p = xmlrpc.client.ServerProxy(self._endpoint, transport=self._new_transport(),
                                          encoding=self._encoding, verbose=self._verbose,
                                          allow_none=False)
            self._local.proxy = p
        return p

    def _raw(self, method, params):
        """One XML-RPC call on this thread's connection; the raw result."""
        return getattr(self._proxy(), method)(*params)

    @staticmethod
    def _unwrap(method, result):
        if isinstance(result, dict) and "Status" in result:
            if result["Status"] == "Success":
                return result.get("Value", "")
            if result["Status"] == "Failure":
                raise Failure(result.get("ErrorDescription") or ["INTERNAL_ERROR", "Failure without ErrorDescription"])
            raise Failure(["INTERNAL_ERROR", "%s: unexpected Status %r: %r" % (
                method, result["Status"], result.get("ErrorDescription", result.get("Value")))])
        if method.startswith(_NO_SESSION_PREFIX):
            return result             # a bare XML-RPC introspection answer
        raise Failure(["INTERNAL_ERROR", "%s: result is not a Status struct: %r" % (method, result)])

    def xenapi_request(self, method, params):
        """Call the wire method ``method`` with ``params`` (without the session)."""
        params = tuple(params)
        method = _ALIASES.get(method, method)
        if method in _NO_SESSION or method.startswith(_NO_SESSION_PREFIX):
            if method == "session.login_with_password":
                return self._do_login(method, params)
            return self._unwrap(method, self._raw(method, params))
        if method == "session.logout":
            return self._do_logout(params)
        used = self._session
        try:
            return self._unwrap(method, self._raw(method, (used,) + params))
        except Failure as f:
            if f.details[:1] != ["SESSION_INVALID"] or not self._relogin(used):
                raise
        # Retry exactly once with the new session; a second SESSION_INVALID is raised.
        return self._unwrap(method, self._raw(method, (self._session,) + params))

    def _relogin(self, stale):
        """Log in again after the server refused the session ``stale``.
        True if a (new) session is now in place to retry with."""
        with self._lock:
            if self._login is None:
                return False
            if self._session != stale:
                return True           # another thread logged in again already
            method, params = self._login
            try:
                self._session = self._unwrap(method, self._raw(method, params))
            except Failure:
                return False
            return True

    def _do_login(self, method, params):
        with self._lock:
            ref = self._unwrap(method, self._raw(method, params))
            self._session = ref
            self._login = (method, params)
            self.last_login_method = method
            self.last_login_params = params
        return ref

    def _do_logout(self, params):
        with self._lock:
            ref = self._session
            self._login = None        # an explicit logout: never log in again
            self._session = ""
        if not ref:
            return ""
        try:
            return self._unwrap("session.logout", self._raw("session.logout", (ref,) + tuple(params)))
        except Failure as f:
            if f.details[:1] == ["SESSION_INVALID"]:
                return ""             # already gone: logged out is logged out
            raise

    # ---- the public surface ----
    @property
    def xenapi(self):
        return _Dispatcher(self.xenapi_request, None)

    @property
    def handle(self):
        """The current session ref ("" when not logged in)."""
        return self._session

    def login_with_password(self, username, password, *rest):
        return self.xenapi_request("session.login_with_password", (username, password) + rest)

    def logout(self):
        return self.xenapi_request("session.logout", ())

    def close(self):
        """Log out (if logged in) and drop this thread's connection."""
        try:
            if self._session:
                self.logout()
        finally:
            p = getattr(self._local, "proxy", None)
            if p is not None:
                p("close")()
                self._local.proxy = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<xen.xenapi.Session %s%s>" % (self.url, " logged in" if self._session else "")


def local_session(path=DEFAULT_SOCKET, username=None, password="", timeout=None):
    """A Session over xend's root-only Unix socket (``/var/run/xend/xen-api.sock``).
    Logged in when ``username`` is given (that listener accepts any name)."""
    s = Session("unix://" + path, timeout=timeout)
    if username is not None:
        s.login_with_password(username, password)
    return s


def xapi_local():
    """A Session (not yet logged in) over the default local socket."""
    return local_session()
