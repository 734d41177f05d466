"""The fleet: the fixed iproute and the companion steps on every node, through Ansible.

``export`` writes an Ansible project whose role is made from the host steps'
descriptions (:mod:`netnsfix.collection.plugins.module_utils.plan`); ``run`` drives it through the one
seam to Ansible (:mod:`netnsfix.fleet.ansible`) and reads one result per node.
"""

# the file that marks a folder as a project `netnsfix fleet export` wrote (export writes it; a run with
# --project and a new export over an old one look for it)
MARKER = ".netnsfix-fleet"
