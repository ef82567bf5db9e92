"""SIP and PJSUA2: the user agent, calls, and the media port. Knows nothing of models."""

from .agent import CallListener, SipAgent
from .call import CallEvents, CallHandle, IncomingCall
from .errors import SipError
from .headers import CallerIdentity

__all__ = ["CallEvents", "CallHandle", "CallListener", "CallerIdentity", "IncomingCall", "SipAgent", "SipError"]
