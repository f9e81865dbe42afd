"""The evidence bundle: its record, its members, and every check of it offline."""
