"""The publish stage: a yum repository Fedora 18's yum 3.4 can read, signed when asked."""
