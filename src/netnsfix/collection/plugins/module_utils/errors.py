"""The node library's one error type: what went wrong, where, in one line.

Modules turn it into ``fail_json(msg=str(error))``; ``netnsfix host`` into
its HostError (exit 2). ``path`` is the file or folder concerned (as shown to
the user, under the root), ``key`` the setting concerned: fields, so no caller
has to parse them back out of the text.
"""

from __future__ import absolute_import, division, print_function

import re

__metaclass__ = type


class NodeError(Exception):
    """Bad input or a node netnsfix cannot change safely; ``str()`` is the one line to show."""

    def __init__(self, reason, path=None, key=None):
        # type: (str, str | None, str | None) -> None
        Exception.__init__(self, reason)
        self.reason = reason
        self.path = path
        self.key = key

    def __str__(self):
        # type: () -> str
        if self.path:
            return "%s: %s" % (self.path, self.reason)
        return self.reason


class SettingsError(NodeError):
    """A node setting is wrong: ``key`` names it, ``source`` where it came from (a file, the command line)."""

    def __init__(self, key, reason, source=None):
        # type: (str, str, str | None) -> None
        NodeError.__init__(self, reason, path=source, key=key)


def show(value):
    # type: (object) -> str
    """``repr`` as Python 3 writes it (no ``u''`` on Python 2.7), for messages that read the same on both."""
    text = repr(value)
    return re.sub(r"(^|[\[(,{: ])u(['\"])", r"\1\2", text)
