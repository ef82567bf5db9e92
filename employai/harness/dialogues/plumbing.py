"""The default profile (Acme Plumbing, the embedded defaults and their two forms) called by scripted callers.

The embedded defaults have no transfer directory, so the eval adds one (`BOT_TOML`): SIP URIs on loopback ports
nothing listens on. A transfer is a REFER to the test caller, which declines it (603): the attempt and its target
are recorded all the same, which is what the checks read.
"""

from __future__ import annotations

from .script import (
    ADDRESS,
    ANYTHING_ELSE,
    ASKS,
    CONFIRMS,
    DONE,
    DONT_KNOW,
    FOR_WHOM,
    NAME,
    NAMED,
    PHONE,
    ROBOT,
    TRANSFERRING,
    WHEN,
    Dialogue,
    Fix,
    FormCheck,
    Outcome,
    decline,
    dont_know,
    goodbye,
    keys,
    number,
    recording,
    repeat,
    review,
    say,
    starts,
)

BOT_TOML = """
[[transfer.directory]]
name = "Sales"
department = "sales"
uri = "sip:sales@127.0.0.1:5197"

[[transfer.directory]]
name = "Accounts"
department = "billing"
uri = "sip:accounts@127.0.0.1:5197"

[[transfer.directory]]
name = "Dave Kowalski"
department = "service engineers"
uri = "sip:dave@127.0.0.1:5197"

[[transfer.directory]]
name = "Priya Shah"
department = "office manager"
uri = "sip:priya@127.0.0.1:5197"
"""

PRICE = r"eighty|\b80\b"
HOURS = r"monday|friday"
INVENTED_TIME = r"\b\d+ ?(minutes|hours)|within the hour|(an|one|two|three|half an) hours?\b"
VISIT = "visit|book"

DIALOGUES = (
    Dialogue("price-and-hours", "the call-out price and the opening hours, asked as people ask", (
        say("Hi there. How much do you charge just to come out?", "states the call-out price", PRICE),
        say("So what would a visit set me back, roughly?", "states the call-out price again", PRICE),
        say("Are you open on Saturdays?", "gives the weekday hours, no Saturday", HOURS,
            avoid=(r"\byes\b[^.]*saturday", r"open (on )?saturday")),
        say("What time do you shut in the evening?", "says five in the afternoon", r"five|\b5\b"),
        repeat("Sorry, could you say that again?"),
        say("And when do you open in the morning?", "says nine in the morning", r"nine|\b9\b"),
        goodbye("Lovely, that's everything. Cheers, bye."),
    ), Outcome(answered=True, closed=True), voice="rms", codec="PCMA"),

    Dialogue("booking-keyed-number", "a visit booked by voice, the callback number keyed on the keypad", (
        starts("Hello, could you book an engineer to come out to me?", "book a visit",
               "starts the booking: asks the name", NAME),
        say("Tom Brennan.", "asks the address", ADDRESS),
        say("Two Mill Lane, Riverside.", "asks what the problem is", ASKS),
        say("The boiler won't fire up and there's no hot water.", "asks when suits", WHEN),
        say("Any time on Thursday afternoon.", "asks the phone number", PHONE),
        keys("5550142233#", "reads the keyed number back digit by digit", number("5550142233")),
        review("Yes, that's right.", "reads the whole booking back for a yes", r"tom|brennan|mill", fixes=(
            Fix(NAMED, "tom|brennan", "No, my name is Tom Brennan."),
            Fix("address", "mill", "No, the address is Two Mill Lane, Riverside."),
            Fix("problem", "boiler|hot water", "No, the problem is that the boiler won't fire up."),
            Fix("time", "thursday", "No, the time is Thursday afternoon."))),
        say("Yes, all correct.", "confirms the booking", DONE),
        goodbye("That's all, bye now."),
    ), Outcome(form=FormCheck(VISIT, {"name": "tom|brennan", "address": "mill", "problem": "boiler|hot water",
                                      "time": "thursday", "number": "digits:5550142233"}), closed=True)),

    Dialogue("services-by-meaning", "what work the business does, asked in other words than its facts", (
        say("Hello, what sort of jobs do you take on?", "lists the work it does", r"leak|drain|boiler|heater"),
        say("Could you deal with a shower that drips all night?", "says leaks are fixed",
            r"leak|drip|yes|we (do|can|fix)"),
        say("And an old boiler that keeps cutting out?", "says boilers are fixed", r"boiler|yes|we (do|can|fix)"),
        say("Do you repair roofs as well?", "claims no roofs: says what it does fix, or that it does not know",
            DONT_KNOW + r"|leak|drain|boiler|heater", avoid=(r"\byes\b[^.]*roof", r"we (do )?(fix|repair) roofs")),
        decline("No thanks, that's fine."),
        goodbye("Great, thanks a lot. Goodbye."),
    ), Outcome(answered=True, closed=True, no_form=True)),

    Dialogue("booking-by-voice", "a visit booked entirely by voice, read back and confirmed", (
        starts("Hi, I need a plumber to come round to my flat, please.", "book a visit",
               "starts the booking: asks the name", NAME),
        say("It's Margaret Hughes.", "asks the address", ADDRESS),
        say("Fourteen Elm Grove, Springfield.", "asks what the problem is", ASKS),
        say("The water heater is leaking from the bottom.", "asks when suits", WHEN),
        say("Tomorrow morning if possible.", "asks the phone number", PHONE),
        say("It's five five five, zero one zero, seven seven eight eight.", "reads the number back digit by digit",
            number("5550107788")),
        review("Yes, that's right.", "reads the whole booking back for a yes", r"margaret|hughes|elm", fixes=(
            Fix(NAMED, "margaret|hughes", "No, my name is Margaret Hughes."),
            Fix("address", "elm", "No, the address is Fourteen Elm Grove, Springfield."),
            Fix("problem", "heater|leak", "No, the problem is that the water heater is leaking."),
            Fix("time", "tomorrow|morning", "No, the time is tomorrow morning."))),
        say("Yes, that's all correct.", "confirms the booking", DONE),
        goodbye("Thanks very much, goodbye."),
    ), Outcome(form=FormCheck(VISIT, {"name": "margaret|hughes", "address": "elm", "problem": "heater|leak",
                                      "time": "tomorrow|morning", "number": "digits:5550107788"}), closed=True),
        voice="rms"),

    Dialogue("booking-corrected-number", "a callback number read back wrong and corrected by the caller", (
        starts("Hi, I need a plumber to come out, my kitchen sink is blocked.", "book a visit",
               "starts the booking: asks the name", NAME),
        say("Helen Carter.", "asks the address", ADDRESS),
        say("Nine Station Road, Oakley.", "asks what the problem is", ASKS),
        say("The kitchen sink won't drain at all.", "asks when suits", WHEN),
        say("Friday at ten in the morning.", "asks the phone number", PHONE),
        say("My number is two four seven, zero one zero, three four five six.", "reads the number back",
            number("2470103456")),
        say("No, it's two four seven, zero one zero, three four five eight.", "reads the corrected number back",
            number("2470103458")),
        review("Yes, that's right now.", "reads the whole booking back for a yes", r"helen|carter|station", fixes=(
            Fix(NAMED, "helen|carter", "No, my name is Helen Carter."),
            Fix("address", "station", "No, the address is Nine Station Road, Oakley."),
            Fix("problem", "sink|drain", "No, the problem is that the kitchen sink won't drain."),
            Fix("time", "friday", "No, the time is Friday at ten in the morning."))),
        say("Yes.", "confirms the booking", DONE),
        goodbye("Thank you, bye."),
    ), Outcome(form=FormCheck(VISIT, {"name": "helen|carter", "address": "station", "problem": "sink|drain",
                                      "time": "friday", "number": "digits:2470103458"}), closed=True),
        codec="PCMA"),

    Dialogue("transfer-by-name", "a question it cannot answer, then a transfer to a department by name", (
        dont_know("Do you sell spare parts for showers?", avoid=(r"\byes\b", r"we (do )?sell")),
        say("No, that's okay. Just put me through to sales, please.", "puts the caller through to Sales",
            "sales", TRANSFERRING, transfers_to="Sales"),
        goodbye("Don't worry, I'll try again later. Goodbye."),
    ), Outcome(transfer="Sales", no_form=True, closed=True), voice="rms"),

    Dialogue("transfer-unsure-confirmed", "a name half right: the bot checks who is meant, the caller says yes", (
        say("Could you connect me to Maria Shaw, please?", "asks if Priya Shah is meant", "priya|shah", CONFIRMS),
        say("Yes, that's her.", "puts the caller through to Priya Shah", "priya|shah", transfers_to="Priya Shah"),
        goodbye("No, that's fine, thanks. Bye."),
    ), Outcome(transfer="Priya Shah", closed=True), codec="PCMA"),

    Dialogue("transfer-mispronounced", "a surname said wrong: put through (or checked first, then put through)", (
        say("Hiya, I need to talk to Mister Kovalsky.", "names Dave Kowalski (asks, or puts through)",
            "dave|kowalski"),
        say("Yes, please.", "puts the caller through to Dave Kowalski", transfers_to="Dave Kowalski"),
        goodbye("That's okay, I'll call him later. Goodbye."),
    ), Outcome(transfer="Dave Kowalski", closed=True), voice="rms"),

    Dialogue("message-for-someone", "a message left for a named colleague, said in a human voice", (
        starts("Hello, I'd like to leave a message, please.", "leave a message", "starts the message: asks for whom",
               r"who|whom", offered=r"\bmessage"),
        say("It's for Priya Shah.", "asks what the message is", ASKS),
        recording("vctk_p225_002.wav", "Ask her to bring these things with her from the store.",
                  "asks the phone number", PHONE),
        say("Five five five, zero one zero, two two nine one.", "reads the number back", number("5550102291")),
        review("Yes.", "reads the message back for a yes", r"priya|shah|bring|store", fixes=(
            Fix(FOR_WHOM, "priya|shah", "No, it's for Priya Shah."),
            Fix("message", "bring|store", "No, the message is: bring these things from the store."))),
        say("Yes, that's it.", "confirms the message will be passed on", DONE),
        goodbye("Thanks, goodbye."),
    ), Outcome(message_for="priya|shah", form=FormCheck("message", {"message": "bring|store",
                                                                     "number": "digits:5550102291"}), closed=True),
        voice="rms"),

    Dialogue("robot-and-repeat", "are you a robot, say that again, and a question about timing it cannot know", (
        say("Hang on, am I talking to a real person?", "says honestly it is an automated assistant", ROBOT,
            avoid=(r"\bi am (a )?(real|human)|\bi'm (a )?(real|human)",)),
        repeat("Sorry, what was that? I didn't catch it."),
        say("Okay. Do you fix water heaters?", "says yes, water heaters", r"water heater|heater|yes"),
        dont_know("How soon could someone get here today?", avoid=(INVENTED_TIME,)),
        decline("No, that's all right."),
        goodbye("Alright, thanks for your help. Goodbye."),
    ), Outcome(answered=True, closed=True, no_form=True)),

    Dialogue("unknowable-questions", "questions the facts do not answer: honest, nothing invented", (
        dont_know("Do you take payment by credit card?", avoid=(r"\byes\b", r"we (do )?(accept|take)")),
        decline("No thanks."),
        dont_know("Do you give a discount to pensioners?", avoid=(r"\d+ ?%|percent|\byes\b",)),
        decline("No, it's fine."),
        dont_know("How long have you been in business?",
                  avoid=(r"\d+ years|since \d+|(ten|fifteen|twenty|thirty|forty|fifty) years",)),
        goodbye("Okay, never mind. Goodbye."),
    ), Outcome(answered=True, closed=True, no_form=True), voice="rms", codec="PCMA"),

    Dialogue("hours-and-price-again", "the hours and price once more, in other words", (
        say("Can I ring you on a Sunday?", "gives the weekday hours", HOURS, avoid=(r"^\s*yes",)),
        say("Until what time can I reach you on a weekday?", "says five in the afternoon", r"five|\b5\b"),
        say("What's your callout fee these days?", "states the call-out price", PRICE),
        say("Do you deal with blocked toilets?", "says drains are fixed", r"drain|block|yes|we (do|can|fix)"),
        goodbye("Brilliant, cheers, bye bye."),
    ), Outcome(answered=True, closed=True)),

    Dialogue("message-keyed-number", "a message for a department, the callback number keyed", (
        starts("I'd like to leave a message for someone.", "leave a message", "starts the message: asks for whom",
               r"who|whom", offered=r"\bmessage"),
        say("The accounts department.", "asks what the message is", ASKS),
        say("I was charged twice for last week's visit, please call me back.", "asks the phone number", PHONE),
        keys("5550187766#", "reads the keyed number back", number("5550187766")),
        review("Yes, correct.", "reads the message back for a yes", r"accounts|charged|twice", fixes=(
            Fix("message", "charged|twice", "No, the message is: I was charged twice for last week's visit."),)),
        say("Yes.", "confirms the message will be passed on", DONE),
        goodbye("Thanks, goodbye."),
    ), Outcome(message_for="account|billing", form=FormCheck("message", {"message": "charged|twice",
                                                                          "number": "digits:5550187766"}),
               closed=True), voice="rms"),

    Dialogue("booking-given-up", "the caller's own words start a booking, then they give up on it", (
        starts("My water heater is leaking, can someone come and fix it?", "book a visit",
               "starts the booking: asks the name", NAME),
        say("Actually, never mind, I'll call back later.", "drops the booking and offers help", ANYTHING_ELSE,
            avoid=(ADDRESS,)),
        goodbye("No, that's all. Bye."),
    ), Outcome(no_form=True, closed=True), codec="PCMA"),
)

QUICK = ("price-and-hours", "booking-keyed-number")
