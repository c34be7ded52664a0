"""Backups: one archive of a consistent database dump and the stored originals, and its restore."""
