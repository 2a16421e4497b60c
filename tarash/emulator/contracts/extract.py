"""Rebuild the emulator's contract files from the providers' published descriptions.

Not imported by the emulator: run by hand when a provider's contract moves (see this
folder's ``README.md``). It reads the raw, multi-megabyte descriptions from paths given on
the command line and writes only what the emulator checks (fields, types, enums, ranges,
required fields, model ids), in the small JSON-schema subset :mod:`tarash.emulator._contract`
reads::

    python -m tarash.emulator.contracts.extract openai SPEC.json [--commit SHA]
    python -m tarash.emulator.contracts.extract fal ENDPOINTS.ts[@SHA] ... --models IDS.txt
    python -m tarash.emulator.contracts.extract runway SDK_CHECKOUT --commit SHA
    python -m tarash.emulator.contracts.extract google SDK_CHECKOUT --commit SHA

Only the standard library is used, so the script runs without the project installed.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
READ_ON = "2026-12-07"

# -- the subset ------------------------------------------------------------------------
#
# A schema is a dict with some of: ``type`` (object, string, integer, number, boolean,
# array, file, any), ``enum``, ``known`` (an open enum: the values a description lists for
# a field that takes any string), ``minimum``/``maximum``, ``minLength``/``maxLength``,
# ``minItems``/``maxItems``, ``properties``, ``required``, ``items``, ``nullable``,
# ``anyOf``. Objects refuse fields they do not list unless ``additional`` is true.

_KEPT = ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems")


class _OpenAPI:
    """Flattens an OpenAPI 3 schema (``$ref``, ``anyOf``/``oneOf``, ``nullable``)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.schemas: Mapping[str, Any] = document["components"]["schemas"]
        self.paths: Mapping[str, Any] = document["paths"]

    def flatten(self, schema: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
        """``schema`` in the subset, with references resolved (up to a nesting depth)."""
        if "$ref" in schema:
            if depth > 6:
                return {"type": "any"}
            name = schema["$ref"].rsplit("/", 1)[1]
            return self.flatten(self.schemas[name], depth + 1)
        alternatives = schema.get("anyOf") or schema.get("oneOf")
        if alternatives:
            return self._union([self.flatten(item, depth + 1) for item in alternatives], schema)
        kind = schema.get("type")
        if kind == "string" and schema.get("format") == "binary":
            return {"type": "file"}
        out: dict[str, Any] = {"type": kind} if isinstance(kind, str) else {"type": "any"}
        if "enum" in schema:
            out["enum"] = list(schema["enum"])
        out.update({key: schema[key] for key in _KEPT if key in schema})
        if schema.get("nullable"):
            out["nullable"] = True
        if kind == "array" and "items" in schema:
            out["items"] = self.flatten(schema["items"], depth + 1)
        if kind == "object" or "properties" in schema:
            out["type"] = "object"
            properties = schema.get("properties", {})
            out["properties"] = {
                name: self.flatten(value, depth + 1) for name, value in properties.items()
            }
            if schema.get("required"):
                out["required"] = list(schema["required"])
            if not properties or schema.get("additionalProperties"):
                out["additional"] = True
        return out

    @staticmethod
    def _union(options: list[dict[str, Any]], schema: Mapping[str, Any]) -> dict[str, Any]:
        nullable = any(option.get("type") == "null" for option in options) or bool(
            schema.get("nullable")
        )
        options = [option for option in options if option.get("type") != "null"]
        # OpenAI's "any string, or one of these" (model ids, sizes): an open enum.
        plain = [option for option in options if option == {"type": "string"}]
        listed = [
            option for option in options if option.get("type") == "string" and "enum" in option
        ]
        if plain and listed and len(plain) + len(listed) == len(options):
            out: dict[str, Any] = {
                "type": "string",
                "known": [value for option in listed for value in option["enum"]],
            }
        elif len(options) == 1:
            out = dict(options[0])
        else:
            out = {"anyOf": options}
        if nullable:
            out["nullable"] = True
        return out

    def body(self, path: str, content_type: str, method: str = "post") -> dict[str, Any]:
        """The request body schema of ``method path`` for ``content_type``."""
        content = self.paths[path][method]["requestBody"]["content"]
        return self.flatten(content[content_type]["schema"])


def extract_openai(spec: Path, commit: str) -> dict[str, Any]:
    """OpenAI's Videos and Images request bodies, from ``openai/openai-openapi``."""
    api = _OpenAPI(json.loads(spec.read_text()))
    videos_json = api.body("/videos", "application/json")
    return {
        "provider": "openai",
        "source": f"https://github.com/openai/openai-openapi/blob/{commit}/openapi.json",
        "read": READ_ON,
        "bodies": {
            "videos.json": videos_json,
            "videos.multipart": api.body("/videos", "multipart/form-data"),
            "images.generations": api.body("/images/generations", "application/json"),
            "images.edits.multipart": api.body("/images/edits", "multipart/form-data"),
            "images.edits.json": api.body("/images/edits", "application/json"),
        },
        # Per-model rules the description states in prose only (copied from its text).
        "rules": {
            "source": "https://platform.openai.com/docs/guides/video-generation (sizes per "
            "model) and the `n`, `size`, `response_format` descriptions of "
            "CreateImageRequest",
            "video_models": videos_json["properties"]["model"]["known"],
            "video_sizes": {"sora-2": ["720x1280", "1280x720"]},
            "image_sizes": {
                "dall-e-2": ["256x256", "512x512", "1024x1024"],
                "dall-e-3": ["1024x1024", "1792x1024", "1024x1792"],
                "gpt-image": ["auto", "1024x1024", "1536x1024", "1024x1536"],
            },
            "image_max_n": {"dall-e-3": 1},
            "gpt_image_refuses": ["response_format"],
        },
    }


# -- fal: the TypeScript types fal generates from each model's OpenAPI ----------------------

_STATEMENT = re.compile(r"^export type (\w+) =(.*)$")
_FIELD = re.compile(r"^\s*(\"[^\"]+\"|\w+)(\??):\s*(.*)$")
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_SCALARS = {
    "string": {"type": "string"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "Blob": {"type": "file"},
    "File": {"type": "file"},
    "any": {"type": "any"},
    "unknown": {"type": "any"},
}


def _split_top(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside brackets and quotes."""
    parts, depth, quoted, current = [], 0, False, ""
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "<({[":
            depth += 1
        elif not quoted and char in ">)}]":
            depth -= 1
        if char == separator and depth == 0 and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


class _TypeScript:
    """The ``export type`` statements of fal-js's ``endpoints.ts``."""

    def __init__(self, text: str) -> None:
        self.types: dict[str, str] = {}
        self.endpoints: dict[str, str] = {}
        text = _COMMENT.sub("", text)
        lines = text.splitlines()
        index = 0
        while index < len(lines):
            match = _STATEMENT.match(lines[index])
            index += 1
            if match is None:
                continue
            name, body = match.group(1), match.group(2).strip()
            if body == "{":
                depth = 1
                while depth and index < len(lines):
                    line = lines[index]
                    depth += line.count("{") - line.count("}")
                    body += "\n" + line
                    index += 1
            else:
                while not body.endswith(";") and index < len(lines):
                    body += " " + lines[index].strip()
                    index += 1
            self.types[name] = body.rstrip(";").strip()
        for model, input_type in re.findall(r'^  "([^"]+)": \{\n    input: (\w+);', text, re.M):
            self.endpoints[model] = input_type

    def schema(self, expression: str, depth: int = 0) -> dict[str, Any]:
        """A TypeScript type expression in the subset."""
        expression = expression.strip()
        if depth > 8:
            return {"type": "any"}
        terms = _split_top(expression, "|")
        if len(terms) > 1:
            return self._union([self.schema(term, depth + 1) for term in terms])
        if expression.startswith("{"):
            return self._object(expression, depth)
        if expression.startswith('"'):
            return {"type": "string", "enum": [json.loads(expression)]}
        if expression in ("null", "undefined"):
            return {"type": "null"}
        if expression in _SCALARS:
            return dict(_SCALARS[expression])
        if expression.startswith("Array<") and expression.endswith(">"):
            return {"type": "array", "items": self.schema(expression[6:-1], depth + 1)}
        if expression.endswith("[]"):
            return {"type": "array", "items": self.schema(expression[:-2], depth + 1)}
        if expression.startswith("Record<"):
            return {"type": "object", "properties": {}, "additional": True}
        if expression in self.types:
            return self.schema(self.types[expression], depth + 1)
        return {"type": "any"}

    def _object(self, body: str, depth: int) -> dict[str, Any]:
        inner = body.strip()[1:-1]
        properties: dict[str, Any] = {}
        required: list[str] = []
        for member in _split_top(inner.replace("\n", " "), ";"):
            match = _FIELD.match(member)
            if match is None:
                continue
            name = match.group(1).strip('"')
            properties[name] = self.schema(match.group(3), depth + 1)
            if not match.group(2):
                required.append(name)
        out: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            out["required"] = required
        return out

    @staticmethod
    def _union(options: list[dict[str, Any]]) -> dict[str, Any]:
        nullable = any(option.get("type") == "null" for option in options)
        options = [option for option in options if option.get("type") != "null"]
        literals = [value for option in options for value in option.get("enum", [])]
        others = [option for option in options if "enum" not in option]
        out: dict[str, Any]
        if any(option.get("type") == "any" for option in others):
            out = {"type": "any"}
        elif literals and not others:
            out = {"type": "string", "enum": literals}
        elif literals:
            if all(option.get("type") == "string" for option in others):
                out = {"type": "string"}
            else:
                out = {"anyOf": [{"type": "string", "enum": literals}, *others]}
        elif len({json.dumps(option, sort_keys=True) for option in others}) == 1:
            out = others[0]
        else:
            out = {"anyOf": others}
        if nullable:
            out["nullable"] = True
        return out


def extract_fal(sources: Iterable[tuple[Path, str]], models: Iterable[str]) -> dict[str, Any]:
    """The input schema of each of ``models``, from the newest of ``sources`` that has it.

    Args:
        sources: ``endpoints.ts`` files with their fal-js commits, newest first (fal drops
            retired models from the newest file; an older one still describes them).
        models: The model ids the emulator serves.
    """
    parsed = [(_TypeScript(path.read_text()), commit) for path, commit in sources]
    schemas: dict[str, Any] = {}
    for model in sorted(set(models)):
        for types, commit in parsed:
            if model in types.endpoints:
                schema = types.schema(types.endpoints[model])
                schema["source"] = commit
                schemas[model] = schema
                break
    return {
        "provider": "fal",
        "source": "https://github.com/fal-ai/fal-js/blob/{source}/libs/client/src/types/"
        "endpoints.ts",
        "read": READ_ON,
        "models": schemas,
    }


# -- Runway: the TypedDicts Stainless generates from Runway's OpenAPI in runwayml/sdk-python ----

_RUNWAY_ENDPOINTS = ("text_to_video", "image_to_video", "text_to_image")
_PY_SCALARS = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
_FROM_TO = re.compile(r"(?:integer|number) (?:from|between) (\d+) (?:to|and) (\d+)")
_UP_TO = re.compile(r"up to (\d+) characters")


class _TypedDicts:
    """The ``TypedDict`` classes of one Stainless ``*_create_params.py`` module."""

    def __init__(self, source: str) -> None:
        self.classes: dict[str, ast.ClassDef] = {}
        self.union: list[str] = []
        for node in ast.parse(source).body:
            if isinstance(node, ast.ClassDef):
                self.classes[node.name] = node
            elif isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Subscript):
                self.union = [ast.unparse(item) for item in _items(node.value.slice)]

    def schema(self, name: str, depth: int = 0) -> dict[str, Any]:
        """The class ``name`` as an object schema (wire names: the ``alias`` if any)."""
        node = self.classes[name]
        properties: dict[str, Any] = {}
        required: list[str] = []
        body = node.body
        for index, statement in enumerate(body):
            if not isinstance(statement, ast.AnnAssign) or not isinstance(
                statement.target, ast.Name
            ):
                continue
            doc = ""
            following = body[index + 1] if index + 1 < len(body) else None
            if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
                doc = str(following.value.value)
            wire_name, is_required, field = self._field(statement.annotation, depth)
            wire_name = wire_name or statement.target.id
            if (match := _FROM_TO.search(doc)) and field.get("type") in ("integer", "number"):
                field["minimum"], field["maximum"] = int(match[1]), int(match[2])
            if (match := _UP_TO.search(doc)) and field.get("type") == "string":
                field["maxLength"] = int(match[1])
            if "non-empty string" in doc and field.get("type") == "string":
                field["minLength"] = 1
            properties[wire_name] = field
            if is_required:
                required.append(wire_name)
        out: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            out["required"] = required
        return out

    def _field(self, node: ast.expr, depth: int) -> tuple[str | None, bool, dict[str, Any]]:
        """``(alias, required, schema)`` of a field's annotation."""
        alias: str | None = None
        required = False
        while isinstance(node, ast.Subscript) and ast.unparse(node.value) in (
            "Required",
            "Annotated",
        ):
            if ast.unparse(node.value) == "Required":
                required = True
                node = node.slice
            else:
                first, *rest = _items(node.slice)
                for extra in rest:
                    for keyword in getattr(extra, "keywords", []):
                        if keyword.arg == "alias":
                            alias = ast.literal_eval(keyword.value)
                node = first
        return alias, required, self._type(node, depth)

    def _type(self, node: ast.expr, depth: int) -> dict[str, Any]:
        text = ast.unparse(node)
        if text in _PY_SCALARS:
            return {"type": _PY_SCALARS[text]}
        if isinstance(node, ast.Subscript):
            head = ast.unparse(node.value)
            items = _items(node.slice)
            if head == "Literal":
                values = [ast.literal_eval(item) for item in items]
                kind = "string" if all(isinstance(v, str) for v in values) else "integer"
                return {"type": kind, "enum": values}
            if head in ("Iterable", "List", "SequenceNotStr", "Sequence"):
                return {"type": "array", "items": self._type(items[0], depth + 1)}
            if head == "Union":
                options = [self._type(item, depth + 1) for item in items]
                return options[0] if len(options) == 1 else {"anyOf": options}
            if head in ("Dict", "Mapping"):
                return {"type": "object", "properties": {}, "additional": True}
        if text in self.classes and depth < 6:
            return self.schema(text, depth + 1)
        return {"type": "any"}

    def models(self) -> dict[str, Any]:
        """Model id -> its body schema, for each member of the module's params union."""
        out: dict[str, Any] = {}
        for name in self.union:
            schema = self.schema(name)
            for model in schema["properties"]["model"]["enum"]:
                out[model] = schema
        return out


def _items(node: ast.expr) -> list[ast.expr]:
    return list(node.elts) if isinstance(node, ast.Tuple) else [node]


# Bounds Runway's API reference states in prose where the SDK's field has none:
# (endpoint, model, field) -> the bounds. Source: https://docs.dev.runwayml.com/api
# (gen4_turbo's ``duration``: an integer from 2 to 10 seconds).
_RUNWAY_PROSE = {("image_to_video", "gen4_turbo", "duration"): {"minimum": 2, "maximum": 10}}


def extract_runway(sdk: Path, commit: str) -> dict[str, Any]:
    """Runway's create bodies per endpoint and model, from ``runwayml/sdk-python``."""
    types = sdk / "src" / "runwayml" / "types"
    client = (sdk / "src" / "runwayml" / "_client.py").read_text()
    versions = sorted(set(re.findall(r'runway_version: str \| None = "([0-9-]+)"', client)))
    endpoints = {
        endpoint: _TypedDicts((types / f"{endpoint}_create_params.py").read_text()).models()
        for endpoint in _RUNWAY_ENDPOINTS
    }
    for (endpoint, model, name), bounds in _RUNWAY_PROSE.items():
        endpoints[endpoint][model]["properties"][name].update(bounds)
    return {
        "provider": "runway",
        "source": f"https://github.com/runwayml/sdk-python/tree/{commit}/src/runwayml/types",
        "prose_source": "https://docs.dev.runwayml.com/api (gen4_turbo duration 2-10 s)",
        "read": READ_ON,
        "api_versions": versions,
        "endpoints": endpoints,
    }


# -- Google: what the official google-genai SDK writes on the wire for each API ------------
#
# The REST reference types ``instances``/``parameters`` of ``predictLongRunning`` as any
# JSON value; the fields the Gemini API (``mldev``) and Vertex AI take are named where the
# SDK converts its typed config to the wire (``_X_to_mldev`` / ``_X_to_vertex`` in
# ``google/genai/models.py``), with their types in ``google/genai/types.py``.


class _GenAI:
    """The converters of ``google/genai/models.py`` and the classes of ``types.py``."""

    def __init__(self, models_source: str, types_source: str) -> None:
        self.functions = {
            node.name: node
            for node in ast.parse(models_source).body
            if isinstance(node, ast.FunctionDef)
        }
        self.classes = {
            node.name: node
            for node in ast.parse(types_source).body
            if isinstance(node, ast.ClassDef)
        }

    def _field_type(self, class_name: str, attr: str) -> dict[str, Any]:
        node = self.classes.get(class_name)
        for statement in node.body if node else []:
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and statement.target.id == attr
            ):
                return self._annotation(statement.annotation)
        return {"type": "any"}

    def _annotation(self, node: ast.expr) -> dict[str, Any]:
        text = ast.unparse(node)
        if text.startswith("Optional[") and isinstance(node, ast.Subscript):
            return self._annotation(node.slice)
        scalars = {"int": "integer", "float": "number", "bool": "boolean", "str": "string"}
        if text in scalars:
            return {"type": scalars[text]}
        if text == "bytes":
            return {"type": "string"}  # base64 on the wire
        enum = self.classes.get(text)
        if enum is not None and any("Enum" in ast.unparse(base) for base in enum.bases):
            values = [
                statement.value.value
                for statement in enum.body
                if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant)
            ]
            return {"type": "string", "enum": values}
        return {"type": "any"}

    def schema(self, function: str) -> dict[str, Any]:
        """The wire object ``function`` builds (``_url`` and ``_query`` parts left out)."""
        root: dict[str, Any] = {"type": "object", "properties": {}}
        self._fill(function, root, root)
        return root

    def _fill(self, function: str, here: dict[str, Any], parent: dict[str, Any]) -> None:
        class_name = function.lstrip("_").rsplit("_to_", 1)[0]
        if class_name not in self.classes:
            class_name = "_" + class_name
        for node in ast.walk(self.functions[function]):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            name = node.func.id
            if name.startswith("_") and name in self.functions and len(node.args) >= 2:
                writes_here = isinstance(node.args[1], ast.Name) and node.args[1].id == "to_object"
                if writes_here and not self._inside_setv(function, node):
                    self._fill(name, here, here)  # writes into this object
                continue
            if name != "setv" or len(node.args) < 3 or not isinstance(node.args[1], ast.List):
                continue
            target = node.args[0].id if isinstance(node.args[0], ast.Name) else ""
            path = [ast.literal_eval(item) for item in node.args[1].elts]
            if path[0] in ("_url", "_query", "_self"):
                continue
            base = here if target == "to_object" else parent
            self._place(base, path, self._value(node.args[2], class_name, here))

    def _inside_setv(self, function: str, call: ast.Call) -> bool:
        for node in ast.walk(self.functions[function]):
            is_setv = isinstance(node, ast.Call) and getattr(node.func, "id", "") == "setv"
            if is_setv and any(child is call for child in ast.walk(node)):
                return True
        return False

    def _value(self, node: ast.expr, class_name: str, here: dict[str, Any]) -> dict[str, Any]:
        """The schema of a ``setv`` value; a nested converter's ``parent_object`` is the
        object the caller builds (``here``)."""
        if isinstance(node, ast.ListComp):
            return {"type": "array", "items": self._value(node.elt, class_name, here)}
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if name == "getv":
                attr = ast.literal_eval(node.args[1].elts[-1])  # type: ignore[attr-defined]
                return self._field_type(class_name, attr)
            if name in self.functions:
                nested: dict[str, Any] = {"type": "object", "properties": {}}
                self._fill(name, nested, here)
                return nested
        return {"type": "any"}

    @staticmethod
    def _place(base: dict[str, Any], path: list[str], value: dict[str, Any]) -> None:
        for step in path[:-1]:
            if step.endswith("[0]"):
                holder = base["properties"].setdefault(
                    step[:-3], {"type": "array", "items": {"type": "object", "properties": {}}}
                )
                base = holder["items"]
            else:
                base = base["properties"].setdefault(step, {"type": "object", "properties": {}})
        base["properties"][path[-1]] = value


def extract_google(sdk: Path, commit: str) -> dict[str, Any]:
    """The Veo ``predictLongRunning`` body of the Gemini API and of Vertex AI."""
    genai = _GenAI(
        (sdk / "google" / "genai" / "models.py").read_text(),
        (sdk / "google" / "genai" / "types.py").read_text(),
    )
    return {
        "provider": "google",
        "source": f"https://github.com/googleapis/python-genai/tree/{commit}/google/genai",
        "read": READ_ON,
        "bodies": {
            "gemini.predictLongRunning": genai.schema("_GenerateVideosParameters_to_mldev"),
            "vertex.predictLongRunning": genai.schema("_GenerateVideosParameters_to_vertex"),
            "gemini.generateContent": genai.schema("_GenerateContentParameters_to_mldev"),
        },
    }


def _write(name: str, contract: Mapping[str, Any]) -> None:
    target = HERE / f"{name}.json"
    target.write_text(json.dumps(contract, indent=1, sort_keys=True) + "\n")
    print(f"wrote {target} ({target.stat().st_size} bytes)", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and write the contract files it asks for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("provider", choices=("openai", "fal", "runway", "google"))
    parser.add_argument(
        "specs", nargs="+", help="raw descriptions (fal: FILE@COMMIT, newest first)"
    )
    parser.add_argument("--commit", default="master", help="the description's commit (OpenAI)")
    parser.add_argument("--models", type=Path, help="fal: a file of model ids, one a line")
    args = parser.parse_args(argv)
    if args.provider == "openai":
        _write("openai", extract_openai(Path(args.specs[0]), args.commit))
        return
    if args.provider == "runway":  # the specs argument: a checkout of runwayml/sdk-python
        _write("runway", extract_runway(Path(args.specs[0]), args.commit))
        return
    if args.provider == "google":  # the specs argument: a checkout of python-genai
        _write("google", extract_google(Path(args.specs[0]), args.commit))
        return
    if args.models is None:
        parser.error("fal needs --models")
    sources = [(Path(spec.partition("@")[0]), spec.partition("@")[2]) for spec in args.specs]
    ids = [line.strip() for line in args.models.read_text().splitlines() if line.strip()]
    _write("fal", extract_fal(sources, ids))


if __name__ == "__main__":
    main()
