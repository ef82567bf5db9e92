"""Audio: PCM helpers, voice-activity segmentation, speech-to-text, text-to-speech and the playout queue.

Knows audio and the speech engines, nothing of SIP.
"""
