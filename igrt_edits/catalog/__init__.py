"""The edit catalog: its types and its loading from the TOML files under edits/."""
