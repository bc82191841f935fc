"""Errors that stop a run. Each carries one message a user can act on."""

from __future__ import annotations

from igrt_edits.contract import EXIT_RUN_ERROR


class RunError(Exception):
    """The run cannot be done (exit status 2): usage, configuration, input or edit data."""

    exit_code = EXIT_RUN_ERROR


class InputError(RunError):
    """An input file cannot be read as a claims extract."""


class ConfigError(RunError):
    """A configuration file or option is invalid."""


class EditDataError(RunError):
    """An edit definition file under edits/ (or a user's extra edit file) is invalid."""


class RejectRateError(RunError):
    """More rows were rejected than the configured share allows."""
