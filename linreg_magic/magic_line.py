"""Reading a ``%linreg`` line: words, options and their values, as text.

IPython has already expanded ``$name`` and ``{expression}`` by the time the line
gets here (as for every magic).  From then on nothing on the line is evaluated:

- spaces separate tokens; quotes (``'`` or ``"``) group text with spaces, and a token
  that is entirely quoted loses its quotes (``--stage 'module'``, ``"my preset.json"``),
  while quotes inside a token stay (``--x df['my col']``); backslashes are kept as typed;
- ``#`` at the start of a token, outside quotes, starts a comment;
- a flag that takes a value takes the next token, whatever it looks like, unless that
  token is another flag; a token starting with ``-`` and a digit or a ``.`` is a
  number, not a flag (``--true-b -1e3``, ``--true-w -1,2``); ``--flag=value`` works too
  (``--x="a b"``);
- a switch (``--cuda-graph``) is on alone, or takes ``on``/``off`` after it;
- ``--help`` (``-h``) asks for the help; ``--`` ends the options;
- a flag given twice keeps the last value.

The values come back as typed; each option's kind reads and checks them later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import unknown_option_error, usage_error
from .option_kinds import SWITCH_WORDS
from .options import OptionSpec

__all__ = ["MagicLine", "Token", "read_line", "split_line"]

HELP_FLAGS = ("--help", "-h")


@dataclass(frozen=True)
class Token:
    """One token of the line; ``quoted`` when it was entirely in quotes."""

    text: str
    quoted: bool = False

    @property
    def is_flag(self) -> bool:
        """A flag: starts with ``-``, is not quoted, and is not a negative number."""
        text = self.text
        return (not self.quoted and len(text) > 1 and text[0] == "-"
                and not (text[1].isdigit() or text[1] == "."))


@dataclass(frozen=True)
class MagicLine:
    """What the line says: its words (a command and what follows it), the values of
    the flags given (by name, as typed; a switch alone is True), and whether it asks
    for the help."""

    words: tuple[str, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)
    help: bool = False


def _unclosed(quote: str) -> Exception:
    return usage_error(f"Could not read the options (a {quote} quote is not closed)",
                       "options look like --stage module, and a value with spaces is quoted: "
                       "--x \"df['my col']\"", "Check the quotes on the %linreg line")


def _token(line: str, start: int) -> tuple[Token, int]:
    """The token that starts at ``line[start]`` (not a space), and where it ends."""
    parts: list[str] = []
    i = start
    while i < len(line) and not line[i].isspace():
        if line[i] in "'\"":
            end = line.find(line[i], i + 1)
            if end < 0:
                raise _unclosed(line[i])
            parts.append(line[i:end + 1])
            i = end + 1
        else:
            end = i
            while end < len(line) and not line[end].isspace() and line[end] not in "'\"":
                end += 1
            parts.append(line[i:end])
            i = end
    if len(parts) == 1 and parts[0][0] in "'\"":
        return Token(parts[0][1:-1], quoted=True), i
    return Token("".join(parts)), i


def _unquoted(text: str) -> str:
    """``text`` without the quotes around it, when it is one quoted piece (``--x="a b"``)."""
    if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0] and text[0] not in text[1:-1]:
        return text[1:-1]
    return text


def split_line(line: str) -> list[Token]:
    """The tokens of a line, without its comment."""
    tokens: list[Token] = []
    i = 0
    while i < len(line):
        if line[i].isspace():
            i += 1
        elif line[i] == "#":
            break
        else:
            token, i = _token(line, i)
            tokens.append(token)
    return tokens


def _value(spec: OptionSpec, tokens: list[Token], i: int) -> tuple[Any, int]:
    """The value of ``spec`` written after its flag at ``tokens[i]``, and the next index."""
    following = tokens[i] if i < len(tokens) else None
    if not spec.kind.takes_value:
        if following is not None and following.text.strip().lower() in SWITCH_WORDS:
            return following.text, i + 1
        return True, i
    if following is None or following.is_flag:
        fix = f"Try {spec.flag} {spec.example}".rstrip()
        raise usage_error(f"{spec.flag} needs a value", spec.valid_text(), fix)
    return following.text, i + 1


def read_line(line: str, arguments: Mapping[str, OptionSpec]) -> MagicLine:
    """Read the line; ``arguments`` are the flags it may hold (flag -> declaration)."""
    tokens = split_line(line)
    words: list[str] = []
    values: dict[str, Any] = {}
    wants_help = False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if not token.is_flag:
            words.append(token.text)
        elif token.text == "--":
            words.extend(t.text for t in tokens[i:])
            break
        elif token.text in HELP_FLAGS:
            wants_help = True
        else:
            flag, equals, inline = token.text.partition("=")
            spec = arguments.get(flag)
            if spec is None:
                raise unknown_option_error(flag, list(arguments))
            if equals:
                values[spec.name] = _unquoted(inline)
            else:
                values[spec.name], i = _value(spec, tokens, i)
    return MagicLine(tuple(words), values, wants_help)
