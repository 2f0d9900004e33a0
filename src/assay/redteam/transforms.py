"""The built-in transform functions. They register by name exactly as a user's transforms do.

Every transform is pure given its context's RNG, so a seed and an attack always give the same input.
Encoding helpers come with their inverse (`decode_base64`, `rot13`, `normalise_homoglyphs`,
`strip_zero_width`) so tests, and a reviewer reading a report, can check what was really asked.
"""

from __future__ import annotations

import base64
import codecs
from typing import Any

from assay.evals.models import Message
from assay.redteam.attack import AttackContext, TransformResult, register_transform

# -- encodings and their inverses ------------------------------------------------------------------


def encode_base64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode_base64(payload: str) -> str:
    return base64.b64decode(payload.encode("ascii")).decode("utf-8")


def rot13(text: str) -> str:
    """ROT13 is its own inverse."""
    return codecs.encode(text, "rot_13")


LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7", "b": "8", "g": "9"}


def leetspeak(text: str, rng: Any = None, rate: float = 1.0) -> str:
    out = []
    for ch in text:
        sub = LEET.get(ch.lower())
        if sub is not None and (rng is None or rate >= 1.0 or rng.random() < rate):
            out.append(sub)
        else:
            out.append(ch)
    return "".join(out)


# Latin letters and look-alikes from Cyrillic and Greek that render (near) identically.
HOMOGLYPHS: dict[str, str] = {
    "a": "\u0430",  # Cyrillic a
    "c": "\u0441",  # Cyrillic es
    "e": "\u0435",  # Cyrillic ie
    "i": "\u0456",  # Cyrillic byelorussian-ukrainian i
    "j": "\u0458",  # Cyrillic je
    "o": "\u043e",  # Cyrillic o
    "p": "\u0440",  # Cyrillic er
    "s": "\u0455",  # Cyrillic dze
    "x": "\u0445",  # Cyrillic ha
    "y": "\u0443",  # Cyrillic u
    "A": "\u0391",  # Greek Alpha
    "B": "\u0392",  # Greek Beta
    "E": "\u0395",  # Greek Epsilon
    "H": "\u0397",  # Greek Eta
    "K": "\u039a",  # Greek Kappa
    "M": "\u039c",  # Greek Mu
    "O": "\u039f",  # Greek Omicron
    "T": "\u03a4",  # Greek Tau
}
_FROM_HOMOGLYPH = {v: k for k, v in HOMOGLYPHS.items()}


_HOMOGLYPH_TABLE = str.maketrans(_FROM_HOMOGLYPH)


def normalise_homoglyphs(text: str) -> str:
    """Map look-alike letters back to Latin."""
    return text if text.isascii() else text.translate(_HOMOGLYPH_TABLE)


ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060")
_ZERO_WIDTH_TABLE = str.maketrans(dict.fromkeys(ZERO_WIDTH))
_NORMALISE_TABLE = str.maketrans({**_FROM_HOMOGLYPH, **dict.fromkeys(ZERO_WIDTH)})


def strip_zero_width(text: str) -> str:
    return text if text.isascii() else text.translate(_ZERO_WIDTH_TABLE)


def normalise_text(text: str) -> str:
    """Undo both character-level obfuscations: what a normalising guardrail would see (ASCII text
    has neither, and is returned as it is: the gateway calls this on every request)."""
    return text if text.isascii() else text.translate(_NORMALISE_TABLE)


# -- transforms ------------------------------------------------------------------------------------


@register_transform("identity")
def identity(text: str, ctx: AttackContext) -> TransformResult:
    """The seed as is: the baseline every other attack is compared with."""
    return text


@register_transform("template")
def template(text: str, ctx: AttackContext) -> TransformResult:
    """Wrap the seed in one of the attack's framings (role-play, hypothetical, persona …)."""
    return ctx.fill_params(ctx.pick(), text)


def _encoded(text: str, ctx: AttackContext, payload: str, scheme: str) -> str:
    ctx.notes["payload"] = payload
    ctx.notes["scheme"] = scheme
    if not ctx.templates:
        return payload
    return ctx.fill_params(ctx.pick(), text, payload=payload)


@register_transform("base64")
def base64_transform(text: str, ctx: AttackContext) -> TransformResult:
    """Hide the request in base64, which filters reading plain text miss but capable models decode."""
    return _encoded(text, ctx, encode_base64(text), "base64")


@register_transform("rot13")
def rot13_transform(text: str, ctx: AttackContext) -> TransformResult:
    return _encoded(text, ctx, rot13(text), "rot13")


@register_transform("leetspeak")
def leetspeak_transform(text: str, ctx: AttackContext) -> TransformResult:
    rate = float(ctx.params.get("rate", 1.0))
    return _encoded(text, ctx, leetspeak(text, ctx.rng, rate), "leetspeak")


@register_transform("homoglyph")
def homoglyph_transform(text: str, ctx: AttackContext) -> TransformResult:
    """Swap a share of letters for look-alikes: keyword filters miss the words, people and models
    still read them."""
    rate = float(ctx.params.get("rate", 0.5))
    positions = [i for i, ch in enumerate(text) if ch in HOMOGLYPHS]
    chosen = {i for i in positions if ctx.rng.random() < rate}
    if positions and not chosen:
        chosen = {positions[ctx.rng.randrange(len(positions))]}
    out = "".join(HOMOGLYPHS[ch] if i in chosen else ch for i, ch in enumerate(text))
    ctx.notes["payload"] = out
    ctx.notes["changed"] = len(chosen)
    return out


@register_transform("zero_width")
def zero_width_transform(text: str, ctx: AttackContext) -> TransformResult:
    """Put invisible characters inside words, which splits the tokens a filter looks for."""
    rate = float(ctx.params.get("rate", 0.6))
    out: list[str] = []
    inserted = 0
    for i, ch in enumerate(text):
        out.append(ch)
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if ch.isalnum() and nxt.isalnum() and ctx.rng.random() < rate:
            out.append(ZERO_WIDTH[ctx.rng.randrange(len(ZERO_WIDTH))])
            inserted += 1
    if not inserted and len(text) > 1:
        out.insert(1, ZERO_WIDTH[0])
        inserted = 1
    result = "".join(out)
    ctx.notes["payload"] = result
    ctx.notes["inserted"] = inserted
    return result


@register_transform("language_switch")
def language_switch(text: str, ctx: AttackContext) -> TransformResult:
    """Frame the request in another language and ask for the answer in it: safety training is often
    thinner outside English. Rule-based: the framing is pre-written per language, the request itself
    is left as it is (no translation model)."""
    framings: dict[str, str] = dict(ctx.params.get("framings") or {})
    if not framings:
        raise ValueError(f"attack '{ctx.spec.id}' needs params.framings {{language: template}}")
    language = ctx.params.get("target_language")
    if not language or language == "random":
        languages = sorted(framings)
        language = languages[ctx.rng.randrange(len(languages))]
    if language not in framings:
        raise ValueError(f"attack '{ctx.spec.id}' has no framing for language '{language}'")
    ctx.language = str(language)
    ctx.notes["language"] = ctx.language
    return ctx.fill(framings[language], text)


_VAR_NAMES = ["a", "b", "c", "d", "e", "f", "g", "h"]


@register_transform("payload_split")
def payload_split(text: str, ctx: AttackContext) -> TransformResult:
    """Cut the request into fragments held in variables, and ask the model to join and act on them,
    so no single piece looks harmful."""
    words = text.split()
    n = max(2, min(int(ctx.params.get("parts", 3)), len(_VAR_NAMES), max(2, len(words))))
    size = max(1, -(-len(words) // n))
    chunks = [" ".join(words[i : i + size]) for i in range(0, len(words), size)] or [text]
    names = _VAR_NAMES[: len(chunks)]
    # the fragments are listed in a shuffled order; the join expression restores the right one
    order = list(range(len(chunks)))
    ctx.rng.shuffle(order)
    lines = "\n".join(f'{names[i]} = "{chunks[i]} "' for i in order)
    joined = " + ".join(names)
    ctx.notes["fragments"] = chunks
    return ctx.fill_params(ctx.pick(), text, parts=lines, joined=joined)


@register_transform("many_shot")
def many_shot(text: str, ctx: AttackContext) -> TransformResult:
    """Fake an earlier conversation in which the assistant answered every question without demur, so
    the real request looks like one more of the same."""
    examples = [tuple(e) for e in ctx.params.get("examples") or []]
    if not examples:
        raise ValueError(f"attack '{ctx.spec.id}' needs params.examples [[question, answer], …]")
    shots = int(ctx.params.get("shots", len(examples)))
    order = list(range(len(examples)))
    ctx.rng.shuffle(order)
    picked = [examples[order[i % len(order)]] for i in range(shots)]
    messages: list[Message] = []
    for question, answer in picked:
        messages.append(Message(role="user", content=str(question)))
        messages.append(Message(role="assistant", content=str(answer)))
    final = ctx.fill_params(ctx.pick(), text) if ctx.templates else text
    messages.append(Message(role="user", content=final))
    ctx.notes["shots"] = shots
    return messages


@register_transform("turns")
def turns(text: str, ctx: AttackContext) -> TransformResult:
    """Multi-turn escalation: each template is one user turn, sent in order with the answers so far;
    the early turns build a harmless-looking context and the last one makes the request."""
    if not ctx.templates:
        raise ValueError(f"attack '{ctx.spec.id}' needs one template per turn")
    limit = ctx.params.get("max_turns")
    plan = ctx.templates[: int(limit)] if limit else ctx.templates
    if "{prompt}" not in plan[-1]:
        plan = [*plan[:-1], plan[-1] + "\n\n{prompt}"]
    return [Message(role="user", content=ctx.fill_params(t, text)) for t in plan]


@register_transform("adaptive_seed")
def adaptive_seed(text: str, ctx: AttackContext) -> TransformResult:
    """The first prompt of an adaptive (attacker-model) attack: the seed, or a framing of it; the
    attacker loop rewrites it from there."""
    if ctx.templates and ctx.params.get("first_template", False):
        return ctx.fill_params(ctx.pick(), text)
    return text
