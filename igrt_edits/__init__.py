"""igrt-edits: a claims-line billing edit linter for Image-Guided Radiation Therapy coding."""

__version__ = "0.1.0"
