"""The e5 sentence featurizer and the intent classifier of the shipped NLU pipeline."""
from __future__ import annotations

from pathlib import Path
from unittest.mock import MagicMock

import numpy as np
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.nlu.components import (
    E5SentenceFeaturizer,
    EntityPlaceholderMasker,
    SentenceIntentClassifier,
    VietnameseNormalizer,
    VietnameseTokenizer,
    encoder_text,
)

TRAINING = {
    "ask_fee": ["lệ phí bao nhiêu tiền", "mất bao nhiêu tiền", "phí làm hết bao nhiêu", "có phải nộp tiền không",
                "giá bao nhiêu vậy"],
    "ask_time": ["mất bao lâu thì có kết quả", "bao nhiêu ngày thì xong", "khi nào thì nhận được",
                 "chờ mấy ngày", "thời gian giải quyết là bao lâu"],
    "ask_where": ["nộp ở đâu", "làm ở cơ quan nào", "đến chỗ nào để làm", "địa chỉ nộp hồ sơ ở đâu",
                  "lên công an xã hay huyện"],
}


def prepared(texts: list[str], intents: list[str | None] | None = None,
             featurize: bool = True) -> list[Message]:
    normalizer = VietnameseNormalizer(VietnameseNormalizer.get_default_config())
    tokenizer = VietnameseTokenizer(VietnameseTokenizer.get_default_config())
    masker = EntityPlaceholderMasker(EntityPlaceholderMasker.get_default_config(), MagicMock(), MagicMock())
    messages = [Message({TEXT: t, **({INTENT: i} if i else {})})
                for t, i in zip(texts, intents or [None] * len(texts))]
    normalizer.process(messages)
    tokenizer.process(messages)
    masker.process(messages)
    if featurize:
        E5SentenceFeaturizer(E5SentenceFeaturizer.get_default_config(), "e5").process(messages)
    return messages


def test_the_encoder_reads_neutral_words_in_place_of_procedures_and_numbers():
    [message] = prepared(["Đăng ký tạm trú số 022190001234 cần giấy tờ gì"], featurize=False)
    text = encoder_text(message)
    assert text.startswith("thủ tục") and "tạm" not in text and "022190001234" not in text
    assert "số" in text and text.endswith("cần giấy tờ gì")


def test_the_featurizer_adds_one_normalised_sentence_vector():
    [message] = prepared(["lệ phí làm căn cước bao nhiêu"])
    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence is None
    assert sentence.features.shape == (1, 384)
    assert np.linalg.norm(sentence.features) == pytest.approx(1.0, abs=1e-3)
    # two wordings of one question are closer than two different questions
    a, b, c = (m.get_dense_features(TEXT)[1].features[0] for m in
               prepared(["mất bao nhiêu tiền", "lệ phí là bao nhiêu", "nộp hồ sơ ở đâu"]))
    assert float(a @ b) > float(a @ c)


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


def trained(storage: LocalModelStorage, featurize: bool = True) -> SentenceIntentClassifier:
    texts = [t for examples in TRAINING.values() for t in examples]
    intents = [i for i, examples in TRAINING.items() for _ in examples]
    classifier = SentenceIntentClassifier.create({}, storage, Resource("intent"), MagicMock())
    classifier.train(TrainingData(prepared(texts, intents, featurize)))
    return classifier


def test_the_classifier_ranks_intents_for_unseen_wordings_and_survives_loading(storage):
    trained(storage)
    loaded = SentenceIntentClassifier.load({}, storage, Resource("intent"), MagicMock())
    messages = prepared(["cho hỏi phí bao nhiêu tiền ạ", "bao lâu thì nhận được kết quả", "nop o dau vay"])
    loaded.process(messages)
    assert [m.get(INTENT)["name"] for m in messages] == ["ask_fee", "ask_time", "ask_where"]
    ranking = messages[0].get("intent_ranking")
    assert len(ranking) == 3 and ranking[0]["confidence"] >= ranking[1]["confidence"]
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0, abs=1e-6)


def test_the_classifier_works_on_words_alone_when_no_embedding_is_given(storage):
    classifier = trained(storage, featurize=False)
    messages = prepared(["phí bao nhiêu tiền"], featurize=False)
    classifier.process(messages)
    assert messages[0].get(INTENT)["name"] == "ask_fee"


def test_an_untrained_classifier_leaves_messages_alone(storage):
    classifier = SentenceIntentClassifier.create({}, storage, Resource("none"), MagicMock())
    messages = prepared(["phí bao nhiêu"], featurize=False)
    classifier.process(messages)
    assert messages[0].get(INTENT) is None
