"""Pure SIP text helpers: header lookup in a raw message and caller identity normalisation."""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMPACT = {"f": "from", "t": "to", "i": "call-id", "m": "contact", "b": "referred-by", "r": "refer-to"}
_URI = re.compile(r"<([^>]+)>|(sips?:[^\s;,>]+)")
_DISPLAY = re.compile(r'^\s*"?([^"<]*?)"?\s*<')


def header_values(message: str, name: str) -> list[str]:
    """All values of header `name` (case-insensitive, compact forms understood) in a raw SIP message."""
    wanted = name.lower()
    head = message.split("\r\n\r\n", 1)[0].split("\n\n", 1)[0]
    values: list[str] = []
    in_wanted = False
    for line in head.replace("\r\n", "\n").split("\n")[1:]:
        if line[:1] in (" ", "\t"):  # a folded continuation of the header before
            if in_wanted:
                values[-1] += " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        in_wanted = bool(sep) and _COMPACT.get(key, key) == wanted
        if in_wanted:
            values.append(value.strip())
    return values


def uri_of(header_value: str) -> str:
    """The URI in a name-addr or addr-spec header value, without its parameters."""
    match = _URI.search(header_value)
    if not match:
        return ""
    uri = match.group(1) or match.group(2)
    return uri.split(";", 1)[0] if match.group(2) else uri


def display_name_of(header_value: str) -> str:
    match = _DISPLAY.match(header_value)
    return match.group(1).strip() if match else ""


@dataclass(frozen=True)
class CallerIdentity:
    uri: str  # the URI the identity came from
    user: str  # normalised user part: '+15550101', 'alice', or '' when anonymous
    display_name: str = ""

    @property
    def anonymous(self) -> bool:
        return not self.user


def normalise_user(uri: str) -> str:
    """The user part of a SIP/tel URI; digits keep a leading '+' and lose visual separators."""
    body = uri.split(":", 1)[1] if ":" in uri else uri
    user = body.split("@", 1)[0].split(";", 1)[0]
    if user.lower() in ("anonymous", "unknown", "restricted", "unavailable", ""):
        return ""
    compact = re.sub(r"[\s.\-()]", "", user)
    if re.fullmatch(r"\+?\d+", compact):
        return compact
    return user.lower()


def caller_identity(message: str) -> CallerIdentity:
    """Who is calling: P-Asserted-Identity when present, else From; withheld numbers are anonymous."""
    privacy = " ".join(header_values(message, "privacy")).lower()
    for name in ("p-asserted-identity", "from"):
        for value in header_values(message, name):
            uri = uri_of(value)
            if uri:
                user = "" if "id" in privacy.split(";") else normalise_user(uri)
                return CallerIdentity(uri=uri, user=user, display_name=display_name_of(value))
    return CallerIdentity(uri="", user="")


@dataclass(frozen=True)
class TransferredFrom:
    """Who passed the call to us: from Referred-By, Diversion or History-Info."""

    uri: str
    user: str
    display_name: str
    header: str  # the header it came from

    @property
    def name(self) -> str:
        return self.display_name or self.user


def transferred_from(message: str, own_user: str = "") -> TransferredFrom | None:
    """The party that transferred or diverted this INVITE to us, if any (Referred-By, then Diversion, then the
    History-Info entry before ours)."""
    for header in ("referred-by", "diversion"):
        values = header_values(message, header)
        if values:
            value = _split_list(values[0])[0]
            return _party(value, header)
    entries = [e for v in header_values(message, "history-info") for e in _split_list(v)]
    others = [e for e in entries if normalise_user(uri_of(e)) not in ("", own_user.lower())]
    if len(entries) > 1 and others:
        return _party(others[0], "history-info")
    return None


def _party(value: str, header: str) -> TransferredFrom:
    uri = uri_of(value).split("?", 1)[0]
    return TransferredFrom(uri=uri, user=normalise_user(uri), display_name=display_name_of(value), header=header)


def _split_list(value: str) -> list[str]:
    """Split a comma-separated header list, keeping commas inside <...> and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(value):
        if ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            depth += 1
        elif ch == ">" and not quoted:
            depth -= 1
        elif ch == "," and depth == 0 and not quoted:
            parts.append(value[start:i].strip())
            start = i + 1
    parts.append(value[start:].strip())
    return [p for p in parts if p]
