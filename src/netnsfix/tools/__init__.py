"""Seams to the programs netnsfix drives: the container engine, rpmbuild, debootstrap."""
