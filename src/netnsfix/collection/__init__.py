"""netnsfix.node: the Ansible collection that holds the node side (see galaxy.yml)."""
