"""The Logix data model: atomic and structured types and their memory layout, templates, tag paths,
tag memory and the tag database. Pure: no sockets."""
