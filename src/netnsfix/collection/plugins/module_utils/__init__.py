"""The node library: runs unchanged on a node's Python 2.7 and the controller's Python 3.11."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
