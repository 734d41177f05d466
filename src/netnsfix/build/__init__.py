"""The build stage: the build root's package closure, its image, and the rebuild with the network off."""
