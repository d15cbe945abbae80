"""Reading film.yaml fast, with exactly the values ruamel.yaml's round-trip loader gives.

film.yaml has always been read with ruamel.yaml (YAML 1.2, line numbers for errors), which is pure
Python: a 2,000-shot film took 1.5 s to read, 10,000 shots 7.5 s, on every `film` command. Here
libyaml's C parser (PyYAML's `CParser`) composes the node tree instead, and each plain scalar is
resolved and built by ruamel's own YAML 1.2 resolver and constructor, so a value is what it always
was (`yes` stays text, `0o10` is 8, `1:30` is text) and no data version moves.

`fast_load` returns plain dicts and lists, or raises `NotFast` for anything outside the common
subset it handles the same way for certain: a directive, a tag other than the core schema's, a
merge key, a duplicate key, a key that is not a plain value, a tab, a line break YAML 1.1 and
1.2 read differently, or any syntax error. The caller then reads the file with ruamel, whose errors carry
the line numbers.
"""

from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.nodes import ScalarNode as RuamelScalar
from ruamel.yaml.resolver import VersionedResolver

STR, NULL, BOOL, INT, FLOAT = (f"tag:yaml.org,2002:{name}" for name in ("str", "null", "bool", "int", "float"))
MAP, SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
# YAML 1.1 breaks lines at the first three, YAML 1.2 does not; libyaml takes a tab in places
# ruamel.yaml refuses one
READ_DIFFERENTLY = ("\x85", "\u2028", "\u2029", "\t")


class NotFast(Exception):
    """The document needs ruamel.yaml's own reading (or is not valid YAML)."""


class _Yaml12Resolver(yaml.resolver.BaseResolver):
    """Plain scalars resolved as ruamel.yaml's VersionedResolver resolves them in YAML 1.2, from
    its own table of patterns by first character (asked once: asking it per scalar costs seconds
    at feature length)."""

    patterns = {first: list(entries) for first, entries in
                VersionedResolver(version=(1, 2), loader=None).versioned_resolver.items()}

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            candidates = self.patterns.get(value[0] if value else "", []) + self.patterns.get(None, [])
            return next((str(tag) for tag, pattern in candidates if pattern.match(value)), STR)
        return super().resolve(kind, value, implicit)


try:
    from yaml.cyaml import CParser
except ImportError:  # a PyYAML built without libyaml: ruamel reads every film.yaml, as before
    CParser = None
else:
    class _Loader(CParser, _Yaml12Resolver):
        def __init__(self, text: str):
            CParser.__init__(self, text)
            _Yaml12Resolver.__init__(self)


class _Builder:
    """Nodes to Python values; non-string scalars are built by ruamel's round-trip constructor."""

    def __init__(self):
        self.constructor = YAML(typ="rt").constructor
        # each distinct plain scalar built once: a feature repeats `duration: 1.0` thousands of
        # times, and ruamel builds one in about 50 µs (the values are immutable numbers and flags)
        self.built: dict[tuple[str, str], Any] = {}

    def value(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            if node.tag == STR:
                return node.value
            if node.tag in (NULL, BOOL, INT, FLOAT):
                key = (node.tag, node.value)
                if key not in self.built:
                    self.built[key] = self.constructor.construct_object(RuamelScalar(node.tag, node.value))
                return self.built[key]
            raise NotFast(f"tag {node.tag}")
        if isinstance(node, yaml.SequenceNode) and node.tag == SEQ:
            return [self.value(item) for item in node.value]
        if isinstance(node, yaml.MappingNode) and node.tag == MAP:
            return self.mapping(node)
        raise NotFast(f"tag {node.tag}")

    def mapping(self, node: yaml.MappingNode) -> dict:
        out = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in (STR, INT, BOOL, NULL, FLOAT):
                raise NotFast("a key that is not a plain value, or a merge key")
            key = self.value(key_node)
            if key in out:
                raise NotFast("a duplicate key")
            out[key] = self.value(value_node)
        return out


def fast_load(text: str) -> Any:
    """The document's value as ruamel.yaml's round-trip loader reads it (as plain dicts and lists),
    or NotFast."""
    if CParser is None:
        raise NotFast("PyYAML has no libyaml here")
    if text.lstrip().startswith("%") or "\n%" in text or any(mark in text for mark in READ_DIFFERENTLY):
        raise NotFast("a directive, a tab, or a line break YAML 1.1 reads differently")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as err:
        raise NotFast(str(err)) from None
    finally:
        loader.dispose()
    return None if node is None else _Builder().value(node)
