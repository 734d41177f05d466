"""One URL check for every URL that enters netnsfix: --mirror, publish --baseurl, a lock, a .repo read back,
and the fleet's --repo-url.

A URL ends up in files other programs read (netnsfix.repo, a lock, the fleet's
variables), so it must be one token of one line: no whitespace, no control
character (a newline in --baseurl would add a section to netnsfix.repo); the
scheme one of those allowed; a host for http(s); a path for file. The caller
says which schemes fit (--mirror: http and https; a repository's baseurl:
file too).
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

WEB = ("http", "https")
REPOSITORY = ("http", "https", "file")


def url_problem(url: object, schemes: Collection[str] = REPOSITORY) -> str | None:
    """What is wrong with ``url`` (one phrase), or None when it is a usable URL of one of ``schemes``."""
    if not isinstance(url, str):
        return f"is a {type(url).__name__}, not a URL"
    if not url:
        return "is empty"
    for char in url:
        if char.isspace() or ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0:
            return f"holds {'whitespace' if char.isspace() else 'a control character'} ({char!r})"
    try:
        parts = urlsplit(url)
        port = parts.port  # a port that is not a number raises here
    except ValueError as error:
        return f"is not a URL ({error})"
    wanted = " or ".join(f"{s}://" for s in schemes)
    if parts.scheme.lower() not in schemes:
        return f"is not an {wanted} URL"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "has a query or fragment (a repository URL is a folder)"
    if parts.scheme.lower() in WEB:
        if not parts.hostname:
            return "names no host"
        if port == 0:
            return "names port 0"
    elif parts.scheme.lower() == "file":
        if parts.netloc not in ("", "localhost"):
            return "names a host; a file:// URL is a path on this machine (file:///PATH)"
        if not parts.path.startswith("/") or parts.path == "/":
            return "names no folder (file:///PATH)"
    return None


def checked_url(url: str, what: str, error: type[Exception], schemes: Collection[str] = REPOSITORY) -> str:
    """``url`` when usable; otherwise ``error("WHAT 'URL': PROBLEM")``: one line, the URL quoted."""
    problem = url_problem(url, schemes)
    if problem is not None:
        raise error(f"{what} {url!r}: {problem}")
    return url


def repo_url(url: str, what: str, error: type[Exception]) -> str:
    """A yum repository's base URL (http, https or file), as netnsfix.repo and the fleet's --repo-url take it."""
    return checked_url(url, what, error, REPOSITORY).rstrip("/")


__all__ = ["REPOSITORY", "WEB", "checked_url", "repo_url", "url_problem"]
