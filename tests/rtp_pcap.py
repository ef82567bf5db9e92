"""Write speech as a pcap of G.711 µ-law RTP packets, for SIPp's `play_pcap_audio` (the test caller speaks)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_BIAS, _CLIP = 33, 8159  # in the 14-bit domain of G.711's reference coder


def ulaw_encode(pcm: np.ndarray) -> bytes:
    """16-bit linear PCM -> G.711 µ-law bytes (ITU-T G.711, segment/mantissa form)."""
    x = pcm.astype(np.int32) >> 2
    sign = np.where(x < 0, 0x00, 0x80)
    magnitude = np.minimum(np.abs(x), _CLIP) + _BIAS
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 5
    mantissa = (magnitude >> (exponent + 1)) & 0x0F
    code = np.where(exponent > 7, 0x7F, (exponent << 4) | mantissa)  # full scale saturates
    return ((sign | code) ^ 0x7F).astype(np.uint8).tobytes()


def write_pcmu_pcap(pcm_8k: np.ndarray, path: Path, lead_silence_s: float = 0.0) -> Path:
    """One RTP packet (payload type 0) per 20 ms, Ethernet/IPv4/UDP framing, 20 ms apart in time."""
    pcm = np.concatenate([np.zeros(int(lead_silence_s * 8000), dtype=np.int16), pcm_8k.astype(np.int16)])
    payload = ulaw_encode(pcm)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    ssrc, t0 = 0x1234ABCD, 1_700_000_000
    for seq, start in enumerate(range(0, len(payload) - 159, 160)):
        rtp = struct.pack("!BBHII", 0x80, 0x80 if seq == 0 else 0x00, seq, seq * 160, ssrc) + payload[start:start + 160]
        udp = struct.pack("!HHHH", 16000, 16000, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), seq & 0xFFFF, 0, 64, 17, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        micros = seq * 20_000
        out.append(struct.pack("<IIII", t0 + micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))
    return path
