"""Import root for the controller; Ansible itself does not need this file."""
