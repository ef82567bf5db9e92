"""SIP and PJSUA2: the user agent, calls, and the media port. Knows nothing of models."""

from .agent import PURPOSES, CallListener, DialGate, SipAgent
from .call import CallControl, CallEvents, CallHandle, IncomingCall
from .errors import SipError
from .headers import CallerIdentity

__all__ = ["PURPOSES", "CallControl", "CallEvents", "CallHandle", "CallListener", "CallerIdentity", "DialGate",
           "IncomingCall", "SipAgent", "SipError"]
