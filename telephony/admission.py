"""Who may start a call now: per-source limits on INVITEs, trusted proxies, and the media-socket budget.

Plain Python, no pjsua2. `SipAgent` uses these on its `sip-agent` thread only; nothing here is thread-safe.

Why a media budget: PJSUA gives each call, incoming or outgoing, an RTP and an RTCP socket before
`onIncomingCall` is called (pjsua_call.c `pjsua_call_on_incoming` runs `pjsua_media_channel_init` first), so a
call cannot be refused before its sockets exist. The pjsua2-python build uses PJLIB's select ioqueue with
`PJ_IOQUEUE_MAX_HANDLES` = 64 for the media endpoint, and a closed socket's ioqueue key only returns to the free
list `PJ_IOQUEUE_KEY_FREE_DELAY` (500 ms) later; when no key is free, `pj_ioqueue_register_sock2` asserts and the
process aborts. So the keys in use are 2 x (calls alive) + 2 x (calls closed in the last half second), and
refusing a flood fast enough is what kills the bot. `MediaBudget` keeps that sum under the limit: PJSIP's own
call limit (`uaConfig.maxCalls`, answered statelessly with 486 and no allocation) is `slots`, refusals are
paced, and the SIP thread stops reading new requests while the recently closed sockets would not leave room
for every slot to fill.

The same build has PJSUA_MAX_CALLS = 4 (the default `EpConfig().uaConfig.maxCalls`; a larger `maxCalls` is
cut to it): four pjsua calls at once, in and out together (an attended transfer's leg to the colleague is one).
Below that, up to `REFUSAL_SLOTS` slots beyond `sip.max_calls` are kept for INVITEs being refused; at the build's
limit every slot may hold a call, and PJSIP itself answers the next INVITE 486 with no slot and no sockets.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque
from dataclasses import dataclass

# Facts of the pjsua2-python 2.15.1 build (pj_dump_config), checked by tests/test_telephony_units.py.
MEDIA_HANDLES = 64  # PJ_IOQUEUE_MAX_HANDLES of the media endpoint's own ioqueue
HANDLES_PER_CALL = 2  # RTP and RTCP
KEY_FREE_DELAY_S = 0.5  # PJ_IOQUEUE_KEY_FREE_DELAY
CLOSED_WINDOW_S = KEY_FREE_DELAY_S + 0.15  # with room for the media thread's poll that frees them
HANDLE_MARGIN = 4  # keys we never plan to use
REFUSAL_SLOTS = 4  # call slots beyond sip.max_calls, for INVITEs being refused (below the build's limit)
MIN_CLOSES = 6  # calls that may close per window even at the largest max_calls


def host_of(source: str) -> str:
    """The address of 'ip:port' or '[ipv6]:port' (PJSIP's srcAddress), or the text itself."""
    if source.startswith("["):
        return source[1:].split("]", 1)[0]
    return source.rsplit(":", 1)[0] if source.count(":") == 1 else source


class TrustedSources:
    """The addresses and CIDR ranges of `sip.trusted_proxies`."""

    def __init__(self, entries: tuple[str, ...] | list[str]):
        self._networks = [ipaddress.ip_network(e, strict=False) for e in entries]

    def __contains__(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._networks)


@dataclass
class _Source:
    tokens: float
    stamp: float
    calls: int = 0


class SourceLimiter:
    """Per source address: calls at once, and a token bucket on INVITEs (rate per second, burst twice that).

    A trusted proxy carries many callers at once, so only its INVITE rate is limited, not its calls at once."""

    def __init__(self, max_calls_per_source: int, invites_per_s: float, max_sources: int = 4096):
        self.max_calls = max_calls_per_source
        self.rate = invites_per_s
        self.burst = 2.0 * invites_per_s
        self._max_sources = max_sources
        self._sources: OrderedDict[str, _Source] = OrderedDict()

    def check(self, host: str, now: float, trusted: bool = False) -> str | None:
        """None to admit an INVITE from `host` (then call `admitted`), else why not: 'rate' or 'calls'.
        Every INVITE spends a token, refused or not."""
        source = self._sources.get(host)
        if source is None:
            source = self._sources[host] = _Source(self.burst, now)
            self._prune()
        self._sources.move_to_end(host)
        source.tokens = min(self.burst, source.tokens + (now - source.stamp) * self.rate)
        source.stamp = now
        if source.tokens < 1.0:
            return "rate"
        source.tokens -= 1.0
        if not trusted and source.calls >= self.max_calls:
            return "calls"
        return None

    def admitted(self, host: str) -> None:
        if host in self._sources:
            self._sources[host].calls += 1

    def released(self, host: str) -> None:
        source = self._sources.get(host)
        if source is not None and source.calls > 0:
            source.calls -= 1

    def calls_from(self, host: str) -> int:
        source = self._sources.get(host)
        return source.calls if source else 0

    def _prune(self) -> None:
        """Forget the least recently seen sources without calls, beyond `max_sources`."""
        if len(self._sources) <= self._max_sources:
            return
        for host in list(self._sources):
            if len(self._sources) <= self._max_sources:
                return
            if self._sources[host].calls == 0:
                del self._sources[host]


class MediaBudget:
    """The media ioqueue's keys: how many call slots PJSIP may have (`slots`), how many calls the bot admits
    (`max_calls`), and when another call may close or the SIP thread may read more requests.

    `build_max_calls` is PJSUA_MAX_CALLS of the pjsua2 build."""

    def __init__(self, max_calls: int, build_max_calls: int):
        usable = (MEDIA_HANDLES - HANDLE_MARGIN) // HANDLES_PER_CALL  # call-sized pairs of keys
        self.slots = max(2, min(max_calls + REFUSAL_SLOTS, build_max_calls, usable - MIN_CLOSES))
        self.max_calls = max(1, min(max_calls, self.slots))  # what the bot admits (<= sip.max_calls)
        self.closes_per_window = usable - self.slots  # closures that leave room for every slot to fill
        self._closed: deque[float] = deque()

    def closed(self, now: float) -> None:
        """A pjsua call (and its two sockets) ended."""
        self._closed.append(now)

    def recently_closed(self, now: float) -> int:
        while self._closed and self._closed[0] <= now - CLOSED_WINDOW_S:
            self._closed.popleft()
        return len(self._closed)

    def may_read(self, now: float) -> bool:
        """Whether the SIP thread may poll for requests: even if every free slot then fills, the keys in use
        (alive + closing) stay within the ioqueue's."""
        return self.recently_closed(now) <= self.closes_per_window

    def may_close(self, now: float) -> bool:
        """Whether we may end one more call now (a refusal) and still be allowed to read requests."""
        return self.recently_closed(now) + 1 <= self.closes_per_window
