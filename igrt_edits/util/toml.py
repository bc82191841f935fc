"""Read TOML data files with errors that name the file and the key."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from igrt_edits.errors import RunError

T = TypeVar("T")


def load_toml(path: Path, error: type[RunError]) -> dict[str, Any]:
    """Parse a TOML file (safe: data only, never code)."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML ({exc})") from exc


class Table:
    """A TOML table being read: typed access, and unknown keys reported by name."""

    def __init__(self, data: dict[str, Any], where: str, error: type[RunError]) -> None:
        if not isinstance(data, dict):
            raise error(f"{where}: expected a table, found {type(data).__name__}")
        self.data = data
        self.where = where
        self.error = error
        self.used: set[str] = set()

    def fail(self, key: str, problem: str) -> RunError:
        return self.error(f"{self.where}: {key}: {problem}")

    def get(self, key: str, kind: type[T] | tuple[type, ...], default: Any = ...) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "missing (required)")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.fail(key, f"expected {names}, found {type(value).__name__} {value!r}")
        return value

    def text(self, key: str, default: Any = ...) -> str:
        return self.get(key, str, default)

    def strings(self, key: str, default: Any = ...) -> list[str]:
        value = self.get(key, (list, str), default)
        values = [value] if isinstance(value, str) else value
        if values is None:
            return values
        if not all(isinstance(v, str) for v in values):
            raise self.fail(key, "expected a list of strings")
        return list(values)

    def date(self, key: str) -> dt.date | None:
        value = self.get(key, dt.date, None)
        if isinstance(value, dt.datetime):
            raise self.fail(key, "expected a date (YYYY-MM-DD), found a date-time")
        return value

    def table(self, key: str, default: Any = ...) -> Table | None:
        value = self.get(key, dict, default)
        if value is None:
            return None
        return Table(
            value,
            f"{self.where} [{key}]" if "[" not in self.where else f"{self.where}.{key}",
            self.error,
        )

    def tables(self, key: str) -> list[Table]:
        value = self.get(key, list, [])
        return [Table(item, f"{self.where} {key}[{i}]", self.error) for i, item in enumerate(value)]

    def choice(self, key: str, allowed: Iterable[str], default: Any = ...) -> str:
        value = self.text(key, default)
        allowed = list(allowed)
        if value is not None and value not in allowed:
            raise self.fail(key, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def finish(self, also_allowed: Iterable[str] = ()) -> None:
        """Fail on keys nobody asked for: a typo in a data file must not pass silently."""
        unknown = set(self.data) - self.used - set(also_allowed)
        if unknown:
            key = sorted(unknown)[0]
            raise self.fail(key, "unknown key")

    def each(self, fn: Callable[[str, Any], T]) -> list[T]:
        self.used.update(self.data)
        return [fn(k, v) for k, v in self.data.items()]
