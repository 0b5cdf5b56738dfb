"""Find the office's answer to a citizen's question, and say how sure we are.

Questions and answers are normalised by :mod:`urp.faq.text` (accents, elisions, stop
words, stems, the office's synonyms). Two TF-IDF spaces from scikit-learn compare a
message with them: the stems, and the character n-grams of the words (3 to 5 letters
within a word, so typos still meet: «certifcato», «anagarfe»). An entry scores on the
centroid of its questions and on its answer, both spaces half and half: measured on the
examples' own questions, that ranks the right entry first far more often than the single
closest question (docs/nlu-report.md). Words the index has never seen count against the
match instead of vanishing (a question about the pool does not become one about the
library's hours because «piscina» is unknown). The other half of the score is the meaning:
the NLU's sentence embedding (:mod:`urp.nlu.embeddings`) of the message against the
entry's closest question and the centroid of its questions, so a question with none of an
entry's words still finds it. The NLU sends the message's vector in the parse data; the
questions' vectors are computed when the index is built.

Confidence is honest: a tiny logistic model (:mod:`urp.faq.confidence`) turns the scores
and the words' coverage into the probability that the best entry is right. From
``answer_threshold`` one answer; from ``suggest_threshold`` up to three distinct entries
(those scoring at least ``SUGGESTION_SHARE`` of the best) to choose from; below, none.
The choice of method, the model and the thresholds are measured by ``make eval-faq``
(:mod:`urp.tools.eval_faq`, docs/nlu-report.md).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from urp.core.settings import FaqSettings
from urp.faq.confidence import ConfidenceModel, Evidence, default_model, features
from urp.faq.entries import FaqEntry
from urp.faq.meanings import StoredMeanings
from urp.faq.text import Analysis, Synonyms
from urp.faq.thesaurus import default_groups
from urp.nlu import embeddings

if TYPE_CHECKING:
    from urp.faq.store import FaqService

logger = logging.getLogger(__name__)

ANSWER, SUGGESTIONS, NONE = "answer", "suggestions", "none"
MAX_SUGGESTIONS = 3
# «Forse cerchi:» offers the entries scoring at least this share of the best one.
SUGGESTION_SHARE = 0.75
CHAR_NGRAMS = (3, 5)
# An unknown word or n-gram weighs as a rare known one, times this.
UNKNOWN_WEIGHT = 1.0
# The sentence embedding's cosine of unrelated Italian texts is about 0.8 (the median
# message against an entry: 0.85; measured on tests/faq/tuning.yml): the meaning score of
# an entry is how far above that the message is, in [0, 1].
MEANING_FLOOR = 0.8
# The questions' sentence embeddings, one row per question, in order.
Meanings = Callable[[list[str]], np.ndarray]
# How long the message that notices a new revision waits for the rebuild before the
# previous index answers it (:class:`LiveFaqIndex`): enough for a FAQ of about 100 entries
# whose vectors are stored (0.1-0.3 s, docs/performance.md), so its edit is answered from the
# next message; a larger one answers from the previous index for a second or two.
REBUILD_PATIENCE = 0.5


@dataclass(frozen=True)
class Weights:
    """How an entry's score is made; chosen by ``make eval-faq`` (leave-one-question-out)."""

    words: float = 0.5  # share of the stems' space; the rest: character n-grams
    centroid: float = 1.0  # the centroid of the entry's questions
    answer: float = 1.0  # the entry's answer
    question: float = 0.0  # the entry's closest question
    # Share of the sentence embedding (closest question and centroid of the questions) in
    # the score; the rest: the two TF-IDF spaces above.
    meaning: float = 0.5


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    score: float  # in [0, 1]
    question: str  # the entry's question closest to the message


@dataclass(frozen=True)
class FaqAnswer:
    kind: str  # "answer" | "suggestions" | "none"
    # answer: exactly 1; suggestions: 1..3 distinct entries; none: up to 3 best (reports)
    matches: tuple[FaqMatch, ...]
    confidence: float = 0.0  # the probability that the best match is the right answer

    @property
    def best(self) -> FaqMatch | None:
        return self.matches[0] if self.matches else None


class _Space:
    """One TF-IDF space; a message's cosine with the rows of matrices of that space.

    scikit-learn's ``transform`` drops what it has not seen; here the unseen features of
    the message stay in its norm, with the weight of the rarest seen feature.
    """

    def __init__(self, vectorizer: TfidfVectorizer, documents: list[str]) -> None:
        self._analyzer = vectorizer.build_analyzer()
        self._sublinear = vectorizer.sublinear_tf
        self._columns: dict[str, int] = {}
        self._idf = np.zeros(0)
        self._unknown_idf = 1.0
        self.rows = sparse.csr_matrix((len(documents), 0))
        if any(documents):
            try:
                self.rows = vectorizer.fit_transform(documents).tocsr()
            except ValueError:  # nothing but stop words: an empty vocabulary
                return
            self._columns = vectorizer.vocabulary_
            self._idf = vectorizer.idf_
            self._unknown_idf = float(self._idf.max()) * UNKNOWN_WEIGHT

    def query(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The message's seen features and their weights, over its whole norm, and the
        weights of the unseen ones.

        The unseen features count in the norm only: they lower every similarity.
        """
        columns, weights, unseen, norm = [], [], [], 0.0
        for feature, count in Counter(self._analyzer(text)).items():
            tf = 1.0 + math.log(count) if self._sublinear else float(count)
            column = self._columns.get(feature)
            weight = tf * (self._idf[column] if column is not None else self._unknown_idf)
            norm += weight * weight
            if column is not None:
                columns.append(column)
                weights.append(weight)
            else:
                unseen.append(weight)
        if not norm:
            return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
        scale = 1 / math.sqrt(norm)
        found = np.asarray(weights) * scale
        return np.asarray(columns, dtype=np.int64), found, np.asarray(unseen) * scale


class _Columns:
    """A sparse matrix read by column: the dot product with a short sparse query.

    Only the query's columns are touched, in plain NumPy: a lookup with 1,000 entries
    reads a few thousand numbers instead of multiplying whole matrices.
    """

    def __init__(self, matrix: sparse.spmatrix) -> None:
        csc = sparse.csc_matrix(matrix)
        csc.sort_indices()
        self._rows = matrix.shape[0]
        self._indptr, self._indices, self._data = csc.indptr, csc.indices, csc.data

    def dot(self, columns: np.ndarray, weights: np.ndarray) -> np.ndarray:
        if not len(columns):
            return np.zeros(self._rows)
        starts, ends = self._indptr[columns], self._indptr[columns + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if not total:
            return np.zeros(self._rows)
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        positions = np.arange(total) + offsets
        values = self._data[positions] * np.repeat(weights, lengths)
        return np.bincount(self._indices[positions], values, minlength=self._rows)


def synonym_groups(settings: FaqSettings) -> dict[str, list[str]]:
    """The office's synonyms, then the built-in thesaurus (:mod:`urp.faq.thesaurus`):
    a phrase in both is read as the office says."""
    groups = {key: list(phrases) for key, phrases in settings.synonyms.items()}
    if settings.builtin_synonyms:
        for key, phrases in default_groups().items():
            groups.setdefault(key, []).extend(phrases)
    return groups


def _word_space() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer=str.split, sublinear_tf=True, dtype=np.float64)


def _char_space() -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=CHAR_NGRAMS, sublinear_tf=True, dtype=np.float64
    )


def _row(matrix: sparse.csr_matrix, number: int) -> tuple[np.ndarray, np.ndarray]:
    """The columns and values of one row of a CSR matrix."""
    start, end = matrix.indptr[number], matrix.indptr[number + 1]
    return matrix.indices[start:end], matrix.data[start:end]


def _covering(row: tuple[np.ndarray, np.ndarray], columns: np.ndarray) -> float:
    """The share of a unit row's squared weight on ``columns``."""
    present, values = row
    return float((values[np.isin(present, columns)] ** 2).sum())


def _unit_rows(matrix: sparse.spmatrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ matrix)


class FaqIndex:
    """The published entries, searchable in memory. Immutable once built.

    An entry is scored on two documents, in both spaces: the centroid of its questions
    (what the ways of asking have in common) and its answer (the words the office uses).
    """

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        settings: FaqSettings,
        weights: Weights | None = None,
        model: ConfidenceModel | None = None,
        *,
        meanings: Meanings | None = None,
    ) -> None:
        """``meanings``: where the questions' sentence embeddings come from (default:
        computed here, :func:`urp.nlu.embeddings.encode`; the live index reads them from the
        store, :class:`urp.faq.meanings.StoredMeanings`)."""
        self.settings = settings
        self.entries = tuple(entries)
        self.weights = weights or Weights()
        self._synonyms = Synonyms(synonym_groups(settings))
        self.questions: list[str] = []
        owners: list[int] = []
        for number, entry in enumerate(self.entries):
            for question in dict.fromkeys(entry.questions):
                self.questions.append(question)
                owners.append(number)
        self._owners = np.asarray(owners, dtype=np.int64)
        # An entry's questions are contiguous: its rows start where the owner changes.
        self._starts = np.flatnonzero(np.r_[True, self._owners[1:] != self._owners[:-1]])
        # Which entry each question belongs to, as a matrix: questions x entries.
        membership = sparse.csr_matrix(
            (np.ones(len(owners)), (np.arange(len(owners)), self._owners)),
            shape=(len(owners), len(self.entries)),
        )
        analyses = [Analysis.of(q, self._synonyms) for q in self.questions]
        answers = [Analysis.of(e.answer, self._synonyms) for e in self.entries]
        w = self.weights
        total = (w.centroid + w.answer + w.question) or 1.0
        # Per space: its fitted vocabulary, the questions' rows, the entries' rows (scores
        # in [0, 1] in that space alone) and the space's share of the combined score.
        self._spaces: list[tuple[_Space, _Columns, _Columns, float]] = []
        for space, texts, share in (
            (_word_space(), [a.stems for a in [*analyses, *answers]], w.words),
            (_char_space(), [a.letters for a in [*analyses, *answers]], 1 - w.words),
        ):
            fitted = _Space(space, texts)
            questions = fitted.rows[: len(analyses)]
            centroids = _unit_rows(membership.T @ questions)
            # The entry's score is linear in the message: one matrix per space.
            entries = (w.centroid * centroids + w.answer * fitted.rows[len(analyses) :]) / total
            self._spaces.append((fitted, _Columns(questions), _Columns(entries), share))
            if len(self._spaces) == 1:
                # For the confidence: each entry's stems (questions and answer), and the
                # centroid of its questions, squared (its stems' shares).
                self._vocabulary = sparse.csr_matrix(
                    membership.T @ questions + fitted.rows[len(analyses) :]
                )
                self._centroids = sparse.csr_matrix(centroids)
            else:
                self._letters = sparse.csr_matrix(
                    membership.T @ questions + fitted.rows[len(analyses) :]
                )
        # The sentence embedding (the NLU's: :mod:`urp.nlu.embeddings`) of every question,
        # and the unit centroid of each entry's. About 11 ms a new question on one core,
        # remembered by text, so a rebuild embeds only the questions that changed; the live
        # index reads them from the store instead.
        dimensions = embeddings.DIMENSIONS
        self._meanings = np.zeros((len(self.questions), dimensions), dtype=np.float32)
        self._meaning_centroids = np.zeros((len(self.entries), dimensions), dtype=np.float32)
        if w.meaning and self.questions:
            self._meanings = (meanings or embeddings.encode)(self.questions)
            sums = np.asarray(membership.T @ self._meanings)
            norms = np.linalg.norm(sums, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            self._meaning_centroids = (sums / norms).astype(np.float32)
        self.model = model or default_model()

    @classmethod
    def build(
        cls,
        entries: Sequence[FaqEntry],
        settings: FaqSettings,
        *,
        meanings: Meanings | None = None,
    ) -> FaqIndex:
        return cls(entries, settings, meanings=meanings)

    def __len__(self) -> int:
        return len(self.entries)

    def scores(self, text: str, vector: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The message's score for every entry, and its similarity with every question."""
        evidence, questions = self.evidence(text, vector)
        return evidence.scores, questions

    def evidence(self, text: str, vector: np.ndarray | None = None) -> tuple[Evidence, np.ndarray]:
        """What the confidence model reads, and the similarity with every question.

        ``vector``: the message's sentence embedding, when the NLU has already computed it
        (:func:`urp.nlu.embeddings.unpack`); else it is computed here.
        """
        size = len(self.entries)
        entries, questions = np.zeros(size), np.zeros(len(self.questions))
        if not self.entries:
            return Evidence(entries, entries, entries, 0, 0, 0, 0, 0, 0, 0, entries), questions
        analysis = Analysis.of(text, self._synonyms)
        per_space, queries = [], []
        for (space, question_rows, entry_rows, share), words in zip(
            self._spaces, (analysis.stems, analysis.letters), strict=True
        ):
            columns, weights, unseen = space.query(words)
            queries.append((columns, weights, unseen))
            questions += share * question_rows.dot(columns, weights)
            alone = entry_rows.dot(columns, weights)
            per_space.append(alone)
            entries += share * alone
        w = self.weights
        if w.question:
            best = np.maximum.reduceat(questions, self._starts)
            entries = entries + best * w.question / (w.centroid + w.answer + w.question)
        meaning = np.zeros(size)
        if w.meaning:
            if vector is None:
                vector = embeddings.encode([text])[0]
            closest = np.maximum.reduceat(self._meanings @ vector, self._starts)
            cosine = (closest + self._meaning_centroids @ vector) / 2
            meaning = np.clip((cosine - MEANING_FLOOR) / (1 - MEANING_FLOOR), 0.0, 1.0)
            entries = (1 - w.meaning) * np.clip(entries, 0.0, 1.0) + w.meaning * meaning
        entries, questions = np.clip(entries, 0.0, 1.0), np.clip(questions, 0.0, 1.0)
        (columns, weights, unseen), (grams, letters, _) = queries
        top = int(np.argmax(entries))
        shares = weights * weights
        inside = np.isin(columns, _row(self._vocabulary, top)[0])
        outside = [*(shares[~inside]), *(unseen * unseen)]
        evidence = Evidence(
            scores=entries,
            words=np.clip(per_space[0], 0.0, 1.0),
            letters=np.clip(per_space[1], 0.0, 1.0),
            known=float(shares.sum()),
            known_letters=float((letters * letters).sum()),
            covered=float(shares[inside].sum()),
            covered_letters=float(
                (letters[np.isin(grams, _row(self._letters, top)[0])] ** 2).sum()
            ),
            missing=float(max(outside, default=0.0)),
            covering=_covering(_row(self._centroids, top), columns),
            length=len(analysis.stems.split()),
            meaning=meaning,
        )
        return evidence, questions

    def rank(
        self, scores: tuple[np.ndarray, np.ndarray], limit: int = MAX_SUGGESTIONS
    ) -> list[FaqMatch]:
        """The best ``limit`` distinct entries for :meth:`scores`, best first."""
        entries, questions = scores
        if not len(entries) or limit < 1:
            return []
        order = np.argsort(-entries, kind="stable")[:limit]
        matches = []
        for number in order:
            rows = np.flatnonzero(self._owners == number)
            best = rows[int(np.argmax(questions[rows]))]
            matches.append(
                FaqMatch(self.entries[number], float(entries[number]), self.questions[best])
            )
        return matches

    def search(
        self, text: str, limit: int = MAX_SUGGESTIONS, vector: np.ndarray | None = None
    ) -> list[FaqMatch]:
        """Distinct entries, best first."""
        return self.rank(self.scores(text, vector), limit)

    def assess(
        self, text: str, limit: int = MAX_SUGGESTIONS, vector: np.ndarray | None = None
    ) -> tuple[list[FaqMatch], np.ndarray]:
        """The best entries, and the features the confidence model reads."""
        evidence, questions = self.evidence(text, vector)
        return self.rank((evidence.scores, questions), limit), features(evidence)

    def answer(self, text: str, vector: np.ndarray | None = None) -> FaqAnswer:
        """``vector``: the message's sentence embedding, if the NLU sent it."""
        matches, found = self.assess(text, vector=vector)
        return decide(matches, self.model.probability(found) if matches else 0.0, self.settings)


# An answer also needs this much similarity, whatever the model says: in a small FAQ the
# lead over the other entries looks large even when the message names something no entry
# covers («orari della piscina» against the library's hours). Measured on the examples'
# own questions: right answers 0.367 → 0.383 at the same error rates (docs/nlu-report.md).
MIN_ANSWER_SCORE = 0.25


def decide(matches: list[FaqMatch], confidence: float, settings: FaqSettings) -> FaqAnswer:
    """One answer, some suggestions or none, from the best distinct entries (best first)
    and the probability that the first is the right one (:mod:`urp.faq.confidence`)."""
    if not matches or matches[0].score <= 0 or confidence < settings.suggest_threshold:
        return FaqAnswer(NONE, tuple(matches[:MAX_SUGGESTIONS]), confidence)
    top = matches[0]
    runner_up = matches[1].score if len(matches) > 1 else 0.0
    if (
        confidence >= settings.answer_threshold
        and top.score >= MIN_ANSWER_SCORE
        and top.score - runner_up >= settings.margin
    ):
        return FaqAnswer(ANSWER, (top,), confidence)
    likely = tuple(m for m in matches[:MAX_SUGGESTIONS] if m.score >= top.score * SUGGESTION_SHARE)
    return FaqAnswer(SUGGESTIONS, likely, confidence)


class LiveFaqIndex:
    """The index of the published entries, rebuilt when the store says they changed.

    The store's revision is asked at most every ``recheck`` seconds, so an edit reaches
    every replica within that time, with one small query per replica. The questions'
    vectors come from the store (:mod:`urp.faq.meanings`), so a rebuild mostly reads.

    A rebuild never holds up a citizen: the message that notices a new revision starts it
    in a background thread and waits for it at most ``patience`` seconds (time enough for
    a FAQ whose vectors are stored: the edit is answered from the next message), then it
    and every other message are answered from the previous index until the new one is
    swapped in. One rebuild at a time. Only the very first index is built in the caller's
    thread, as there is nothing to answer from yet.

    If the store fails, the last index keeps answering and the failure is logged once until
    the store answers again; before the first success the store's error reaches the caller.
    """

    def __init__(
        self,
        service: FaqService,
        settings: FaqSettings,
        recheck: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        meanings: Meanings | None = None,
        patience: float = REBUILD_PATIENCE,
    ) -> None:
        self._service = service
        self._settings = settings
        self._recheck = recheck
        self._clock = clock
        self._meanings = meanings or StoredMeanings(service)
        self._patience = patience
        self._index: FaqIndex | None = None
        self._revision: str | None = None
        self._checked_at: float | None = None
        self._failing = False
        self._refresh = threading.Lock()
        self._rebuilding: threading.Thread | None = None

    def answer(self, text: str, vector: np.ndarray | None = None) -> FaqAnswer:
        return self.index().answer(text, vector)

    def search(
        self, text: str, limit: int = MAX_SUGGESTIONS, vector: np.ndarray | None = None
    ) -> list[FaqMatch]:
        return self.index().search(text, limit, vector)

    def index(self) -> FaqIndex:
        """The current index, checked against the store's revision when it is time."""
        index = self._index
        if index is not None and not self._due():
            return index
        # Someone else is already checking: answer from what there is.
        if index is not None and not self._refresh.acquire(blocking=False):
            return index
        if index is None:
            self._refresh.acquire()
        started = None
        try:
            if self._index is None:
                self._build_first()
            elif self._due():
                started = self._check()
        finally:
            self._refresh.release()
        if started is not None and self._patience > 0:
            started.join(self._patience)
        assert self._index is not None
        return self._index

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a rebuild in progress; True when none is running (for tests and tools)."""
        rebuilding = self._rebuilding
        if rebuilding is not None:
            rebuilding.join(timeout)
        return rebuilding is None or not rebuilding.is_alive()

    def _due(self) -> bool:
        return self._checked_at is None or self._clock() - self._checked_at >= self._recheck

    def _build_first(self) -> None:
        """The first index, in the caller's thread: its errors reach the caller."""
        self._checked_at = self._clock()
        try:
            revision = self._service.revision()
            self._index = FaqIndex.build(
                self._service.entries(), self._settings, meanings=self._meanings
            )
            self._revision = revision
        except Exception:
            self._failed()
            # Never read: the caller says there is a technical problem (and offers an
            # operator) instead of «di questo non mi occupo»; the next call tries again.
            self._checked_at = None
            raise
        self._recovered()

    def _check(self) -> threading.Thread | None:
        """Ask the store's revision; a new one starts a rebuild, returned."""
        self._checked_at = self._clock()
        if self._rebuilding is not None and self._rebuilding.is_alive():
            return None  # one at a time: the next check sees what it missed
        try:
            revision = self._service.revision()
        except Exception:
            self._failed()
            return None
        if revision == self._revision:
            self._recovered()
            return None
        self._rebuilding = threading.Thread(
            target=self._rebuild, args=(revision,), name="faq-rebuild", daemon=True
        )
        self._rebuilding.start()
        return self._rebuilding

    def _rebuild(self, revision: str) -> None:
        """In the background: the new index swapped in, or the failure logged (the next
        check tries again, as the revision stays the old one)."""
        try:
            index = FaqIndex.build(self._service.entries(), self._settings, meanings=self._meanings)
        except Exception:
            self._failed()
            return
        self._index, self._revision = index, revision
        self._recovered()

    def _failed(self) -> None:
        """Log the store's failure (the exception being handled) once until it recovers."""
        if not self._failing:
            logger.exception("FAQ non aggiornabili dall'archivio: resta l'indice precedente")
        self._failing = True

    def _recovered(self) -> None:
        if self._failing:
            logger.info("FAQ di nuovo aggiornabili dall'archivio (revisione %s)", self._revision)
        self._failing = False
