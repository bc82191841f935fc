"""The package's version, in a module of its own: modules that print it import this, not the
package (whose `check` imports them)."""

__version__ = "0.1.0"
