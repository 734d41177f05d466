"""Small helpers every stage shares: files, commands, HTTP serving."""
