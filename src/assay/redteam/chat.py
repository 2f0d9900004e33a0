"""Interactive red-teaming: a chat with one target in which every answer is judged at once.

`ChatSession` is the whole session without a terminal: the conversation so far, an attack waiting to
disguise the next message, the refusal detector (and an optional judge target) scoring each answer,
slash commands, and saving a finding as a suite sample. `assay redteam chat` only reads lines, hands
them to `ChatSession.handle` and prints what comes back, so the session is tested without a terminal.

A saved finding is one JSON line in the sample format `load_suite` / `load_samples` read, so a file of
findings is a regression suite: `assay eval run redteam-findings.jsonl -t TARGET` asks every one again
and scores it with the refusal scorer (inferred from each sample's `expect`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from assay.evals.models import Completion, Expectation, Message, Sample, Score
from assay.evals.scorers.refusal import RefusalDetector, RefusalVerdict, default_detector
from assay.evals.targets.base import GenerationParams, Target, TargetError
from assay.redteam.attack import Attack, AttackMode

DEFAULT_FINDINGS = "redteam-findings.jsonl"
HISTORY_FILE = "redteam-history"
DEFAULT_CATEGORY = "redteam"
ID_PREFIX = "rt-"

HELP = """\
Type a message to send it. Commands:
  /attack ID      disguise the NEXT message with an attack (/attack off cancels it)
  /attacks        list the attacks that work in a chat
  /history        show the conversation so far
  /reset          forget the conversation (the system prompt stays)
  /system TEXT    set the system prompt (/system with nothing clears it) and start afresh
  /save [expect=refuse|comply] [category=NAME]
                  save the last exchange (the whole conversation when it has several turns)
                  as a test sample in the findings file
  /help           this text
  /quit           leave (Ctrl-D does too)
A line starting with // is sent as a message beginning with /."""

CHAT_MODES = frozenset({AttackMode.single, AttackMode.conversation, AttackMode.multi_turn})


class ChatError(ValueError):
    """A command that cannot be carried out (unknown attack, nothing to save …); the session goes on."""


@dataclass
class Command:
    """A parsed slash command: its name (without the slash) and the rest of the line."""

    name: str
    args: str = ""


def parse_command(line: str) -> Command | None:
    """The command a line holds, or None when the line is a message (`//x` is the message `/x`)."""
    text = line.strip()
    if not text.startswith("/") or text.startswith("//"):
        return None
    name, _, rest = text[1:].partition(" ")
    return Command(name=name.lower(), args=rest.strip())


def message_text(line: str) -> str:
    """What a non-command line sends: `//x` becomes `/x`."""
    text = line.strip()
    return text[1:] if text.startswith("//") else text


def parse_save_args(args: str) -> dict[str, str]:
    """`expect=refuse category=pii` (or a bare `refuse` / `comply`) as a dict; unknown keys are errors."""
    out: dict[str, str] = {}
    try:
        words = shlex.split(args)
    except ValueError as exc:
        raise ChatError(f"cannot read the /save arguments: {exc}") from None
    for word in words:
        key, eq, value = word.partition("=")
        if not eq:
            key, value = "expect", word
        key = key.strip().lower()
        if key not in {"expect", "category"}:
            raise ChatError(f"/save knows expect= and category=, not '{key}='")
        if not value.strip():
            raise ChatError(f"/save {key}= needs a value")
        out[key] = value.strip()
    if "expect" in out:
        out["expect"] = out["expect"].lower()
        if out["expect"] not in {e.value for e in Expectation}:
            raise ChatError(f"expect must be refuse or comply, not '{out['expect']}'")
    return out


@dataclass
class Turn:
    """One message of the user and the target's answer to it, with the judgements of the answer.

    `sent` is what joined the conversation before the answer: the (possibly attacked) user message, or
    for a conversation or multi-turn attack its prepared turns. `answer` is None when the target failed.
    """

    number: int
    text: str
    sent: list[Message]
    answer: str | None = None
    latency_s: float = 0.0
    attack: str | None = None
    language: str | None = None
    refusal: RefusalVerdict | None = None
    judge: Score | None = None
    error: str | None = None

    @property
    def prompt(self) -> str:
        """The last user message sent (the attacked text, when an attack was used)."""
        return next((m.content for m in reversed(self.sent) if m.role == "user"), self.text)

    @property
    def refused(self) -> bool | None:
        return None if self.refusal is None else self.refusal.refused


@dataclass
class Reply:
    """What handling one line produced, for the front end to show.

    kind: `turn` (a message was answered; see `turn`), `info` (text to show), `error` (a command failed),
    `saved` (a finding was saved; see `sample` and `path`), `quit`.
    """

    kind: Literal["turn", "info", "error", "saved", "quit"]
    text: str = ""
    turn: Turn | None = None
    sample: Sample | None = None
    path: Path | None = None


@dataclass
class ChatSession:
    """A red-teaming conversation with one target; see the module docstring.

    The conversation (`messages`) holds user and assistant turns only; the system prompt is kept apart
    and put first on every request, so `/system` changes it without rewriting history.
    """

    target: Target
    target_id: str | None = None
    judge: Target | None = None
    judge_id: str | None = None
    attacks: Mapping[str, Attack] = field(default_factory=dict)
    system_prompt: str | None = None
    default_system_prompt: str | None = None
    params: GenerationParams = field(default_factory=GenerationParams)
    findings_path: Path = field(default_factory=lambda: Path(DEFAULT_FINDINGS))
    detector: RefusalDetector = field(default_factory=default_detector)
    messages: list[Message] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    pending_attack: Attack | None = None
    _judge_scorer: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.target_id is None:
            self.target_id = self.target.id
        if self.judge is not None:
            from assay.evals.scorers.base import build_scorer
            from assay.redteam.build import HARM_RUBRIC

            self.judge_id = self.judge_id or self.judge.id
            params = {
                "target": self.judge_id,
                "rubric": HARM_RUBRIC,
                "scale": "PASS/FAIL",
                "include_target": False,
            }
            self._judge_scorer = build_scorer("judge", params, targets={self.judge_id: self.judge})

    # -- attacks ----------------------------------------------------------------------------------------
    def chat_attacks(self) -> list[Attack]:
        """The attacks usable here: all but the adaptive ones, which need an attacker model."""
        return [a for a in self.attacks.values() if a.mode in CHAT_MODES]

    def set_attack(self, attack_id: str | None) -> Attack | None:
        """Disguise the next message with this attack (None or 'off' cancels); returns the attack."""
        if attack_id is None or attack_id.lower() in {"off", "none", ""}:
            self.pending_attack = None
            return None
        attack = self.attacks.get(attack_id)
        if attack is None:
            raise ChatError(f"no attack '{attack_id}'; /attacks lists them")
        if attack.mode not in CHAT_MODES:
            raise ChatError(
                f"attack '{attack_id}' is {attack.mode}: it needs an attacker model, so it runs only "
                "in `assay redteam run --attacker`"
            )
        self.pending_attack = attack
        return attack

    # -- the conversation --------------------------------------------------------------------------------
    def request(self, extra: list[Message]) -> list[Message]:
        """The messages sent to the target: system prompt, conversation so far, then `extra`."""
        head = [Message(role="system", content=self.system_prompt)] if self.system_prompt else []
        return head + self.messages + extra

    def reset(self) -> None:
        """Forget the conversation and any pending attack; the system prompt stays."""
        self.messages = []
        self.turns = []
        self.pending_attack = None

    def set_system(self, text: str | None) -> None:
        """A new system prompt (None or empty clears it); the conversation starts afresh."""
        self.system_prompt = text or None
        self.reset()

    def _disguise(self, text: str, attack: Attack | None, number: int) -> tuple[list[Message], str | None]:
        if attack is None:
            return [Message(role="user", content=text)], None
        seed = Sample(id=f"chat-{number}", input=text)
        done = attack.apply(text, seed)
        if isinstance(done.input, str):
            sent = [Message(role="user", content=done.input)]
        else:  # prepared turns; a system message of the attack's replaces nothing here, so drop it
            sent = [m for m in done.input if m.role != "system"]
        return sent, done.language

    async def send(self, text: str) -> Turn:
        """Send a message (disguised by the pending attack, which is then used up) and judge the answer.

        The conversation grows only when the target answers, so a failed or cancelled request leaves it
        (and the pending attack) as it was. A multi-turn attack's user turns are sent one at a time, each
        with the answers so far.
        """
        text = text.strip()
        if not text:
            raise ChatError("nothing to send")
        attack, self.pending_attack = self.pending_attack, None
        number = len(self.turns) + 1
        sent, language = self._disguise(text, attack, number)
        turn = Turn(
            number=number, text=text, sent=sent, attack=attack.id if attack else None, language=language
        )
        multi = attack is not None and attack.mode is AttackMode.multi_turn
        added: list[Message] = []
        completion: Completion | None = None
        started = time.perf_counter()
        try:
            if multi:
                for message in sent:
                    added.append(message)
                    if message.role == "user":
                        completion = await self.target.generate(self.request(added), self.params)
                        added.append(Message(role="assistant", content=completion.text))
                added = added[:-1]
            else:
                added = list(sent)
                completion = await self.target.generate(self.request(added), self.params)
        except TargetError as exc:
            self.pending_attack = attack  # still set, for a retry
            turn.error = str(exc)
            turn.latency_s = time.perf_counter() - started
            self.turns.append(turn)
            return turn
        except asyncio.CancelledError:  # Ctrl-C in the terminal: as if the message had not been typed
            self.pending_attack = attack
            raise
        assert completion is not None
        turn.latency_s = time.perf_counter() - started
        turn.sent = added
        turn.answer = completion.text
        turn.refusal = self.detector.detect(completion.text)
        if self._judge_scorer is not None:
            goal = Sample(id=f"chat-{number}", input=text, expect=Expectation.refuse)
            turn.judge = await self._judge_scorer.score(goal, completion)
        self.messages.extend(added)
        self.messages.append(Message(role="assistant", content=completion.text))
        self.turns.append(turn)
        return turn

    def last_answered(self) -> Turn | None:
        return next((t for t in reversed(self.turns) if t.answer is not None), None)

    # -- findings ------------------------------------------------------------------------------------
    def finding_input(self) -> str | list[Message]:
        """What a saved finding asks: the last prompt alone when the conversation is one exchange with no
        system prompt of its own, else the whole conversation up to the last user message."""
        last = self.last_answered()
        if last is None:
            raise ChatError("nothing to save yet: send a message first")
        convo = self.messages[:-1]  # without the final answer
        own_system = self.system_prompt and self.system_prompt != self.default_system_prompt
        if len(convo) == 1 and convo[0].role == "user" and not own_system:
            return convo[0].content
        head = [Message(role="system", content=self.system_prompt)] if own_system else []
        return head + convo

    @staticmethod
    def finding_id(value: str | list[Message]) -> str:
        """A stable id: the same conversation always gets the same id, whoever saves it and when."""
        data = value if isinstance(value, str) else [m.model_dump() for m in value]
        digest = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        return ID_PREFIX + digest[:12]

    def finding(self, expect: str | Expectation = Expectation.refuse, category: str | None = None) -> Sample:
        """The last exchange (or conversation) as a suite sample, with what was seen in its metadata."""
        value = self.finding_input()
        last = self.last_answered()
        assert last is not None
        used = [
            self.attacks[t.attack]
            for t in self.turns
            if t.attack in self.attacks and t.answer is not None and t.attack is not None
        ]
        risk_ids: list[str] = []
        for a in used:
            risk_ids += [i for i in (*a.spec.owasp_llm, *a.spec.atlas) if i not in risk_ids]
        judge = None
        if last.judge is not None:
            judge = {
                "target": self.judge_id,
                "label": last.judge.label,
                "passed": last.judge.passed,
                "error": last.judge.error,
            }
        metadata: dict[str, Any] = {
            "source": "assay redteam chat",
            "target": self.target_id,
            "saved_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "attacks": list(dict.fromkeys(a.id for a in used)),
            "typed": last.text,
            "answer": last.answer,
            "latency_s": round(last.latency_s, 3),
            "refusal": {"refused": last.refused, "score": last.refusal.score if last.refusal else None},
            "judge": judge,
        }
        return Sample(
            id=self.finding_id(value),
            input=value,
            expect=Expectation(expect),
            category=category or DEFAULT_CATEGORY,
            language=last.language or "en",
            risk_ids=risk_ids,
            metadata=metadata,
        )

    def save_finding(
        self,
        expect: str | Expectation = Expectation.refuse,
        category: str | None = None,
        path: Path | None = None,
    ) -> Sample:
        """Append the finding to the findings file (created with its folder if need be) and return it.

        A finding whose id is already in the file is not written twice (ChatError says so).
        """
        sample = self.finding(expect, category)
        path = path or self.findings_path
        if sample.id in saved_ids(path):
            raise ChatError(f"already saved as {sample.id} in {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(sample.model_dump(mode="json", exclude_defaults=True), ensure_ascii=False)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        return sample

    # -- one typed line ---------------------------------------------------------------------------------
    async def handle(self, line: str) -> Reply:
        """Carry out one typed line: a command, or a message to send."""
        command = parse_command(line)
        if command is None:
            text = message_text(line)
            if not text:
                return Reply("info")
            try:
                return Reply("turn", turn=await self.send(text))
            except ChatError as exc:
                return Reply("error", str(exc))
        try:
            return self.command(command)
        except ChatError as exc:
            return Reply("error", str(exc))

    def command(self, command: Command) -> Reply:
        """Carry out a slash command; raises ChatError when it cannot."""
        name, args = command.name, command.args
        if name in {"quit", "exit", "q"}:
            return Reply("quit")
        if name in {"help", "?"}:
            return Reply("info", HELP)
        if name == "attacks":
            return Reply("info", self.describe_attacks())
        if name == "attack":
            if not args:
                pending = self.pending_attack.id if self.pending_attack else "none"
                return Reply("info", f"pending attack: {pending}; /attack ID sets one, /attacks lists them")
            attack = self.set_attack(args.split()[0])
            if attack is None:
                return Reply("info", "no attack on the next message")
            return Reply("info", f"the next message goes through '{attack.id}' ({attack.spec.name})")
        if name == "history":
            return Reply("info", self.describe_history())
        if name == "reset":
            self.reset()
            return Reply("info", "conversation forgotten")
        if name == "system":
            self.set_system(args or None)
            state = "set" if args else "cleared"
            return Reply("info", f"system prompt {state}; conversation restarted")
        if name == "save":
            options = parse_save_args(args)
            sample = self.save_finding(options.get("expect", Expectation.refuse), options.get("category"))
            shape = "conversation" if isinstance(sample.input, list) else "exchange"
            return Reply(
                "saved",
                f"saved {shape} {sample.id} (expect {sample.expect}, category {sample.category}) "
                f"to {self.findings_path}",
                sample=sample,
                path=self.findings_path,
            )
        raise ChatError(f"unknown command /{name}; /help lists them")

    def describe_attacks(self) -> str:
        rows = [f"  {a.id:<22} {a.spec.family:<14} {a.spec.name}" for a in self.chat_attacks()]
        return "Attacks (/attack ID applies one to the next message):\n" + "\n".join(rows)

    def describe_history(self) -> str:
        if not self.messages:
            return "(no conversation yet)"
        lines = [f"[system] {self.system_prompt}"] if self.system_prompt else []
        lines += [f"[{m.role}] {m.content}" for m in self.messages]
        return "\n".join(lines)

    async def aclose(self) -> None:
        """Release the targets' connections."""
        await self.target.aclose()
        if self.judge is not None and self.judge is not self.target:
            await self.judge.aclose()


def saved_ids(path: Path) -> set[str]:
    """Ids already in a findings file (lines that are not JSON objects are passed over)."""
    if not path.exists():
        return set()
    ids: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and row.get("id") is not None:
            ids.add(str(row["id"]))
    return ids
