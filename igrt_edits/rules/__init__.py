"""The rules: the lines they see, the engine and the rule kinds."""
