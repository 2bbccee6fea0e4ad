"""The body of POST /convert: a JSON object `{"fahrenheit": [numbers]}`, checked in bounded work.

Plain functions that know nothing of HTTP. Cost and answer size are bounded by
the body's size and the batch limit, whatever the body holds:

- the JSON is parsed once (linear in the body; nesting deeper than Python's
  recursion limit is refused, not followed; integers longer than 4300 digits
  are refused by Python's own int limit);
- the number of values is checked *before* any value is, so 43,000 values
  below absolute zero cost one check, not 43,000 error entries;
- at most `MAX_REPORTED` problems are listed per kind, then one entry says how
  many more there were (a 1000-value batch of bad values answers in ~2 KB);
- a key given twice anywhere in the document is refused: with "last one wins",
  `{"fahrenheit": [1], "fahrenheit": [212]}` would answer for a value the
  client may not have meant.

Errors are pydantic-style dicts (type, loc, msg) so the API's 422 handler
renders them like any other validation error.
"""

from __future__ import annotations

import json
from typing import Any

from app.conversion import ConversionError, check_fahrenheit

FIELD = "fahrenheit"
MAX_REPORTED = 10

Error = dict[str, Any]


class BatchError(ValueError):
    """The body is not a valid batch; `errors` says why (at most ~2 × MAX_REPORTED)."""

    def __init__(self, errors: list[Error]) -> None:
        super().__init__(f"{len(errors)} problem(s) with the batch")
        self.errors = errors


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return document


def _error(loc: tuple[str | int, ...], msg: str, error_type: str) -> Error:
    return {"type": error_type, "loc": loc, "msg": msg}


def _more(loc: tuple[str | int, ...], hidden: int, what: str) -> Error:
    return _error(loc, f"{hidden} more {what} not listed", "too_many_errors")


def load_document(body: bytes) -> Any:
    """Parse the body as UTF-8 JSON with unique keys, or raise BatchError."""
    try:
        return json.loads(body.decode("utf-8"), object_pairs_hook=_unique_object)
    except _DuplicateKeyError as exc:
        message = f"key {exc.key[:40]!r} appears more than once"
        raise BatchError([_error((), message, "duplicate_key")]) from None
    except RecursionError:
        message = "Invalid JSON: recursion limit exceeded"
        raise BatchError([_error((), message, "json_invalid")]) from None
    except (UnicodeDecodeError, ValueError) as exc:
        message = f"Invalid JSON: {str(exc)[:120]}"
        raise BatchError([_error((), message, "json_invalid")]) from None


def check_value(value: Any) -> float:
    """One element of the list: a JSON number (not a bool) inside the domain."""
    kind = type(value)
    if kind is not float and kind is not int:
        raise ConversionError("Input should be a valid number")
    try:
        number = float(value)
    except OverflowError:
        raise ConversionError("must be finite") from None
    return check_fahrenheit(number)


def parse_batch(body: bytes, max_batch_size: int) -> list[float]:
    """The values of a valid batch, in order; BatchError otherwise."""
    document = load_document(body)
    if not isinstance(document, dict):
        raise BatchError([_error((), "Input should be an object", "model_type")])
    errors: list[Error] = []
    extra = [key for key in document if key != FIELD]
    for key in extra[:MAX_REPORTED]:
        errors.append(_error((key[:64],), "Extra inputs are not permitted", "extra_forbidden"))
    if len(extra) > MAX_REPORTED:
        errors.append(_more((), len(extra) - MAX_REPORTED, "unknown keys"))
    if FIELD not in document:
        errors.append(_error((FIELD,), "Field required", "missing"))
        raise BatchError(errors)
    values = document[FIELD]
    if not isinstance(values, list):
        errors.append(_error((FIELD,), "Input should be a valid array", "list_type"))
    elif not values:
        errors.append(_error((FIELD,), "List should have at least 1 item, not 0", "too_short"))
    elif len(values) > max_batch_size:
        message = f"at most {max_batch_size} values per request, got {len(values)}"
        errors.append(_error((FIELD,), message, "too_long"))
    if errors:
        raise BatchError(errors)
    return _check_values(values)


def _check_values(values: list[Any]) -> list[float]:
    checked: list[float] = []
    errors: list[Error] = []
    bad = 0
    for index, value in enumerate(values):
        try:
            checked.append(check_value(value))
        except ConversionError as exc:
            bad += 1
            if bad <= MAX_REPORTED:
                error_type = "float_type" if "valid number" in str(exc) else "value_error"
                errors.append(_error((FIELD, index), str(exc), error_type))
    if bad > MAX_REPORTED:
        errors.append(_more((FIELD,), bad - MAX_REPORTED, "invalid values"))
    if errors:
        raise BatchError(errors)
    return checked
