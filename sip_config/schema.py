"""The configuration as frozen dataclasses: one class per TOML table.

Field defaults here are the embedded defaults; `default.toml` documents them for users.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SipSettings:
    listen_address: str = "127.0.0.1"
    port: int = 5060
    transports: tuple[str, ...] = ("udp", "tcp")
    user: str = "employai"
    rtp_port: int = 40000
    rtp_port_range: int = 400
    codecs: tuple[str, ...] = ("G722", "PCMU", "PCMA")
    max_calls: int = 4  # calls at once; pjsua2-python 2.15 holds 4, in and out together, see README
    log_level: int = 1
    # Sources whose identity headers (P-Asserted-Identity, Diversion, Referred-By, History-Info) and From are
    # believed: addresses or CIDR ranges. Anyone else's caller ID is a claim. Loopback by default, since the
    # default bot listens on loopback only.
    trusted_proxies: tuple[str, ...] = ("127.0.0.0/8", "::1")
    max_calls_per_source: int = 2  # calls at once from one source address; more get 503 with Retry-After
    invites_per_source_per_s: float = 5.0  # sustained INVITE rate from one source address (burst: twice this)
    retry_after_s: int = 30  # the Retry-After of those 503s


@dataclass(frozen=True)
class RegistrationSettings:
    registrar: str = ""  # empty: no registration; callers dial the bot directly
    domain: str = ""  # the domain of the bot's address of record; empty: the registrar's host
    auth_user: str = ""  # empty: sip.user
    password: str = ""
    password_env: str = ""  # the name of an environment variable holding the password (wins over password)
    realm: str = ""  # the digest realm our credentials are given to; empty: the registrar's host
    expiry_s: int = 300
    retry_s: int = 5  # first retry after a failure, doubled after each failure up to retry_max_s
    retry_max_s: int = 300
    keepalive_s: int = 15  # NAT keep-alive over UDP; 0 turns it off

    @property
    def effective_realm(self) -> str:
        """The only digest realm our credentials answer: `realm`, else the registrar's host (no port)."""
        if self.realm:
            return self.realm
        host = self.registrar.split(":", 1)[1] if ":" in self.registrar else self.registrar
        host = host.split(";", 1)[0]
        if host.startswith("["):
            return host[1:].split("]", 1)[0]
        return host.rsplit(":", 1)[0] if host.count(":") == 1 else host

    @property
    def effective_domain(self) -> str:
        """The domain of the bot's address of record and of extensions: `domain`, else the registrar's host[:port]."""
        if self.domain or not self.registrar:
            return self.domain
        return self.registrar.split(":", 1)[1].split(";", 1)[0]


@dataclass(frozen=True)
class DirectoryEntry:
    name: str = ""
    department: str = ""
    uri: str = ""  # a SIP URI, or an extension (digits) at the registrar's domain
    attended: bool = False  # call the colleague first and introduce the caller, then join them


@dataclass(frozen=True)
class TransferSettings:
    directory: tuple[DirectoryEntry, ...] = ()
    announce_text: str = "Certainly, I'll put you through to {name} now."
    failed_text: str = "I'm sorry, I couldn't put you through to {name}. Can I take a message or help you myself?"
    refused_text: str = "I'm sorry, I can only put you through to {names}."
    introduce_text: str = "Hello {name}, this is {bot}. I have {caller} on the line{reason}. Connecting you now."
    no_answer_text: str = "{name} isn't answering right now. Can I take a message?"
    notify_timeout_s: float = 20.0
    colleague_ring_s: float = 20.0


@dataclass(frozen=True)
class DtmfSettings:
    shortcuts: dict[str, str] = field(default_factory=dict)  # key -> directory entry name, e.g. {"0": "Operator"}
    interdigit_timeout_s: float = 3.0
    terminator: str = "#"


@dataclass(frozen=True)
class OutboundSettings:
    calling_hours: str = "09:00-18:00"  # local time; "00:00-24:00" for any time
    calling_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    max_attempts: int = 3
    retry_after_s: int = 300  # after busy, no answer or failure; doubled for each further attempt
    ring_timeout_s: float = 30.0
    intro_text: str = "Hello, this is {bot} from {company}. The reason I am calling: {task}."
    callbacks: bool = True  # callbacks a verified caller asked for become scheduled calls to their number
    max_callbacks_per_caller: int = 2  # callbacks to one caller in 24 hours
    callback_text: str = "returning your call, as you asked"  # said as a callback's purpose (never caller's words)


@dataclass(frozen=True)
class AudioSettings:
    vad_aggressiveness: int = 3
    barge_in_vad_aggressiveness: int = 2
    preroll_ms: int = 300
    min_speech_ms: int = 120
    end_of_turn_silence_ms: int = 500
    preemptive_silence_ms: int = 120
    barge_in_min_speech_ms: int = 200
    echo_gate_ratio: float = 0.25
    echo_tail_ms: int = 400
    max_utterance_s: float = 30.0  # a caller who talks longer has their turn ended here and answered


@dataclass(frozen=True)
class CallSettings:
    silence_prompt_s: float = 8.0
    silence_hangup_s: float = 20.0
    max_duration_s: float = 900.0
    silence_prompt_text: str = "Are you still there?"
    goodbye_text: str = "It seems we got disconnected. Goodbye!"
    max_duration_text: str = "I'm sorry, we've reached the time limit for this call. Goodbye!"
    apology_text: str = "Sorry, I'm having a little trouble right now. Could you say that again?"
    shutdown_text: str = "I'm sorry, I have to go now. Goodbye!"


@dataclass(frozen=True)
class SttSettings:
    model: str = "bundled"
    compute_type: str = "int8"
    cpu_threads: int = 2
    beam_size: int = 5  # against greedy (1): business words, numbers and days heard better, ~20-30 ms a turn more
    language: str = "en"
    window_s: int = 12
    bias: bool = True  # prompt Whisper with the business's own words (company, directory, facts, forms)
    extra_words: tuple[str, ...] = ()  # more words callers say that Whisper should expect (product names...)
    # Whisper's mean log-probability per token below which a turn is taken for a guess and the caller is asked to
    # say it again (speech/stt.py UNSURE_LOGPROB). A property of the model: -0.5 is measured for the bundled tiny.en;
    # `employai eval hearing` prints the value measured for the configured one.
    unsure_logprob: float = -0.5


@dataclass(frozen=True)
class TtsSettings:
    voice: str = "bundled"
    length_scale: float = 1.0
    variation: float = 1.0  # times the voice's own noise: 0 says a sentence the same way every time


@dataclass(frozen=True)
class LlmSettings:
    backend: str = "llama_cpp"
    model: str = "bundled"
    base_url: str = ""
    api_key_env: str = ""
    context_tokens: int = 2048
    max_reply_tokens: int = 64
    history_tokens: int = 900
    temperature: float = 0.0
    threads: int = 2
    max_reply_sentences: int = 2
    lead_with_facts: bool = True
    continue_after_fact: bool = False
    # What answers a turn that no fact, form, transfer or memory answers: "model" (the model, checked so it invents
    # nothing), "fallback" (the honest "I don't know that, I can take a message"), or "auto": the fallback with the
    # bundled 135M model (which cannot answer open questions competently), the model with any other.
    open_replies: str = "auto"
    tools: bool = False  # the served model calls tools: offer it the memory functions and transfer_call
    extra_buffers: bool = False  # llama_cpp: llama.cpp's extra CPU buffer types (weight repacking; AMX if built)


@dataclass(frozen=True)
class ProfileSettings:
    name: str = "Joe"
    role: str = "front-desk assistant"
    company: str = "Acme Plumbing"
    greeting: str = "Hello, this is Joe at Acme Plumbing. How can I help you today?"
    returning_greeting: str = "Hello {name}, welcome back to Acme Plumbing. This is Joe. How can I help you today?"
    facts: tuple[str, ...] = (
        "We are open Monday to Friday from nine in the morning to five in the afternoon.",
        "A standard call-out visit costs eighty dollars.",
        "We fix leaks, blocked drains, boilers and water heaters.",
    )


@dataclass(frozen=True)
class MemorySettings:
    retention_days: int = 0  # 0 keeps memory until a caller or operator asks to forget
    housekeeping_minutes: float = 10.0  # a running bot applies retention and forgets erased callers' recordings
    embedding_model: str = "bundled"
    after_call_llm: str = "auto"  # the after-call memory keeper and task agent: auto (any but the bundled model)


@dataclass(frozen=True)
class DataSettings:
    dir: str = "~/.local/share/employai"
    url: str = ""  # "" for SQLite at <dir>/employai.sqlite3; "postgresql://user@host/db" for a server bots share
    password_env: str = ""  # the name of an environment variable holding the database password (not in the file)


FIELD_TYPES = ("name", "phone", "address", "datetime", "text", "yesno")  # brain/fields.py parses each


@dataclass(frozen=True)
class FormField:
    key: str = ""  # what the value is stored under; "name", "callback number" and "address" are filled from memory
    type: str = "text"  # one of FIELD_TYPES
    prompt: str = ""  # the question, as said on the phone; a phone field's asks for "your phone number"


@dataclass(frozen=True)
class FormSettings:
    name: str = ""  # a verb phrase ("book a visit"): said as "you asked us to book a visit"
    description: str = ""  # when the form applies, in a sentence
    examples: tuple[str, ...] = ()  # requests that start it
    done_text: str = "Thank you, I've noted all of that."
    fields: tuple[FormField, ...] = ()


_VISIT = FormSettings(
    name="book a visit",
    description="Book a plumber to come to the caller's home and fix a problem.",
    examples=("Can someone come out and fix it?", "I'd like to book a visit.", "Can you send a plumber round?",
              "I need somebody to take a look at my boiler.", "When could an engineer come out to me?",
              "Could I get an appointment for a repair?"),
    done_text="Thank you, that's booked. Someone will call you to confirm the time.",
    fields=(FormField("name", "name", "Can I take your name, please?"),
            FormField("address", "address", "What's the address for the visit?"),
            FormField("problem", "text", "What seems to be the problem?"),
            FormField("preferred time", "datetime", "When would suit you best for the visit?"),
            FormField("callback number", "phone", "And what's your phone number, in case we need to call you?")),
)
_MESSAGE = FormSettings(
    name="take a message",
    description="Take a message for a colleague or a department who cannot come to the phone.",
    examples=("Can I leave a message?", "Could you pass a message on for me?", "Please tell her that I called.",
              "Can you ask him to ring me back?", "I'd like to leave a message for the manager."),
    done_text="Thank you, I'll make sure they get your message.",
    fields=(FormField("for whom", "name", "Who is the message for?"),
            FormField("message", "text", "What would you like me to pass on?"),
            FormField("callback number", "phone", "And what's your phone number, so they can call you back?")),
)


@dataclass(frozen=True)
class NotifySettings:
    command: str = ""  # run with each completed form as JSON on stdin
    webhook_url: str = ""  # each completed form POSTed here as JSON
    retries: int = 3  # a failed delivery is tried again this many times ...
    retry_s: float = 5.0  # ... after this long, doubled each time


@dataclass(frozen=True)
class CapacitySettings:
    cores: int = 0  # cores the model work of all calls shares (0: the cores this process may run on)
    calls: int = 0  # calls served at once at target latency (0: as `employai bench --calls` measured, else max_calls)
    when_full: str = "announce"  # a call beyond that: "announce" (busy_text, then BYE), "486" or "503"
    busy_text: str = "I'm sorry, all our lines are busy right now. Please call again in a few minutes. Goodbye!"


@dataclass(frozen=True)
class ConsoleSettings:
    enabled: bool = True  # the operator's web console and /metrics, served by `employai run`
    listen: str = "127.0.0.1:8080"  # address:port; anything but loopback needs token_env
    token_env: str = ""  # the name of an environment variable holding the token every request must then carry

    @property
    def host_port(self) -> tuple[str, int]:
        """`listen` split into host and port ("[::1]:8080" for IPv6); the loader has checked it."""
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port) if port.isdigit() else 0


@dataclass(frozen=True)
class RecordingSettings:
    enabled: bool = False  # one stereo WAV per call (caller left, bot right), kept as long as memory.retention_days
    announcement: str = "This call is recorded."  # said to the caller before anything else when enabled
    dir: str = ""  # where the WAVs go; empty: <data.dir>/recordings


@dataclass(frozen=True)
class Config:
    sip: SipSettings = field(default_factory=SipSettings)
    registration: RegistrationSettings = field(default_factory=RegistrationSettings)
    transfer: TransferSettings = field(default_factory=TransferSettings)
    dtmf: DtmfSettings = field(default_factory=DtmfSettings)
    outbound: OutboundSettings = field(default_factory=OutboundSettings)
    audio: AudioSettings = field(default_factory=AudioSettings)
    call: CallSettings = field(default_factory=CallSettings)
    stt: SttSettings = field(default_factory=SttSettings)
    tts: TtsSettings = field(default_factory=TtsSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    profile: ProfileSettings = field(default_factory=ProfileSettings)
    memory: MemorySettings = field(default_factory=MemorySettings)
    data: DataSettings = field(default_factory=DataSettings)
    forms: tuple[FormSettings, ...] = (_VISIT, _MESSAGE)  # [[forms]] in a file replaces these two
    notify: NotifySettings = field(default_factory=NotifySettings)
    capacity: CapacitySettings = field(default_factory=CapacitySettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    recording: RecordingSettings = field(default_factory=RecordingSettings)
