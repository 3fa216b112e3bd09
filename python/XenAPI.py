"""Compatibility name: scripts written against the historical ``XenAPI``
module (``import XenAPI; s = XenAPI.Session(url)``) run on pyxen unchanged.
Everything lives in :mod:`xen.xenapi`."""
from xen.xenapi import *  # noqa: F401,F403
from xen.xenapi import (Session, Failure, local_session, xapi_local,  # noqa: F401
                        DEFAULT_SOCKET, UnixTransport, API_VERSION_1_0)
