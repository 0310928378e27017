"""The web listener: the page's files and the chat's WebSocket on one port.

The page is plain files shipped inside the package (chatroom/page), served as
they are: no build step, nothing fetched from any other host. Every response
carries a Content-Security-Policy that lets the page run only the server's own
scripts and styles and connect only back to the server, and nosniff, so a
browser never takes a file for something it is not. Only the page's own files
exist; any other path is a plain 404.
"""

from __future__ import annotations

from importlib import resources

from autobahn.twisted.resource import WebSocketResource
from twisted.application import strports
from twisted.application.internet import StreamServerEndpointService
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IListeningPort, IStreamServerEndpoint
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Site
from twisted.web.static import File
from zope.interface import implementer

from chatroom.adapters.web import PATH, WebFactory

_log = Logger()

SECURITY_HEADERS = {
    b"content-security-policy": (
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        b"manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"cache-control": b"no-cache",  # a page from an older version of the server is never kept
}


class NotFound(Resource):
    """A plain 404, the same for every unknown path."""

    isLeaf = True

    def render(self, request) -> bytes:
        request.setResponseCode(404)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"Not found.\n"


class PageRoot(Resource):
    """'/' is the page; its files by name; /chat the WebSocket."""

    def __init__(self, factory: WebFactory):
        super().__init__()
        folder = resources.files("chatroom") / "page"
        for item in folder.iterdir():
            if item.is_file() and not item.name.startswith((".", "_")):
                self.putChild(item.name.encode(), File(str(item), defaultType="application/octet-stream"))
        self.putChild(b"", self.children[b"index.html"])
        self.putChild(PATH, WebSocketResource(factory))

    def getChild(self, path: bytes, request) -> Resource:
        return NotFound()


class WebSite(Site):
    """Serves PageRoot, with the security headers on every response."""

    def __init__(self, factory: WebFactory):
        super().__init__(PageRoot(factory))

    def getResourceFor(self, request) -> Resource:
        for name, value in SECURITY_HEADERS.items():
            request.setHeader(name, value)
        if len(request.postpath) > 1:  # /index.html/x: no folders here
            return NotFound()
        return super().getResourceFor(request)


def web_service(description: str, site: WebSite, reactor) -> StreamServerEndpointService:
    """The web listener as a service (strports', so a port in use stops twistd); once it listens,
    twistd's output and the log say where the page is, beside the "starting on" line."""
    service = strports.service(description, site, reactor=reactor)
    service.endpoint = _Announcing(service.endpoint, "https" if description.startswith("ssl:") else "http")
    return service


@implementer(IStreamServerEndpoint)
class _Announcing:
    def __init__(self, endpoint: IStreamServerEndpoint, scheme: str):
        self.endpoint = endpoint
        self.scheme = scheme

    def listen(self, factory):
        return self.endpoint.listen(factory).addCallback(self._announce)

    def _announce(self, port: IListeningPort) -> IListeningPort:
        address = page_address(port.getHost(), self.scheme)
        if address:
            _log.info("web page at {address}", address=address)
        return port


def page_address(host, scheme: str) -> str | None:
    """'http://HOST:PORT/' for a listening address (localhost when it is every interface); None if not IP."""
    if not isinstance(host, IPv4Address | IPv6Address):
        return None
    name = host.host.split("%")[0]  # an IPv6 scope ("%eth0") is no part of an address a browser takes
    if name in ("", "0.0.0.0", "::"):
        name = "localhost"
    elif ":" in name:
        name = f"[{name}]"
    return f"{scheme}://{name}:{host.port}/"
