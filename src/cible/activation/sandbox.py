"""The Jinja2 sandbox messages are rendered in: no Python internals, bounded work.

A template is text written by a workspace's editors and rendered with customers'
data, so two things must hold whatever it says:

- **Nothing but the data handed to it is reachable.** Rendering uses Jinja2's
  :class:`~jinja2.sandbox.SandboxedEnvironment` (no attribute whose name starts with
  ``_``, no unsafe callable), and further: methods may be called on values only from a
  short allow-list (``lower``, ``get``, ``items``...), filters only from another
  (``default``, ``upper``, ``join``, ``truncate``...; never ``safe``, ``attr``,
  ``format`` or ``map``), and an unsafe attribute is an error rather than an empty
  value, so that the author sees it.
- **The work is bounded.** Every ``for`` loop draws from a budget of
  :data:`MAX_ITERATIONS` per rendering; numbers given to a call or a filter are at
  most :data:`MAX_ARGUMENT`; ``*``, ``**`` and ``%`` are checked before they run
  (``'x' * 10**9``, ``9**9**9``, ``'%999999999s' % x`` are refused instead of filling
  memory or hanging at compile time, where Jinja would fold constants); output is
  cut off at :data:`MAX_OUTPUT` characters; macros, blocks, includes, imports and
  recursive loops (unbounded recursion) are refused when the template is checked.

HTML is autoescaped: a customer's name holding ``<script>`` is printed as text. The
subject and the plain-text body are rendered by a twin environment without escaping
(they are not HTML), under the same rules.

Examples
--------
>>> compile_text("Hello {{ customer.first_name | default('there') }}", html=False).render(
...     customer={})
'Hello there'
>>> render(compile_text("<p>{{ name }}</p>", html=True), {"name": "<b>Ann</b>"})
'<p>&lt;b&gt;Ann&lt;/b&gt;</p>'
>>> render(compile_text("{{ ''.__class__ }}", html=False), {})
Traceback (most recent call last):
...
cible.activation.sandbox.RenderError: not allowed: attribute '__class__' of a str
>>> check_text("{% macro m() %}{% endmacro %}")
['line 1: macros are not allowed in a message template']
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateError, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from cible.domain.errors import CibleError

#: Iterations of all the ``for`` loops of one rendering together.
MAX_ITERATIONS = 10_000
#: Largest number a template may give to a call, a filter or ``range``.
MAX_ARGUMENT = 10_000
#: Characters one rendering may produce (and any one value computed on the way).
MAX_OUTPUT = 256_000
#: Largest exponent ``**`` accepts.
MAX_EXPONENT = 1_000

#: Methods a template may call on a value (strings, mappings, loops, cyclers).
SAFE_METHODS = frozenset(
    {
        "lower",
        "upper",
        "title",
        "capitalize",
        "strip",
        "lstrip",
        "rstrip",
        "startswith",
        "endswith",
        "split",
        "isdigit",
        "get",
        "items",
        "keys",
        "values",
        "cycle",
        "changed",
        "next",
        "reset",
    }
)

#: Filters a template may use; the rest of Jinja's (``safe``, ``attr``, ``format``,
#: ``map``, ``center``, ``indent``...) could unescape customer data, reach attributes
#: by name or allocate without bound.
SAFE_FILTERS = (
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "int",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "max",
    "min",
    "replace",
    "reverse",
    "round",
    "sort",
    "string",
    "striptags",
    "sum",
    "title",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
)

#: Template statements refused, with the reason shown to the author.
_REFUSED: tuple[tuple[type[nodes.Node], str], ...] = (
    (nodes.Macro, "macros are not allowed in a message template"),
    (nodes.CallBlock, "call blocks are not allowed in a message template"),
    (nodes.Block, "{% block %} is not allowed: use block('name') with the template's blocks"),
    (nodes.Extends, "{% extends %} is not allowed in a message template"),
    (nodes.Include, "{% include %} is not allowed in a message template"),
    (nodes.Import, "{% import %} is not allowed in a message template"),
    (nodes.FromImport, "{% from ... import %} is not allowed in a message template"),
)

#: The name under which loops draw from the iteration budget.
_COUNTED = "_cible_counted"


class RenderError(CibleError):
    """A template that fails while rendering: refused operation, limit, or error."""


class _Budget:
    __slots__ = ("iterations",)

    def __init__(self) -> None:
        self.iterations = 0


_budget: ContextVar[_Budget] = ContextVar("cible_template_budget")


def _counted(values: Iterable[Any]) -> Iterator[Any]:
    budget = _budget.get()
    for value in values:
        budget.iterations += 1
        if budget.iterations > MAX_ITERATIONS:
            raise SecurityError(f"loops ran more than {MAX_ITERATIONS} times in all")
        yield value


def _check_arguments(args: Iterable[Any], kwargs: Mapping[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and abs(value) > MAX_ARGUMENT:
            raise SecurityError(f"the number {value} is above the limit of {MAX_ARGUMENT}")


def _check_size(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_OUTPUT:
        raise SecurityError(f"a value of more than {MAX_OUTPUT} characters or items")
    return value


def _guarded(
    function: Callable[..., Any], check: Callable[..., None] | None = None
) -> Callable[..., Any]:
    # Filters that take the environment or eval context first keep that marker.
    passed = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        # The filtered value itself (after any passed context) is already bounded.
        _check_arguments(args[passed + 1 :], kwargs)
        if check is not None:
            check(*args[passed:], **kwargs)
        return _check_size(function(*args, **kwargs))

    return guarded


def _check_replace(value: Any, old: Any, new: Any, count: int | None = None) -> None:
    text, old, new = str(value), str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:
        found = min(found, count)
    if len(text) + max(0, len(new) - len(old)) * found > MAX_OUTPUT:
        raise SecurityError(f"replace would make more than {MAX_OUTPUT} characters")


def _range(*args: int) -> range:
    _check_arguments(args, {})
    return range(*args)


class MessageEnvironment(SandboxedEnvironment):
    """Jinja2's sandbox with Cible's allow-lists and limits (see the module)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *, html: bool) -> None:
        super().__init__(
            autoescape=html,
            undefined=ChainableUndefined,
            finalize=lambda value: "" if value is None else value,
            auto_reload=False,
        )
        checks = {"replace": _check_replace}
        self.filters = {
            name: _guarded(self.filters[name], checks.get(name)) for name in SAFE_FILTERS
        }
        self.filters[_COUNTED] = _counted
        self.globals = {
            "range": _range,
            "dict": dict,
            "cycler": self.globals["cycler"],
            "joiner": self.globals["joiner"],
        }

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Refuse ``_`` names (Jinja's rule) and methods outside :data:`SAFE_METHODS`."""
        if not super().is_safe_attribute(obj, attr, value):
            return False
        # A missing value (undefined) is callable too, yet harmless: it renders empty.
        return not callable(value) or isinstance(value, Undefined) or attr in SAFE_METHODS

    def wrap_str_format(self, value: Any) -> None:
        """``str.format`` is refused like any method off the list (its widths allocate)."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        """An unsafe attribute is an error, not an empty value: the author should know."""
        raise SecurityError(f"attribute {attribute!r} of a {type(obj).__name__}")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        """Call ``__obj`` with numbers bounded, and bound what it returns."""
        _check_arguments(args, kwargs)
        return _check_size(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        """``*``, ``**`` and ``%`` checked before they run."""
        if operator_ == "**":
            if not isinstance(right, int | float) or abs(right) > MAX_EXPONENT:
                raise SecurityError(f"an exponent above {MAX_EXPONENT}")
            if isinstance(left, int) and left.bit_length() > MAX_ARGUMENT:
                raise SecurityError("a number too large to raise to a power")
            return left**right
        if operator_ == "%":
            if isinstance(left, str):
                raise SecurityError("'%' formatting of text")
            return operator.mod(left, right)
        for sequence, times in ((left, right), (right, left)):
            repeated = isinstance(sequence, str | list | tuple) and isinstance(times, int)
            if repeated and len(sequence) * times > MAX_OUTPUT:
                raise SecurityError(f"a repetition of more than {MAX_OUTPUT} characters")
        return operator.mul(left, right)


_ENVIRONMENTS = {True: MessageEnvironment(html=True), False: MessageEnvironment(html=False)}


def check_text(text: str) -> list[str]:
    """The problems of one template text, each as ``line N: reason``; empty when usable.

    Examples
    --------
    >>> check_text("Hello {{ name ")
    ["line 1: unexpected end of template, expected 'end of print statement'."]
    >>> check_text("{{ x | safe }}")
    ["line 1: No filter named 'safe'."]
    """
    environment = _ENVIRONMENTS[True]
    try:
        tree = environment.parse(text)
    except TemplateError as exc:
        return [f"line {getattr(exc, 'lineno', 1)}: {exc.message or exc}"]
    except RecursionError:
        return ["line 1: expressions nested too deeply"]
    problems = [
        f"line {node.lineno}: {reason}" for kind, reason in _REFUSED for node in tree.find_all(kind)
    ]
    problems += [
        f"line {node.lineno}: recursive loops are not allowed in a message template"
        for node in tree.find_all(nodes.For)
        if node.recursive
    ]
    if problems:
        return sorted(problems, key=lambda p: int(p.split(":")[0].removeprefix("line ")))
    try:
        environment.compile(text)  # unknown filters and tests are found here
    except TemplateError as exc:
        return [f"line {getattr(exc, 'lineno', 1)}: {exc.message or exc}"]
    except RecursionError:
        return ["line 1: expressions nested too deeply"]
    return []


def called_names(text: str, function: str) -> list[str | None]:
    """The first argument of each call to ``function`` in ``text``, None when not a literal.

    Examples
    --------
    >>> called_names("{{ block('offer') }}{{ block(name) }}", "block")
    ['offer', None]
    """
    tree = _ENVIRONMENTS[True].parse(text)
    found: list[str | None] = []
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == function:
            first = call.args[0] if call.args else None
            found.append(first.value if isinstance(first, nodes.Const) else None)
    return found


def compile_text(text: str, *, html: bool) -> Template:
    """``text`` compiled in the sandbox, its loops drawing from the iteration budget.

    Call :func:`check_text` first: this assumes the text is valid.
    """
    environment = _ENVIRONMENTS[html]
    tree = environment.parse(text)
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, _COUNTED, [], [], None, None, lineno=loop.lineno)
    return environment.from_string(tree)


def render(template: Template, context: Mapping[str, Any]) -> str:
    """Render ``template``, bounded in iterations and output; errors as :class:`RenderError`.

    Nested calls (a block rendered from inside a message) share the outer budget.
    """
    token = _budget.set(_budget.get(_Budget()))
    try:
        return _render(template, context)
    finally:
        _budget.reset(token)


def _render(template: Template, context: Mapping[str, Any]) -> str:
    try:
        size = 0
        parts = []
        for part in template.generate(context):
            size += len(part)
            if size > MAX_OUTPUT:
                raise SecurityError(f"more than {MAX_OUTPUT} characters of output")
            parts.append(part)
        return "".join(parts)
    except SecurityError as exc:
        raise RenderError(f"not allowed: {exc}") from None
    except RenderError:
        raise
    except TemplateError as exc:
        raise RenderError(exc.message or type(exc).__name__) from None
    except Exception as exc:  # the template's fault (1/0, int('x')...), said in its words
        raise RenderError(f"{type(exc).__name__}: {exc}") from None
