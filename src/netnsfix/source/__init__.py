"""The source stage: obtain the SRPM, verify and add the patch, edit the spec, write the patched SRPM."""
