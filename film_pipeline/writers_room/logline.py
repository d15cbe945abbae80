"""A logline becomes a draft film: the profile's language model writes the shot list, one field
at a time, and every field it writes is checked, repaired or replaced before it reaches film.yaml.

The structure is never left to the model. The program asks for each field on its own (a shot's
picture, its narration, the title) with a short prompt and a primed answer ("We see", `Narrator:
"`), sampling with a seed derived from the film's seed and the field (so a seed always gives the
same film), and reads back one sentence. Choices from a closed set (the camera move, the
transition, the main character) are constrained: the model scores each allowed answer and the
likeliest one is taken, so it can only answer with a valid value. Free text is validated
(length, words, no meta talk, no repeat of an earlier shot) and falls back, per field, to words
built from the logline. The writer's words are kept: the logline itself is `logline:`, and every
prompt carries the logline's subject. What comes out is checked once more by `load_film`; a draft
that fails it is replaced by the fallback draft, so the result is always a film that renders.
"""

import contextlib
import io
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from film_pipeline.film import CAMERAS, FilmError, derived_seed, load_film
from film_pipeline.writers_room.film_yaml import (
    Draft, DraftCharacter, DraftShot, Notice, clean_text, round_duration, slug, to_yaml, unique_id)
from film_pipeline.writers_room.fountain import MOTION_WORDS
from film_pipeline.writers_room.voices import profile_voices, reading_seconds, speech_seconds

DEFAULT_SHOTS, MAX_SHOTS = 4, 20
SHOT_SECONDS = (2.5, 8.0)  # a logline shot's shortest and longest duration
CAMERA_WORDS = {camera: camera.replace("_", " ") for camera in CAMERAS}
STOPWORDS = set("""a an the and or but of in on at to for from by with without into onto over under through across
after before during while when where who whom whose which that this these those their his her its our your my
one two three is are was were be been being has have had do does did must can could will would should may might
then than as so if not no yes all any some each every own out up down off about again once only just very too
he she it they them him we you i me us also still even ever never long last first""".split())
# verbs loglines use after their subject ("A lonely robot searches ..."): where the subject's words end
VERBS = set("""searches finds guards fights discovers tries learns falls races struggles returns sets takes becomes
meets helps plans loses wins escapes travels hunts risks faces joins leaves goes comes makes gets seeks wants needs
decides attempts embarks battles confronts uncovers investigates protects saves steals runs flees chases follows
teams reunites discovers defends battles navigates tracks rescues sneaks wakes dreams builds breaks kills marries
inherits agrees refuses begins sails drives flies swims climbs walks waits keeps holds lights watches""".split())
META = re.compile(r"\b(shot|camera|scene|film|movie|narrator|screen|frame|story|audience|viewer|sentence|"
                  r"describe|description|i'm sorry|as an ai|i cannot|i can't)\b", re.IGNORECASE)
LABEL = re.compile(r"^\s*(?:(?:the\s+)?(?:opening|final|last|closing|first|next|middle)?\s*(?:shot|scene|image)"
                   r"(?:\s*\d+)?(?:\s+of\s+\d+)?\s*[:,-]\s*|in\s+(?:the\s+)?(?:\w+\s+)?shot(?:\s*\d+)?(?:\s+of\s+\d+)?,\s*|"
                   r"(?:description|narrator|answer|title)\s*:\s*)", re.IGNORECASE)
BEATS = ("the opening shot", "a shot early in the story", "a shot from the middle of the story",
         "a shot near the end", "the final shot")
FALLBACK_CAMERAS = ("push_in", "pan_right", "static", "pan_left", "tilt_up", "pull_out")
FALLBACK_DETAILS = ("the opening image, wide, in soft light", "a closer look, the light changing",
                    "the turning point, shadows lengthening", "the struggle at its height", "the quiet after",
                    "the last image, held, the light fading")


class LanguageModel(Protocol):
    """What the writers' room needs of a language model."""

    def generate(self, prompt: str, prefill: str, max_new_tokens: int, seed: int) -> str:
        """The answer to `prompt` after the primed `prefill` (which is not repeated), sampled with `seed`."""

    def choose(self, prompt: str, options: Sequence[str]) -> int:
        """The index of the likeliest continuation of the plain text `prompt` among `options`."""


class TransformersModel:
    """The profile's `text` backend (transformers), used for generation and for scoring choices.

    One CPU thread: a 135M-parameter model gains nothing from two, and on a busy machine two
    threads wait on each other (about ten times slower, measured)."""

    def __init__(self, profile: str):
        from film_pipeline.backends import get_backend

        with contextlib.redirect_stderr(io.StringIO()):  # the GGUF loader's progress bar is not for film-makers
            backend = get_backend("text", profile)
        self.tokenizer, self.model = backend.tokenizer, backend.model
        self.name = getattr(getattr(self.model, "config", None), "_name_or_path", "") or "the language model"

    @contextlib.contextmanager
    def _one_thread(self):
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                yield torch
        finally:
            torch.set_num_threads(threads)

    def _chat(self, prompt: str) -> str:
        return self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                                  tokenize=False)

    def generate(self, prompt: str, prefill: str, max_new_tokens: int, seed: int) -> str:
        with self._one_thread() as torch:
            inputs = self.tokenizer(self._chat(prompt) + prefill, return_tensors="pt", add_special_tokens=False)
            torch.manual_seed(seed)
            output = self.model.generate(**inputs, do_sample=True, temperature=0.7, top_p=0.9,
                                         max_new_tokens=max_new_tokens,
                                         pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
            return self.tokenizer.decode(output[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)

    def choose(self, prompt: str, options: Sequence[str]) -> int:
        """Mean log-probability of each option's tokens after the prompt (plain text, no chat turn:
        half the tokens), all options in one batch."""
        with self._one_thread() as torch:
            head = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
            rows = [head + self.tokenizer(" " + option, add_special_tokens=False)["input_ids"] for option in options]
            width = max(len(row) for row in rows)
            pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
            ids = torch.tensor([row + [pad] * (width - len(row)) for row in rows])
            mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows])
            logits = self.model(input_ids=ids, attention_mask=mask).logits.float().log_softmax(-1)
            scores = []
            for r, row in enumerate(rows):
                picked = [logits[r, t - 1, row[t]].item() for t in range(len(head), len(row))]
                scores.append(sum(picked) / max(1, len(picked)))
            return max(range(len(options)), key=lambda i: (scores[i], -i))


def load_model(profile: str) -> tuple[LanguageModel | None, Notice | None]:
    """The profile's language model, or None and a warning saying why the shot list is built from
    the logline alone (no model installed, a profile whose checkpoint is not on this machine)."""
    try:
        return TransformersModel(profile), None
    except Exception as error:  # noqa: BLE001 - any failure to load means: write the film without it
        said = (str(error).splitlines() or [type(error).__name__])[0][:200]
        return None, Notice(None, f"the profile `{profile}`'s language model could not be loaded ({said}); the "
                                  f"shot list is built from the logline alone")


def draft_from_logline(logline: str, shots: int = DEFAULT_SHOTS, seed: int = 7, profile: str = "preview",
                       title: str | None = None, model: LanguageModel | None = None,
                       warnings: list[Notice] | None = None) -> Draft:
    """A draft of `shots` shots for the logline, written by `model` (None: from the logline alone),
    every field checked; always one `load_film` accepts."""
    logline = clean_text(logline)
    writer = _Writer(logline, shots, seed, profile, model, list(warnings or []))
    draft = writer.draft(title)
    if not _loads(draft):  # a repair missed something: the film made without the model is always valid
        writer.warn(None, "the language model's shot list did not make a valid film.yaml; it is built from the "
                          "logline alone")
        draft = _Writer(logline, shots, seed, profile, None, writer.warnings).draft(title)
    return draft


def _loads(draft: Draft) -> bool:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "film.yaml"
        path.write_text(to_yaml(draft), encoding="utf-8")
        try:
            load_film(path)
        except FilmError:
            return False
    return True


class _Writer:
    def __init__(self, logline: str, shots: int, seed: int, profile: str, model: LanguageModel | None,
                 warnings: list[Notice]):
        self.count, self.seed, self.profile, self.model = shots, seed, profile, model
        self.full_logline = logline
        self.logline = " ".join(logline.split()[:60])  # what the prompts quote: a page-long logline would be slow
        self.warnings = warnings
        self.subject = subject_of(logline)
        self.words = content_words(logline)
        self.voice = profile_voices(profile)[0]

    def warn(self, line, message: str) -> None:
        self.warnings.append(Notice(line, message))

    def field_seed(self, *parts) -> int:
        return derived_seed(self.seed, "logline", *parts)

    def ask(self, what: str, prompt: str, prefill: str, tokens: int, check, *parts, tries: int = 1) -> str | None:
        """A free-text field: asked, cleaned and checked (`tries` times, each with its own seed);
        None when no answer passes (the caller falls back)."""
        if self.model is None:
            return None
        for attempt in range(tries):
            if self.model is None:  # it failed on an earlier call
                return None
            raw = self.run(self.model.generate, prompt, prefill, tokens, self.field_seed(*parts, attempt))
            text = check(raw) if isinstance(raw, str) else None
            if text:
                return text
        self.warn(None, f"{what}: the language model's answers did not pass the checks; used words from the logline")
        return None

    def choose(self, prompt: str, options: Sequence[str], default: int) -> int:
        if self.model is None:
            return default
        index = self.run(self.model.choose, prompt, options)
        return index if isinstance(index, int) and 0 <= index < len(options) else default

    def run(self, call, *args):
        """A call to the model; a failure (out of memory, a model that cannot generate) is the
        model's answer failing: the field falls back, and the rest of the film goes on without it."""
        try:
            return call(*args)
        except Exception as error:  # noqa: BLE001 - every field has a fallback; the file must be written
            said = (str(error).splitlines() or [type(error).__name__])[0][:160]
            self.warn(None, f"the language model failed ({type(error).__name__}: {said}); the rest is built from "
                            f"the logline alone")
            self.model = None
            return None

    def draft(self, title: str | None) -> Draft:
        cast = self.cast()
        taken: set[str] = set()
        shots, details, narrations = [], [], []
        for index in range(self.count):
            beat = beat_of(index, self.count)
            detail = self.ask(f"shot {index + 1}'s picture",
                              f"A short film: {self.logline}\nDescribe {beat}: the place, the light, who is there "
                              f"and what they do.", "We see", 32,
                              lambda raw: picture(raw, self.words, details), "picture", index, tries=2)
            written = detail is not None
            if detail is None:
                detail = FALLBACK_DETAILS[_spread(index, self.count, len(FALLBACK_DETAILS))]
            details.append(detail)
            narration = self.ask(f"shot {index + 1}'s narration",
                                 f"A short film: {self.logline}\nWhat does the narrator say over {beat}? "
                                 f"One short sentence.", 'Narrator: "', 20,
                                 lambda raw: spoken_line(raw, narrations), "narration", index)
            if narration is None and index == 0 and len(self.full_logline.split()) <= 30:
                narration = self.full_logline  # the writer's own words open the film
            if narration:
                narrations.append(narration)
            prompt = with_subject(self.subject, detail)
            # never the same move twice running: the choice is among the other six
            moves = [c for c in CAMERAS if not shots or c != shots[-1].camera]
            fallback = FALLBACK_CAMERAS[index % len(FALLBACK_CAMERAS)]
            camera = moves[self.choose(f"Shot: {prompt}\nThe camera move for this shot:",
                                       [CAMERA_WORDS[c] for c in moves],
                                       default=moves.index(fallback) if fallback in moves else 0)]
            if index == self.count - 1:
                transition = "fade"
            else:
                transition = ("cut", "crossfade")[self.choose(
                    f"Shot: {prompt}\nInto the next shot with a", ["hard cut", "slow dissolve"], default=0)]
            seconds = max(reading_seconds(detail), speech_seconds(narration, self.profile) + 0.5 if narration else 0)
            text = f"{prompt} {narration or ''}".lower()
            shots.append(DraftShot(
                id=unique_id(f"s{index + 1:02d}-{slug(' '.join(content_words(detail)[:3]), 24, 3)}".rstrip("-"),
                             taken),
                prompt=prompt, duration=round_duration(seconds, *SHOT_SECONDS),
                characters=[c.key for c in cast.values() if re.search(rf"\b{re.escape(c.key.replace('-', ' '))}\b",
                                                                      text.replace("-", " "))],
                camera=camera, motion=_motion(prompt), narration=narration, voice=self.voice if narration else None,
                transition=transition, comment=f"{beat}: " + ("the picture is the language model's" if written
                                                               else "a stock picture: describe the shot here")))
        return Draft(title=self.title(title), logline=self.full_logline, shots=shots, characters=cast, seed=self.seed,
                     profile=self.profile, header=self.header(), warnings=self.warnings)

    def header(self) -> list[str]:
        who = f"with the `{self.profile}` profile's language model" if self.model else "from the logline alone"
        return [f"Written by `film new --logline` {who}, seed {self.seed} (the same seed writes the same film).",
                "Every field was checked; the ones that failed are built from the logline's words. Edit anything, "
                "then `film render` this directory."]

    def title(self, hint: str | None) -> str:
        answer = self.ask("the title", f"Give a title of at most five words for a film about: {self.logline}",
                          "Title: ", 10, film_title, "title")
        return answer or clean_text(hint or "") or " ".join(w.capitalize() for w in self.logline.split()[:5]) or "Untitled"

    def cast(self) -> dict[str, DraftCharacter]:
        """Names in the logline (capitalised words); with none, the main character the model picks
        from the logline's own words."""
        people = proper_names(self.logline)
        if not people and self.words:
            head = self.ask("the main character", f"Story: {self.logline}\nWho is the main character? Answer in a "
                                                  f"few words.", "The main character is", 10,
                            lambda raw: main_character(raw, self.logline), "cast", tries=2)
            head = head or leading_noun(self.logline) or self.words[0]
            people = [(head, noun_phrase(self.logline, head))]
        cast = {}
        for name, description in people[:4]:
            key = "-".join(re.sub(r"[^\w]+", " ", name.lower()).split())[:40]
            if not key or key in cast:
                continue
            cast[key] = DraftCharacter(key, clean_text(description) or name, derived_seed("character", key),
                                       comment="from the logline; describe them more here")
        return cast


# ---- checks and repairs of what the model wrote (pure functions: the unit tests call them) ----

def content_words(text: str) -> list[str]:
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", text.lower())
    return list(dict.fromkeys(w.strip("'-") for w in words if w.strip("'-") not in STOPWORDS and len(w) > 2))


def subject_of(logline: str, limit: int = 12) -> str:
    """The logline's first clause, at most `limit` words: every prompt starts with it."""
    first = re.split(r"(?<=[.!?;])\s+|\s+(?:—|--|–)\s+|,\s+(?:but|when|until|as|while|where|who)\s+|"
                     r"(?<=\w{3})\s+(?:and\s+|who\s+)?(?:must|only to|until|before|after|but|so that)\s+|"
                     r"(?<=\w{3})\s+(?:who|that|which|whose)\s+", logline)[0]
    words = first.strip(" .!?;,").split()
    if len(words) > limit:
        words = words[:limit]
        while words and words[-1].lower() in STOPWORDS:  # never end on "the", "and", "of"
            words.pop()
    return " ".join(words)


def first_sentences(raw: str, max_words: int = 35) -> str:
    """One or two whole sentences of the model's text, labels and markup gone; a sentence cut off by
    the token limit ends at its last comma."""
    text = clean_text(re.sub(r"[*_#`>\[\]{}|]+", " ", raw.split("\n\n")[0]))
    text = LABEL.sub("", text).strip(" \"'“”‘’-:")
    sentences = re.findall(r"[^.!?]+[.!?]+(?=\s|$)", text)
    rest = text[sum(len(s) for s in sentences):].strip() if sentences else text
    if rest and not sentences:  # cut off: to the last comma, else the words as they are
        sentences = [rest.rsplit(",", 1)[0] if "," in rest else rest]
    out = []
    for sentence in sentences:
        words = sentence.split()
        if len(" ".join(out).split()) + len(words) > max_words:
            if not out:
                out.append(" ".join(words[:max_words]).rstrip(",;:"))
            break
        out.append(sentence.strip())
    return " ".join(out).strip(" \"'“”")


def picture(raw: str, logline_words: list[str], earlier: list[str]) -> str | None:
    """What the camera sees, from the model's text after "We see", or None when it does not pass."""
    text = first_sentences(raw, 40)
    text = re.sub(r"^(?:the\s+|an?\s+)?(?:[a-z]+\s+)?(?:scene|image|shot|view|picture|sight)\s+of\s+", "", text,
                  flags=re.IGNORECASE).strip()
    sentences = re.findall(r"[^.!?]+[.!?]*", text) or [text]
    # a sentence that only repeats the logline adds nothing the subject does not say
    kept = [s.strip() for s in sentences if s.strip() and _overlap(content_words(s), logline_words) < 0.8]
    text = " ".join(kept) if kept else text
    words = text.split()
    if not 4 <= len(words) <= 40 or META.search(text) or _alphabetic(words) < 0.7 or _repetitive(text):
        return None
    if any(_overlap(content_words(text), content_words(other)) > 0.7 for other in earlier):
        return None
    return text[0].lower() + text[1:] if text[:2].istitle() and text.split()[0].lower() in STOPWORDS else text


def spoken_line(raw: str, earlier: list[str]) -> str | None:
    """The narrator's line (the model's text up to its closing quote), or None when it does not pass."""
    text = first_sentences(raw.split('"')[0].split("”")[0], 25)
    words = text.split()
    if not 3 <= len(words) <= 25 or META.search(text) or _alphabetic(words) < 0.7 or _repetitive(text):
        return None
    if any(_overlap(content_words(text), content_words(other)) > 0.7 for other in earlier):
        return None
    return text if re.search(r"[.!?…]$", text) else text + "."


def film_title(raw: str) -> str | None:
    text = clean_text(re.sub(r"[*_#`\"“”]+", "", raw.split("\n")[0])).strip(" .:-'")
    text = re.sub(r"^\d+\s*[:.)-]\s*", "", text).strip(" .:-'")  # "1010: The Last Light" -> "The Last Light"
    words = text.split()
    if not 1 <= len(words) <= 7 or META.search(text) or _alphabetic(words) < 0.8 or len(text) > 60:
        return None
    if words[-1].lower().strip(",;:") in STOPWORDS or text.endswith((",", ";", ":")):
        return None  # cut off: "The Last Light on the"
    return text


def proper_names(logline: str) -> list[tuple[str, str]]:
    """(name, description) for each capitalised name in the logline that does not just start a
    sentence: "Mara, an old keeper, and her robot Bolt" -> [("Mara", "Mara, an old keeper"), ("Bolt", "Bolt, her robot")]."""
    found = []
    for match in re.finditer(r"\b[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?(?:\s+[A-Z][a-z]+)?\b", logline):
        name = match.group(0)
        at_start = match.start() == 0 or re.search(r"[.!?]\s*$", logline[:match.start()])
        first = name.split()[0]
        if first.lower() in STOPWORDS or (at_start and not re.match(r"\s*,", logline[match.end():])):
            continue
        if any(name == n for n, _ in found):
            continue
        after = re.match(r"\s*,\s*((?:a|an|the|his|her|their)\s[^,.;]{2,80}?)\s*(?:,|\.|;|$)", logline[match.end():])
        before = re.search(r"\b((?:a|an|the|his|her|their|its)(?:\s+[a-z]+){1,3})\s+$", logline[:match.start()])
        description = (f"{name}, {after.group(1)}" if after else f"{name}, {before.group(1)}" if before else name)
        found.append((name, description))
    return found


def leading_noun(logline: str) -> str | None:
    """The last word of the logline's first run of content words: "Two rival chefs are ..." -> "chefs"."""
    run = []
    for word in re.findall(r"[A-Za-z][A-Za-z'-]*", logline):
        if word.lower() in STOPWORDS or (run and word.lower() in VERBS):
            if run:
                break
            continue
        run.append(word)
    return run[-1] if run else None


def main_character(raw: str, logline: str) -> str | None:
    """The model's answer to "who is the main character?" as the logline's own word for them:
    " the chef with the biggest ego" -> "chefs" (in "Two rival chefs ..."); None when its words are
    not the logline's."""
    answer = re.split(r"[,.;:!?(]|\s(?:who|with|named|called|that|which|and|is|was)\s", " " + raw.strip() + " ")[0]
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]*", answer) if w.lower() not in STOPWORDS]
    if not 1 <= len(words) <= 4:
        return None
    logline_words = {w.lower(): w for w in re.findall(r"[A-Za-z][A-Za-z'-]*", logline)}
    found = []
    for word in words:
        for form in (word.lower(), word.lower() + "s", word.lower() + "es", word.lower().rstrip("s")):
            if form in logline_words:
                found.append(logline_words[form])
                break
        else:
            return None
    return found[-1]


def noun_phrase(logline: str, word: str) -> str:
    """The logline's words from the determiner before `word` to it: "A lighthouse keeper"."""
    match = re.search(rf"\b((?:a|an|the|his|her|their|its|one|two|three|four|five|several|some)\s+"
                      rf"(?:[\w'-]+\s+){{0,3}}?{re.escape(word)})\b",
                      logline, re.IGNORECASE)
    return match.group(1) if match else word


def with_subject(subject: str, detail: str) -> str:
    """The prompt: the logline's subject, then the model's picture (unless it already says it)."""
    if not subject:
        return detail
    if _overlap(content_words(subject), content_words(detail)) >= 0.6:
        return detail
    return f"{subject}: {detail}"


def beat_of(index: int, count: int) -> str:
    if index == 0:
        return BEATS[0]
    if index == count - 1:
        return BEATS[-1]
    return BEATS[1 + _spread(index - 1, max(1, count - 2), len(BEATS) - 2)]


def _spread(index: int, count: int, size: int) -> int:
    """Index `index` of `count` spread over `size` slots."""
    return min(size - 1, index * size // max(1, count))


def _overlap(words: list[str], others: list[str]) -> float:
    """The share of `words` that are also in `others`."""
    if not words:
        return 1.0
    others = set(others)
    return sum(1 for w in words if w in others) / len(words)


def _repetitive(text: str) -> bool:
    """A small model's loop: "a light, a guard, a light, a creature, a creature", "the last one, the last one"."""
    words = re.findall(r"[a-z']+", text.lower())
    content = [w for w in words if w not in STOPWORDS]
    if len(content) >= 4 and len(set(content)) / len(content) < 0.7:
        return True
    pairs = list(zip(words, words[1:]))
    return any(pairs.count(pair) >= 3 for pair in set(pairs))


def _alphabetic(words: list[str]) -> float:
    return sum(1 for w in words if re.search(r"[^\W\d_]", w)) / max(1, len(words))


def _motion(prompt: str) -> str | None:
    found = [motion for pattern, motion in MOTION_WORDS if re.search(pattern, prompt.lower())]
    return ", ".join(found[:2]) or None
