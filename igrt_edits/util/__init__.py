"""Small shared helpers: Arrow, grouping, hashing, TOML reading, memory."""
