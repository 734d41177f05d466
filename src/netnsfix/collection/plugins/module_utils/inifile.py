"""INI edits that keep everything else: comments, order, spacing, other keys.

Read the way Python's configparser reads (strict: a repeated section or
option is an error; ``#`` and ``;`` comments; indented lines continue a
value), and placed the way ``netnsfix host`` always placed them:

- a key that exists (names compared without case) gets ``key = value`` in
  place of its line(s), keeping its own spelling and delimiter;
- a new key goes right after the comment block that shows it (``# key =
  ...``, or ``# Default: key = ...`` / ``# Example: key = ...`` as quantum's
  plugin inis write them; only the section's own comments count), else right
  after the section's last option, else at the section's end;
- a missing section is appended at the end of the file with its keys.

Bytes that are not changed stay as they were; nothing changes when every value
is already set. Python 2.7's and 3.11's results are the same.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from .errors import NodeError, show

_SECTION = re.compile(r"\[(?P<header>.+)\](?P<raw_comment>.*)")
_OPTION = re.compile(
    r"""
    (?P<option>(?:(?!=|:)\S)*(?:(?:(?!=|:)\s)+(?:(?!=|:)\S)+)*)
    \s*(?P<vi>=|:)\s*
    (?P<value>.*)$
    """,
    re.VERBOSE,
)
_NONSPACE = re.compile(r"\S")
_PREFIXES = ("#", ";")


def commented_key(key):
    # type: (str) -> str
    """The pattern of a comment line that shows ``key`` (``# key = ...``, ``# Default: key = ...``)."""
    return r"^[ \t]*[#;][ \t]*(?:(?:Default|Example)[ \t]*:[ \t]*)?%s[ \t]*[=:]" % re.escape(key)


class _Block:
    """Consecutive lines of one kind: an option (with its continuation lines), a comment, or blank space."""

    def __init__(self, kind, line, key=None, delimiter=None, value=None):
        # type: (str, str, str | None, str | None, str | None) -> None
        self.kind = kind
        self.lines = [line]
        self.key = key
        self.delimiter = delimiter
        self.values = [] if value is None else [value]

    def text(self):
        # type: () -> str
        return "".join(self.lines)

    def value(self):
        # type: () -> str
        return "\n".join(self.values).rstrip()


class _Section:
    def __init__(self, name, header):
        # type: (str, str) -> None
        self.name = name
        self.header = header
        self.blocks = []  # type: list[_Block]

    def text(self):
        # type: () -> str
        head = self.header
        if self.blocks and not head.endswith("\n"):
            head += "\n"
        return head + "".join(block.text() for block in self.blocks)

    def option(self, key):
        # type: (str) -> _Block | None
        for block in self.blocks:
            if block.kind == "option" and (block.key or "").lower() == key.lower():
                return block
        return None

    def insert(self, index, block):
        # type: (int, _Block) -> None
        """Insert ``block`` at ``index``, after a newline if the block before ends without one (end of file)."""
        if index > 0 and not self.blocks[index - 1].text().endswith("\n"):
            self.blocks.insert(index, _Block("space", "\n"))
            index += 1
        self.blocks.insert(index, block)


def _lines(text):
    # type: (str) -> list[str]
    """Lines split at ``\\n`` only, each keeping it (as configparser iterates a string)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _parse(text, where):
    # type: (str, str) -> tuple[list[_Block], list[_Section]]
    before = []  # type: list[_Block]
    sections = []  # type: list[_Section]
    seen = set()  # type: set[object]
    errors = []  # type: list[str]
    current = None  # type: _Section | None
    option = None  # type: _Block | None
    indent_level = 0
    for number, line in enumerate(_lines(text), 1):
        container = before if current is None else current.blocks
        if line.rstrip().startswith(_PREFIXES):
            if container and container[-1].kind == "comment":
                container[-1].lines.append(line)
            else:
                container.append(_Block("comment", line))
            continue
        value = line.strip()
        if not value:
            if option is not None:
                option.values.append("")
            if container and container[-1].kind == "space":
                container[-1].lines.append(line)
            else:
                container.append(_Block("space", line))
            continue
        first = _NONSPACE.search(line)
        indent = first.start() if first else 0
        if current is not None and option is not None and indent > indent_level:
            option.values.append(value)
            last = current.blocks[-1]
            if last.kind == "comment":  # an unindented comment inside a multi-line value belongs to it
                current.blocks.pop()
                option.lines.extend(last.lines)
                last = option
            if last.kind == "space":
                last.lines.append(line)
            else:
                option.lines.append(line)
            continue
        indent_level = indent
        header = _SECTION.match(value)
        if header:
            name = header.group("header")
            if name in seen:
                raise NodeError(
                    "not an INI file netnsfix can edit: While reading from %s [line %2d]: section %s already exists"
                    % (show(where), number, show(name)),
                    path=where,
                )
            seen.add(name)
            current = _Section(name, line)
            sections.append(current)
            option = None
            continue
        if current is None:
            raise NodeError(
                "not an INI file netnsfix can edit: File contains no section headers. file: %s, line: %d %s"
                % (show(where), number, show(line)),
                path=where,
            )
        match = _OPTION.match(value)
        if match and match.group("option"):
            key = match.group("option").rstrip()
            if (current.name, key) in seen:
                raise NodeError(
                    "not an INI file netnsfix can edit: While reading from %s [line %2d]: option %s in section %s "
                    "already exists" % (show(where), number, show(key), show(current.name)),
                    path=where,
                )
            seen.add((current.name, key))
            option = _Block("option", line, key, match.group("vi"), match.group("value").strip())
            current.blocks.append(option)
        elif first is not None and first.group(0) in _PREFIXES:
            current.blocks.append(_Block("comment", line))
        else:
            errors.append("[line %2d]: %s" % (number, show(line)))
    if errors:
        raise NodeError(
            "not an INI file netnsfix can edit: Source contains parsing errors: %s %s"
            % (show(where), " ".join(errors)),
            path=where,
        )
    for section in sections:  # blank lines followed by more of a value belong to the value
        for index in range(len(section.blocks) - 1):
            block, after = section.blocks[index], section.blocks[index + 1]
            if block.kind == "option" and after.kind == "space" and after.text().strip():
                end = max(n for n, text in enumerate(after.lines) if text.strip()) + 1
                block.lines.extend(after.lines[:end])
                del after.lines[:end]
        for section_blocks in [section.blocks]:
            section_blocks[:] = [b for b in section_blocks if b.lines]
    return before, sections


def _anchor(section, key):
    # type: (_Section, str) -> int | None
    """The index after which a new ``key`` goes (see the module docstring), or None: the section's end."""
    commented = re.compile(commented_key(key))
    last_option = None
    for index, block in enumerate(section.blocks):
        if block.kind == "comment" and any(commented.match(line) for line in block.lines):
            return index
        if block.kind == "option":
            last_option = index
    return last_option


def set_options(data, where, values):
    # type: (bytes, str, list[tuple[str, list[tuple[str, str]]]]) -> bytes
    """``data`` with ``values`` ([(section, [(key, value)])], in order) set; the same bytes when nothing differs."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NodeError("not an INI file netnsfix can edit: not UTF-8 (%s)" % error.reason, path=where)
    before, sections = _parse(text, where)
    changed = False
    added = ""
    for section_name, options in values:
        section = next((s for s in sections if s.name == section_name), None)
        if section is None:
            added += "\n[%s]\n" % section_name + "".join("%s = %s\n" % (key, value) for key, value in options)
            continue
        for key, value in options:
            existing = section.option(key)
            if existing is not None:
                if existing.value().strip() != value:
                    existing.lines = ["%s %s %s\n" % (existing.key, existing.delimiter, value)]
                    existing.values = [value]
                    changed = True
                continue
            block = _Block("option", "%s = %s\n" % (key, value), key, "=", value)
            anchor = _anchor(section, key)
            section.insert(len(section.blocks) if anchor is None else anchor + 1, block)
            changed = True
    if not changed and not added:
        return data
    result = "".join(b.text() for b in before) + "".join(s.text() for s in sections) if changed else text
    if added and result and not result.endswith("\n"):
        result += "\n"
    return (result + added).encode("utf-8")


def get_option(data, where, section, key):
    # type: (bytes, str, str, str) -> str | None
    """The value of ``key`` in ``[section]``, or None."""
    _, sections = _parse(data.decode("utf-8"), where)
    found = next((s for s in sections if s.name == section), None)
    option = None if found is None else found.option(key)
    return None if option is None else option.value().strip()
