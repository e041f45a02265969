"""Loading scene scripts and suites from YAML, with errors that name the file and the field.

A suite is either one YAML file (`id`, `title`, `scenes: [...]`, `dramas: [...]`) or a folder
holding `suite.yaml` (id, title, dramas, optional `scenes` order) and one file per scene under
`scenes/`. Bundled suites live in `scenes/suites/<name>/`; `composed` suites are made on the
fly by `scenes.composer` (`composed`, or `composed?n=200&seed=3`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml
from pydantic import ValidationError

from scenes.schema import SAFE_ID_PATTERN, Scene, SceneRuleError, Suite

SUITES_DIR = Path(__file__).parent / "suites"


class SceneFileError(ValueError):
    """A scene or suite file that cannot be used: names the file, the field path and the problem."""

    def __init__(self, file: str | Path, problems: list[tuple[str, str]]):
        self.file = str(file)
        self.problems = problems
        lines = [f"{self.file}: {path}: {msg}" if path else f"{self.file}: {msg}" for path, msg in problems]
        super().__init__("\n".join(lines))


class SceneFilesError(SceneFileError):
    """Problems in several files of one suite folder; `file` and `problems` are the first file's."""

    def __init__(self, errors: list[SceneFileError]):
        self.errors = errors
        super().__init__(errors[0].file, errors[0].problems)
        self.args = ("\n".join(str(e) for e in errors),)

    def __str__(self) -> str:
        return self.args[0]


def _format_loc(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _join(prefix: str, rest: str) -> str:
    if not prefix:
        return rest
    if not rest:
        return prefix
    return prefix + ("" if rest.startswith("[") else ".") + rest


def problems_of(error: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten a pydantic error (including our cross-reference errors) to (field path, message)."""
    problems: list[tuple[str, str]] = []
    for err in error.errors():
        # pydantic puts tagged-union / function names into loc; keep only real field names
        loc = _format_loc(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, SceneRuleError):
            for path, msg in cause.errors:
                problems.append((_join(_join(prefix, loc), path), msg))
            continue
        msg = err["msg"]
        if err["type"] == "missing":
            msg = "field required"
        elif err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "string_pattern_mismatch" and (err.get("ctx") or {}).get("pattern") == SAFE_ID_PATTERN:
            msg = (
                f"{err['input']!r} is not a safe id: use 1-64 lower-case letters, digits, '_' or '-', "
                "starting with a letter or digit (ids become file names)"
            )
        elif "input" in err and err["type"] in {"enum", "string_pattern_mismatch", "literal_error"}:
            msg = f"{err['input']!r}: {msg}"
        problems.append((_join(prefix, loc), msg))
    return problems


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SceneFileError(path, [("", "no such file")]) from None
    except UnicodeDecodeError:
        raise SceneFileError(path, [("", "not a UTF-8 text file")]) from None
    if not text.strip():
        raise SceneFileError(path, [("", "the file is empty")])
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise SceneFileError(path, [("", f"not valid YAML{at}: {getattr(exc, 'problem', exc)}")]) from None
    if not isinstance(data, dict):
        raise SceneFileError(path, [("", f"expected a mapping at the top level, found {type(data).__name__}")])
    return data


def load_scene_file(path: str | Path) -> Scene:
    path = Path(path)
    data = read_yaml(path)
    try:
        return Scene.model_validate(data)
    except ValidationError as exc:
        raise SceneFileError(path, problems_of(exc)) from None


def _suite_from_folder(folder: Path) -> Suite:
    head_path = folder / "suite.yaml"
    head = read_yaml(head_path)
    scene_dir = folder / "scenes"
    order = head.pop("scenes", None)
    files = sorted(scene_dir.glob("*.yaml")) if scene_dir.is_dir() else []
    if order is not None:
        if not isinstance(order, list) or not all(isinstance(x, str) for x in order):
            raise SceneFileError(head_path, [("scenes", "expected a list of scene ids")])
        by_stem = {f.stem: f for f in files}
        missing = [(f"scenes[{i}]", f"no file scenes/{sid}.yaml") for i, sid in enumerate(order) if sid not in by_stem]
        if missing:
            raise SceneFileError(head_path, missing)
        files = [by_stem[sid] for sid in order]
    scenes: list[Scene] = []
    problems: list[SceneFileError] = []
    for f in files:
        try:
            scene = load_scene_file(f)
        except SceneFileError as exc:
            problems.append(exc)
            continue
        if scene.id != f.stem:
            problems.append(SceneFileError(f, [("id", f"{scene.id!r} does not match the file name {f.stem!r}")]))
        scenes.append(scene)
    if problems:
        raise (problems[0] if len(problems) == 1 else SceneFilesError(problems)) from None
    if not scenes:
        raise SceneFileError(folder, [("scenes", "the suite has no scene files")])
    try:
        return Suite.model_validate({**head, "scenes": scenes})
    except ValidationError as exc:
        raise SceneFileError(head_path, problems_of(exc)) from None


def load_suite(name_or_path: str | Path) -> Suite:
    """A suite by bundled name (`default`, `mini`), `composed[?n=..&seed=..]`, a YAML file or a folder."""
    text = str(name_or_path)
    if text == "composed" or text.startswith("composed?"):
        from scenes.composer import compose_suite

        query = dict(parse_qsl(text.partition("?")[2]))
        try:
            n, seed = int(query.get("n", 60)), int(query.get("seed", 0))
        except ValueError:
            raise SceneFileError(text, [("", "composed suites take integer n and seed")]) from None
        try:
            return compose_suite(n_scenes=n, seed=seed)
        except ValueError as exc:
            raise SceneFileError(text, [("", str(exc))]) from None
    bundled = SUITES_DIR / text
    if "/" not in text and bundled.is_dir():
        return _suite_from_folder(bundled)
    path = Path(text)
    if path.is_dir():
        return _suite_from_folder(path)
    if path.name == "suite.yaml" and (path.parent / "scenes").is_dir():  # the head file of a suite folder
        return _suite_from_folder(path.parent)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        data = read_yaml(path)
        if "scenes" not in data and "lines" in data:  # a single scene file used as a suite
            scene = load_scene_file(path)
            return Suite(id=scene.id, title=scene.title, scenes=[scene])
        try:
            return Suite.model_validate(data)
        except ValidationError as exc:
            raise SceneFileError(path, problems_of(exc)) from None
    known = ", ".join(bundled_suites())
    raise SceneFileError(text, [("", f"no such suite (bundled: {known}, or composed, or a path)")])


def bundled_suites() -> list[str]:
    return sorted(p.name for p in SUITES_DIR.iterdir() if (p / "suite.yaml").exists())


def find_scene(ref: str, suite: str = "default") -> Scene:
    """A scene by id in a suite, or from a YAML path."""
    path = Path(ref)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return load_scene_file(path)
    try:
        return load_suite(suite).scene(ref)
    except KeyError as exc:
        raise SceneFileError(suite, [("", str(exc.args[0]))]) from None
