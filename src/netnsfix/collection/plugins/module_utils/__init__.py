"""The node library: runs unchanged on a node's Python 2.7 and the controller's Python 3.11."""
