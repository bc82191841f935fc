"""Reporters: turn a finished run into output. They never decide what is a finding."""
