"""``netnsfix host``'s controller side: settings from TOML, the topology commands, and the glue that runs
the node library (the collection's module_utils, the code the Ansible modules run) in-process on ``--root``.
"""
