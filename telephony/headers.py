"""Pure SIP text helpers: header lookup in a raw message, caller identity and transfer headers.

Everything here is text from outside. Names, users and URIs leave this module length-capped and sanitised (no
control characters, quotes, angle brackets or line breaks; whitespace collapsed), so a display name can be
spoken or put in a prompt as it is. Identity and transfer headers are believed (`verified`) only when the
caller says the request came from a trusted proxy; otherwise they are claims.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

MAX_NAME = 64  # characters of a display name we keep
MAX_USER = 128  # characters of a user part or URI we keep

_COMPACT = {"f": "from", "t": "to", "i": "call-id", "m": "contact", "b": "referred-by", "r": "refer-to"}
_WITHHELD = ("anonymous", "unknown", "restricted", "unavailable", "")
_UNSAFE = re.compile(r"[\"'`<>\\]")
_SPACE = re.compile(r"\s+")


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


def clean_text(text: str, limit: int = MAX_NAME) -> str:
    """`text` made safe to speak or show: printable, no quotes or angle brackets, one space between words,
    at most `limit` characters."""
    text = text[: limit * 4]  # never scan more than a few times what we keep
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    return _SPACE.sub(" ", _UNSAFE.sub("", text)).strip()[:limit].strip()


def clean_uri(uri: str) -> str:
    """A URI as we keep it: no whitespace, control characters, quotes or angle brackets; at most MAX_USER."""
    uri = uri[: MAX_USER * 4]
    return "".join(ch for ch in uri if unicodedata.category(ch)[0] not in "CZ" and not _UNSAFE.match(ch))[:MAX_USER]


def _name_addr(value: str) -> tuple[str, str]:
    """(display name, URI without its parameters) of a name-addr or addr-spec header value; quoted names may
    contain '<', ',' and escaped quotes."""
    value = value.strip()
    name = ""
    rest = value
    if value.startswith('"'):
        out, i, n = [], 1, len(value)
        while i < n and value[i] != '"':
            if value[i] == "\\" and i + 1 < n:
                i += 1
            out.append(value[i])
            i += 1
        name, rest = "".join(out), value[i + 1:]
    lt = rest.find("<")
    if lt >= 0:
        gt = rest.find(">", lt)
        uri = rest[lt + 1: gt if gt >= 0 else len(rest)]
        if not value.startswith('"'):
            name = rest[:lt]
    else:
        match = re.search(r"(?:sips?|tel):[^\s;,>]+", rest, re.IGNORECASE)
        uri = match.group(0) if match else ""
    return name, uri.strip()


def uri_of(header_value: str) -> str:
    """The URI in a name-addr or addr-spec header value (addr-spec: without its parameters), sanitised."""
    value = header_value.strip()
    _, uri = _name_addr(value)
    if "<" not in value:
        uri = uri.split(";", 1)[0]
    return clean_uri(uri)


def display_name_of(header_value: str) -> str:
    """The display name of a name-addr header value, sanitised and capped; '' for an addr-spec."""
    return clean_text(_name_addr(header_value)[0])


@dataclass(frozen=True)
class CallerIdentity:
    uri: str  # the URI the identity came from
    user: str  # normalised user part: '+15550101', 'alice', or '' when anonymous
    display_name: str = ""
    verified: bool = False  # vouched for by a trusted proxy (or a call we placed); else only the caller's claim

    @property
    def anonymous(self) -> bool:
        return not self.user


def normalise_user(uri: str) -> str:
    """The user part of a SIP/tel URI, unescaped and sanitised; digits keep a leading '+' and lose visual
    separators; withheld numbers give ''."""
    body = uri.split(":", 1)[1] if ":" in uri else uri
    user = unquote(body.split("@", 1)[0].split(";", 1)[0])
    user = clean_text(user, MAX_USER)
    if user.lower() in _WITHHELD:
        return ""
    compact = re.sub(r"[\s.\-()]", "", user)
    if re.fullmatch(r"\+?\d+", compact):
        return compact
    return user.lower().replace(" ", "")


def caller_identity(message: str, trusted: bool = False) -> CallerIdentity:
    """Who is calling. From a trusted proxy: P-Asserted-Identity, else From, both believed. From anyone else:
    the From user as a claim (P-Asserted-Identity is ignored: anyone can write it). Withheld numbers are
    anonymous."""
    privacy = [p.strip() for p in " ".join(header_values(message, "privacy")).lower().split(";")]
    for name in ("p-asserted-identity", "from") if trusted else ("from",):
        for value in header_values(message, name):
            uri = uri_of(value)
            if uri:
                user = "" if "id" in privacy else normalise_user(uri)
                return CallerIdentity(uri=uri, user=user, display_name=display_name_of(value),
                                      verified=trusted and bool(user))
    return CallerIdentity(uri="", user="")


@dataclass(frozen=True)
class TransferredFrom:
    """Who passed the call to us: from Referred-By, Diversion or History-Info."""

    uri: str
    user: str
    display_name: str
    header: str  # the header it came from
    verified: bool = False  # the request came from a trusted proxy; else a claim, kept on the record only

    @property
    def name(self) -> str:
        return self.display_name or self.user


def transferred_from(message: str, own_user: str = "", trusted: bool = False) -> TransferredFrom | None:
    """The party that transferred or diverted this INVITE to us, if any (Referred-By, then Diversion, then the
    History-Info entry before ours). Empty or URI-less headers are skipped."""
    for header in ("referred-by", "diversion"):
        for value in header_values(message, header):
            for entry in _split_list(value):
                if uri_of(entry):
                    return _party(entry, header, trusted)
    entries = [e for v in header_values(message, "history-info") for e in _split_list(v) if uri_of(e)]
    others = [e for e in entries if normalise_user(uri_of(e)) not in ("", own_user.lower())]
    if len(entries) > 1 and others:
        return _party(others[0], "history-info", trusted)
    return None


def _party(value: str, header: str, trusted: bool) -> TransferredFrom:
    uri = uri_of(value).split("?", 1)[0]
    return TransferredFrom(uri=uri, user=normalise_user(uri), display_name=display_name_of(value), header=header,
                           verified=trusted)


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
