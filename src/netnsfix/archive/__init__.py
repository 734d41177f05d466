"""The Fedora archive: its layout, repodata, resolving the recipe's SRPM, fetching, the recipe's lock."""
