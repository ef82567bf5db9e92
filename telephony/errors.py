class SipError(Exception):
    """The SIP stack could not do what was asked (bind, start, place a call)."""
