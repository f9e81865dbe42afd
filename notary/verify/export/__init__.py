"""The case export: its zip, its signed manifest, and its verification offline."""
