"""Stateless array operations the layers are built from."""
