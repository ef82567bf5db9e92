"""The caller's side of a call as turns: VAD (a stricter one while the bot talks, behind an echo gate) and the
utterance segmenter. Given each 20 ms frame, says what happened (speech started, paused, resumed, the turn ended).

A collaborator of the conductor; event loop only (VAD costs microseconds a frame).
"""

from __future__ import annotations

from sip_config.schema import AudioSettings
from speech.echo_gate import EchoGate
from speech.vad import UtteranceSegmenter, VoiceActivity, VoiceDetector


class Listener:
    def __init__(self, audio: AudioSettings, vad: VoiceActivity | None = None,
                 barge_in_vad: VoiceActivity | None = None):
        self._audio = audio
        self._vad = vad or VoiceDetector(audio.vad_aggressiveness)
        self._vad_barge_in = barge_in_vad or VoiceDetector(audio.barge_in_vad_aggressiveness)
        self._echo_gate = EchoGate(audio.echo_gate_ratio)
        self._segmenter = UtteranceSegmenter(audio.preroll_ms, audio.min_speech_ms, audio.preemptive_silence_ms,
                                             audio.end_of_turn_silence_ms, int(audio.max_utterance_s * 1000))

    @property
    def in_speech(self) -> bool:
        return self._segmenter.in_speech

    def hear(self, frame: bytes, t: float, bot_speaking: bool, bot_peak: int) -> list:
        """The segmenter's events for this frame. While the bot talks, caller speech must be longer to count
        (barge-in), pass the echo gate, and is judged by the more sensitive VAD."""
        audio = self._audio
        self._segmenter.min_speech_frames = (audio.barge_in_min_speech_ms if bot_speaking
                                             else audio.min_speech_ms) // 20
        vad = self._vad_barge_in if bot_speaking and not self._segmenter.in_speech else self._vad
        voiced = self._echo_gate.passes(frame, bot_peak) and vad.is_speech(frame)
        return self._segmenter.push(frame, voiced, t)
