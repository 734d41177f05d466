"""Reading RPM files: header values and the cpio payload, extracted safely."""
