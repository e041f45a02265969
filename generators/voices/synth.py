"""The steps every caching voice backend takes for a line: check the text, plan prosody, consult the cache."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from generators.voices.base import Speech, VoiceError
from generators.voices.cache import SpeechCache
from generators.voices.prosody import ProsodyPlan, prosody_plan
from scenes import Character, Delivery, Emotion


@dataclass(frozen=True)
class LineJob:
    """One line to speak: stripped text, speaker, emotion, delivery, their prosody plan, and the seed."""

    text: str
    character: Character
    emotion: Emotion
    delivery: Delivery
    plan: ProsodyPlan
    seed: int


class CachedVoice(ABC):
    """A voice backend whose lines are cached by a key of everything that shapes their audio."""

    name: str
    cache: SpeechCache

    def synthesize(
        self,
        text: str,
        character: Character,
        *,
        emotion: Emotion = Emotion.neutral,
        delivery: Delivery = Delivery.normal,
        seed: int = 0,
    ) -> Speech:
        text = text.strip()
        if not text:
            raise VoiceError(f"{self.name} backend: empty text for character {character.id!r}")
        emotion, delivery = Emotion(emotion), Delivery(delivery)
        line = LineJob(text, character, emotion, delivery, prosody_plan(emotion, delivery), seed)
        key = self.cache_key(line)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        speech = self.speak(line)
        self.cache.put(key, speech)
        return speech

    @abstractmethod
    def cache_key(self, line: LineJob) -> str:
        """The cache key of a line: a hash of everything that shapes its audio with this backend."""

    @abstractmethod
    def speak(self, line: LineJob) -> Speech:
        """Synthesize a line that is not in the cache."""
