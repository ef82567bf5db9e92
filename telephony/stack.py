"""Creating the PJSUA2 endpoint and the account configuration from our settings. SIP thread only."""

from __future__ import annotations

import pjsua2 as pj

from sip_config.schema import SipSettings

TRANSPORTS = {"udp": pj.PJSIP_TRANSPORT_UDP, "tcp": pj.PJSIP_TRANSPORT_TCP}


def create_endpoint(settings: SipSettings, call_slots: int) -> pj.Endpoint:
    """A started endpoint driven by the caller's thread (`threadCnt = 0`), with `call_slots` pjsua calls at most:
    INVITEs beyond them are answered 486 by PJSIP itself, statelessly, before anything is allocated."""
    s = settings
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = False
    cfg.uaConfig.maxCalls = call_slots
    cfg.uaConfig.userAgent = "Employai"
    cfg.logConfig.level = s.log_level
    cfg.logConfig.consoleLevel = s.log_level
    cfg.medConfig.clockRate = 16000
    cfg.medConfig.sndClockRate = 16000
    cfg.medConfig.channelCount = 1
    cfg.medConfig.noVad = True
    cfg.medConfig.ecTailLen = 0
    ep.libInit(cfg)
    for name in s.transports:
        tcfg = pj.TransportConfig()
        tcfg.port = s.port
        tcfg.boundAddress = s.listen_address
        tcfg.publicAddress = s.listen_address
        ep.transportCreate(TRANSPORTS[name], tcfg)
    ep.libStart()
    ep.audDevManager().setNullDev()
    set_codec_priorities(ep, s.codecs)
    return ep


def set_codec_priorities(ep: pj.Endpoint, preferred: tuple[str, ...]) -> None:
    for info in ep.codecEnum2():
        name = info.codecId.split("/", 1)[0].upper()
        priority = 255 - preferred.index(name) if name in preferred else 0
        ep.codecSetPriority(info.codecId, priority)


def account_config(settings: SipSettings, aor: str) -> pj.AccountConfig:
    s = settings
    acfg = pj.AccountConfig()
    acfg.idUri = aor
    acfg.mediaConfig.transportConfig.port = s.rtp_port
    acfg.mediaConfig.transportConfig.portRange = s.rtp_port_range
    acfg.mediaConfig.transportConfig.boundAddress = s.listen_address
    acfg.mediaConfig.transportConfig.publicAddress = s.listen_address
    return acfg
