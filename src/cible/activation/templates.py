"""Message templates of a workspace (``ws.templates``): store them, preview, render.

A template (:mod:`cible.activation.template_definition`) is rendered for one
customer in the sandbox (:mod:`cible.activation.sandbox`) with what
:mod:`cible.activation.template_context` lets it see: the profile without special
categories, the latest traits, the open memberships. ``block('offer')`` shows the
first variant of the block whose segment the customer is in; ``in_segment('vip')``
tells whether they are in one. :meth:`Templates.render_for` is what an automation
calls for each message: one stored row and three reads by customer id through the
indexes, the template compiled once per version (cached by its definition).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "c.csv").write_text("customer_id,first_name\\nc1,Ann & Bob\\nc2,\\n")
>>> with Workspace.create(folder / "shop") as ws:
...     _ = ws.imports.load("customers", folder / "c.csv")
...     _ = ws.templates.add({"id": "hello", "name": "Hello",
...         "subject": {"en": "Hi {{ customer.first_name | default('there') }}",
...                     "fr": "Bonjour {{ customer.first_name | default('à vous') }}"},
...         "html": {"en": "<p>Hi {{ customer.first_name }}</p>"}})
...     ann = ws.templates.render_for("hello", "c1")
...     other = ws.templates.render_for("hello", "c2", lang="fr")
>>> ann.subject, ann.html, ann.text
('Hi Ann & Bob', '<p>Hi Ann &amp; Bob</p>', 'Hi Ann & Bob')
>>> other.subject
'Bonjour à vous'
"""

from __future__ import annotations

import builtins
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Template
from markupsafe import Markup

from cible.activation.sandbox import RenderError, compile_text, render
from cible.activation.template_context import (
    customer_language,
    html_to_text,
    present,
    profile_fields,
    special_fields,
)
from cible.activation.template_definition import (
    BlockVariant,
    Localized,
    TemplateDefinition,
    parse_template,
)
from cible.domain.clock import utc_now
from cible.domain.errors import CibleError, UnknownCustomerError
from cible.domain.registry import FieldRegistry
from cible.domain.text import utf8_text
from cible.locale import LANGUAGES
from cible.store.store import Store

#: Names of the rendering context; values the caller passes may not take them.
RESERVED = frozenset({"customer", "traits", "segments", "lang", "in_segment", "block"})

#: Customers a segment preview renders for, at most.
MAX_PREVIEW = 50


class TemplateNotFoundError(CibleError):
    """No stored template has the id asked for."""


class TemplateRenderError(RenderError):
    """A template that fails for a customer; the message names the template, the part
    (``html``, ``blocks.offer[0].html``...) and the language."""


@dataclass(frozen=True)
class RenderedMessage:
    """One customer's message, ready to send.

    Attributes
    ----------
    template_id, lang : str
        The template and the language it was rendered in.
    subject : str
        One line (line breaks become spaces: a subject is a mail header).
    html, text : str
        The HTML body (customer data escaped) and its plain-text twin.
    """

    template_id: str
    lang: str
    subject: str
    html: str
    text: str

    def as_dict(self) -> dict[str, str]:
        """Plain dictionary for JSON."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class StoredTemplate:
    """A stored template: its definition, and who saved it when."""

    definition: TemplateDefinition
    updated_at: datetime
    updated_by: str

    def as_dict(self) -> dict[str, Any]:
        """Plain dictionary for JSON: id, names, languages, blocks, who and when, definition."""
        definition = self.definition
        return {
            "id": definition.id,
            "name": {lang: definition.label(lang) for lang in LANGUAGES},
            "default_language": definition.default_language,
            "languages": definition.html.languages(),
            "blocks": sorted(definition.blocks),
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
            "definition": definition.to_dict(),
        }


class _Compiled:
    """A definition's texts compiled once, per part and language."""

    def __init__(self, definition: TemplateDefinition) -> None:
        self.definition = definition
        self._parts: dict[tuple[str, str], Template] = {}
        for part, html in (("subject", False), ("html", True), ("text", False)):
            self._compile(part, getattr(definition, part), html)
        for name, variants in definition.blocks.items():
            for index, variant in enumerate(variants):
                self._compile(f"blocks.{name}[{index}].html", variant.html, True)
                self._compile(f"blocks.{name}[{index}].text", variant.text, False)

    def _compile(self, path: str, texts: Localized | None, html: bool) -> None:
        if texts is None:
            return
        for lang in texts.languages():
            self._parts[path, lang] = compile_text(texts.get(lang) or "", html=html)

    def part(self, path: str, lang: str) -> tuple[Template, str] | None:
        """The compiled text at ``path`` in ``lang``, else in the default or other language."""
        default = self.definition.default_language
        for chosen in (lang, default, *LANGUAGES):
            found = self._parts.get((path, chosen))
            if found is not None:
                return found, chosen
        return None

    def _exact(self, path: str, lang: str) -> tuple[Template, str] | None:
        found = self._parts.get((path, lang))
        return None if found is None else (found, lang)

    def render(
        self, context: dict[str, Any], segments: frozenset[str], lang: str
    ) -> RenderedMessage:
        definition = self.definition

        def run(path: str, values: Mapping[str, Any], exact: str | None = None) -> str:
            found = self.part(path, lang) if exact is None else self._exact(path, exact)
            if found is None:
                return ""
            try:
                return render(found[0], values)
            except TemplateRenderError:
                raise  # from a block, already placed
            except RenderError as exc:
                raise TemplateRenderError(
                    f"Template {definition.id!r}, {path} ({found[1]}): {exc}"
                ) from None

        def plain(path: str, html: str, values: Mapping[str, Any]) -> str:
            # The text twin in the language the HTML was rendered in, else derived
            # from that HTML: never an English text beside a French body.
            shown = self.part(f"{path}html", lang)
            exact = shown[1] if shown is not None else lang
            if self._exact(f"{path}text", exact) is None:
                return html_to_text(html)
            return run(f"{path}text", values, exact)

        def block_function(as_html: bool) -> Callable[[str], str]:
            def block(name: str) -> str:
                chosen = _variant(definition.blocks.get(name, []), segments)
                if chosen is None:
                    return Markup("") if as_html else ""
                path = f"blocks.{name}[{chosen}]."
                html = Markup(run(f"{path}html", context))  # rendered (escaped) by Jinja
                return html if as_html else plain(path, html, context)

            return block

        subject = " ".join(run("subject", {**context, "block": block_function(False)}).split())
        html = run("html", {**context, "block": block_function(True)})
        text = plain("", html, {**context, "block": block_function(False)})
        return RenderedMessage(definition.id, lang, subject, html, text)


def _variant(variants: list[BlockVariant], segments: frozenset[str]) -> int | None:
    for index, variant in enumerate(variants):
        if variant.segment is None or variant.segment in segments:
            return index
    return None


@functools.lru_cache(maxsize=256)
def _compiled(definition: str) -> _Compiled:
    # Keyed by the stored text: a template saved again is compiled again, and two
    # workspaces holding the same definition share one compilation.
    return _Compiled(parse_template(json.loads(definition)))


class Templates:
    """The message templates of one workspace (``ws.templates``).

    Parameters
    ----------
    store : Store
        The workspace database.
    registry : FieldRegistry
        Which customer fields exist, which are special, which tells the language.
    in_use : callable, optional
        ``in_use(template_id)``: the automations that send it (given by the
        workspace); a template in use cannot be removed.
    """

    def __init__(
        self,
        store: Store,
        registry: FieldRegistry,
        in_use: Callable[[str], builtins.list[str]] | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._in_use = in_use

    def validate(self, source: str | Path | Mapping[str, Any]) -> TemplateDefinition:
        """Parse and check a definition (YAML or JSON text, a file path, or a mapping).

        Raises
        ------
        TemplateDefinitionError
            Naming the path in the definition and the reason of each problem.
        """
        return parse_template(_source(source))

    def add(
        self, source: str | Path | Mapping[str, Any], actor: str = "cli"
    ) -> tuple[TemplateDefinition, bool]:
        """Validate and store a definition (replacing one with its id); whether it is new."""
        definition = self.validate(source)
        created = self._store.template(definition.id) is None
        text = json.dumps(definition.to_dict(), ensure_ascii=False, sort_keys=True)
        self._store.save_template(definition.id, text, at=utc_now(), actor=actor)
        return definition, created

    def list(self) -> list[StoredTemplate]:
        """Every stored template, by id."""
        return [_stored(row) for row in self._store.list_templates()]

    def get(self, template_id: str) -> StoredTemplate:
        """The stored template ``template_id``.

        Raises
        ------
        TemplateNotFoundError
            When there is none.
        """
        row = self._store.template(template_id)
        if row is None:
            raise TemplateNotFoundError(f"No template {template_id!r}.")
        return _stored(row)

    def remove(self, template_id: str) -> bool:
        """Delete a stored template; whether it existed.

        Raises
        ------
        CibleError
            When an automation sends it: change or remove the automation first.
        """
        users = self._in_use(template_id) if self._in_use is not None else []
        if users:
            raise CibleError(
                f"Template {template_id!r} is sent by the automation(s) {', '.join(users)}; "
                "change or remove them first."
            )
        return self._store.delete_template(template_id)

    def render_for(
        self,
        template_id: str,
        customer_id: str,
        lang: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> RenderedMessage:
        """Render template ``template_id`` for one customer.

        Parameters
        ----------
        template_id : str
            A stored template.
        customer_id : str
            The customer the message is for.
        lang : str, optional
            ``en`` or ``fr``; by default the customer's (a declared ``language`` or
            ``locale`` attribute), else the template's default language.
        extra : mapping, optional
            More names the template may use (``unsubscribe_url``, ``event``...).

        Raises
        ------
        TemplateNotFoundError, UnknownCustomerError
            When either does not exist.
        TemplateRenderError
            When the template fails for this customer (a refused operation, a limit),
            naming the template, the part and the language.
        """
        compiled = self._compiled(template_id)
        found = self._store.template_context(customer_id, profile_fields(self._registry))
        if found is None:
            raise UnknownCustomerError(f"No customer {customer_id!r}.")
        return self._render(compiled, found.profile, found.traits, found.segments, lang, extra)

    def preview(
        self,
        template_id: str,
        customer_id: str | None = None,
        segment_id: str | None = None,
        lang: str | None = None,
        limit: int = 5,
    ) -> dict[str, Any]:
        """Render a template as it would be sent, in both languages (or ``lang``).

        For one customer, for the first ``limit`` current members of a segment (by
        customer id), or, with neither, for nobody in particular (every personal
        value missing: the defaults show).

        Returns
        -------
        dict
            ``template_id``, ``languages`` rendered, and ``previews``: per customer,
            ``customer_id``, ``language`` (theirs), and ``messages`` by language.
        """
        if customer_id is not None and segment_id is not None:
            raise CibleError("Preview for a customer or for a segment, not both.")
        if not 1 <= limit <= MAX_PREVIEW:
            raise CibleError(f"limit {limit}: give a number from 1 to {MAX_PREVIEW}.")
        languages = [_check_lang(lang)] if lang is not None else list(LANGUAGES)
        compiled = self._compiled(template_id)
        if segment_id is not None:
            customers: list[str | None] = list(self._store.segment_sample(segment_id, limit))
        else:
            customers = [customer_id]
        previews = []
        for customer in customers:
            if customer is None:
                profile: dict[str, Any] = {}
                traits: dict[str, Any] = {}
                segments: list[str] = []
            else:
                found = self._store.template_context(customer, profile_fields(self._registry))
                if found is None:
                    raise UnknownCustomerError(f"No customer {customer!r}.")
                profile, traits, segments = found.profile, found.traits, found.segments
            messages = {
                chosen: self._render(compiled, profile, traits, segments, chosen, None).as_dict()
                for chosen in languages
            }
            own = customer_language(profile, self._registry, compiled.definition.default_language)
            previews.append({"customer_id": customer, "language": own, "messages": messages})
        return {
            "template_id": template_id,
            "segment_id": segment_id,
            "languages": languages,
            "previews": previews,
        }

    def _compiled(self, template_id: str) -> _Compiled:
        row = self._store.template(template_id)
        if row is None:
            raise TemplateNotFoundError(f"No template {template_id!r}.")
        return _compiled(row.definition)

    def _render(
        self,
        compiled: _Compiled,
        profile: Mapping[str, Any],
        traits: Mapping[str, Any],
        segments: Sequence[str],
        lang: str | None,
        extra: Mapping[str, Any] | None,
    ) -> RenderedMessage:
        special = special_fields(self._registry)
        default = compiled.definition.default_language
        chosen = _check_lang(lang) if lang else customer_language(profile, self._registry, default)
        held: frozenset[str] = frozenset(segments)
        context: dict[str, Any] = {
            "customer": present(profile, special),
            "traits": present(traits, special),
            "segments": sorted(held),
            "lang": chosen,
            "in_segment": lambda segment_id: segment_id in held,
        }
        for name, value in (extra or {}).items():
            if name in RESERVED or not name.isidentifier():
                raise CibleError(
                    f"Extra value {name!r}: choose another name (not one of "
                    f"{', '.join(sorted(RESERVED))})."
                )
            context[name] = value
        return compiled.render(context, held, chosen)


def _check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise CibleError(f"Unknown language {lang!r}: use one of {', '.join(LANGUAGES)}.")
    return lang


def _stored(row: Any) -> StoredTemplate:
    definition = _compiled(row.definition).definition
    return StoredTemplate(definition, row.updated_at, row.updated_by)


def _source(source: str | Path | Mapping[str, Any]) -> str | Mapping[str, Any]:
    if isinstance(source, Path):
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise CibleError(f"Cannot read {source}: {exc.strerror or exc}.") from None
        return utf8_text(data, source, CibleError)
    return source
