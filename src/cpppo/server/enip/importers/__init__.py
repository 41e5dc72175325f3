"""Importers that build a tag database from files: Studio 5000 L5X exports, JSON tag databases and
pycomm3 tag dumps."""
