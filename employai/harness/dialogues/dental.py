"""The second profile: a dental clinic (tests/data/dental.toml: its facts, directory and three forms) called by
scripted callers. Human recordings of the shared speech set are used where their words fit a call."""

from __future__ import annotations

from pathlib import Path

from .script import (
    ASKS,
    CONFIRMS,
    DONE,
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

PROFILE_FILE = Path(__file__).resolve().parents[3] / "tests" / "data" / "dental.toml"

HOURS = r"monday|thursday"
BOOK = "appointment|book"
REASON = r"what is the appointment for|what.*for\b|reason|\?"
BEFORE = r"before|been to us|visited"

DIALOGUES = (
    Dialogue("prices-and-place", "prices, children, where the clinic is and parking, asked in other words", (
        say("Hi. How much is a check-up?", "states the check-up price", r"sixty[- ]five|\b65\b"),
        say("And a scale and polish with the hygienist?", "states the cleaning price", r"ninety|\b90\b"),
        say("Do you see little kids?", "says children from three", r"three|\b3\b|children"),
        say("Where are you based?", "gives the address", r"harbou?r"),
        say("Is there anywhere to leave the car?", "mentions the free parking", r"park"),
        goodbye("Perfect, thank you. Bye."),
    ), Outcome(answered=True, closed=True), voice="slt", codec="PCMA"),

    Dialogue("booking-keyed-number", "an appointment booked by voice, the callback number keyed", (
        starts("Hello, I'd like to book an appointment, please.", "book an appointment",
               "starts the booking: asks the name", NAME),
        say("Grace Miller.", "asks what the appointment is for", REASON),
        say("Just a cleaning with the hygienist.", "asks when suits", WHEN),
        say("Wednesday afternoon.", "asks if they have been before", BEFORE),
        say("No, this is my first time.", "asks the phone number", PHONE),
        keys("5550163344#", "reads the keyed number back digit by digit", number("5550163344")),
        review("Yes.", "reads the whole booking back for a yes", r"grace|miller|cleaning|wednesday", fixes=(
            Fix(NAMED, "grace|miller", "No, my name is Grace Miller."),
            Fix("reason", "clean|hygien", "No, the reason is a cleaning with the hygienist."),
            Fix("time", "wednesday", "No, the time is Wednesday afternoon."))),
        say("Yes, all correct.", "confirms the booking", DONE),
        goodbye("Thank you, bye."),
    ), Outcome(form=FormCheck(BOOK, {"name": "grace|miller", "reason": "clean|hygien", "time": "wednesday",
                                     "been before": "no|false", "number": "digits:5550163344"}), closed=True),
        voice="rms"),

    Dialogue("hours", "the opening hours, Friday and the weekend", (
        say("Are you open on Friday afternoons?", "says Friday until one", r"one|\b1\b|friday"),
        say("What about Saturdays?", "gives the weekday hours, no Saturday", HOURS,
            avoid=(r"\byes\b[^.]*saturday", r"open (on )?saturday")),
        say("What time do you open in the morning?", "says eight", r"eight|\b8\b"),
        repeat("Sorry, say that again please?"),
        goodbye("Thanks, bye."),
    ), Outcome(answered=True, closed=True), voice="rms"),

    Dialogue("booking-by-voice", "an appointment booked entirely by voice", (
        starts("I'd like to make an appointment to see the dentist.", "book an appointment",
               "starts the booking: asks the name", NAME),
        say("Oliver Grant.", "asks what the appointment is for", REASON),
        say("I've got a cracked filling on the left side.", "asks when suits", WHEN),
        say("Next Tuesday morning would be best.", "asks if they have been before", BEFORE),
        say("Yes, I've been a patient for years.", "asks the phone number", PHONE),
        say("Five five five, zero one nine, four four two one.", "reads the number back digit by digit",
            number("5550194421")),
        review("Yes.", "reads the whole booking back for a yes", r"oliver|grant|filling|tuesday", fixes=(
            Fix(NAMED, "oliver|grant", "No, my name is Oliver Grant."),
            Fix("reason", "filling|crack", "No, the reason is a cracked filling."),
            Fix("time", "tuesday", "No, the time is next Tuesday morning."))),
        say("Yes, that's correct.", "confirms the booking", DONE),
        goodbye("Great, goodbye."),
    ), Outcome(form=FormCheck(BOOK, {"name": "oliver|grant", "reason": "filling|crack", "time": "tuesday",
                                     "been before": "yes|true", "number": "digits:5550194421"}), closed=True)),

    Dialogue("booking-corrected-number", "a callback number corrected after the read-back", (
        starts("Can I come in to have a sore tooth looked at?", "book an appointment",
               "starts the booking: asks the name", NAME),
        say("My name is Aisha Khan.", "asks what the appointment is for", REASON),
        say("A tooth at the back has been aching for three days.", "asks when suits", WHEN),
        say("Monday at nine, if you have it.", "asks if they have been before", BEFORE),
        say("No, never.", "asks the phone number", PHONE),
        say("It's five five five, zero one seven, two six nine one.", "reads the number back",
            number("5550172691")),
        say("No, it's five five five, zero one seven, two six nine nine.", "reads the corrected number back",
            number("5550172699")),
        review("Yes, that's right.", "reads the whole booking back for a yes", r"aisha|khan|monday|tooth", fixes=(
            Fix(NAMED, "aisha|khan", "No, my name is Aisha Khan."),
            Fix("reason", "tooth|ach", "No, the reason is a tooth that aches."),
            Fix("time", "monday", "No, the time is Monday at nine."))),
        say("Yes.", "confirms the booking", DONE),
        goodbye("Thank you so much, bye."),
    ), Outcome(form=FormCheck(BOOK, {"name": "aisha|khan", "reason": "tooth|ach", "time": "monday",
                                     "number": "digits:5550172699"}), closed=True), voice="rms", codec="PCMA"),

    Dialogue("transfer-by-department", "insurance, then a transfer to a department by name", (
        say("Do you take dental insurance?", "says most insurance plans are accepted", r"insurance"),
        say("Okay, can you put me through to billing, please?", "puts the caller through to Billing", "billing",
            TRANSFERRING, transfers_to="Billing"),
        goodbye("Never mind, I'll ring back later. Bye."),
    ), Outcome(transfer="Billing", no_form=True, closed=True)),

    Dialogue("transfer-human-voice", "a human caller asks for Stella: the bot checks it is Dr Moreno, then transfers", (
        recording("vctk_p226_001.wav", "Please call Stella.", "names Dr Stella Moreno (asks, or puts through)",
                  "stella|moreno"),
        say("Yes please.", "puts the caller through to Dr Stella Moreno", "stella|moreno",
            transfers_to="Dr Stella Moreno"),
        goodbye("Actually no, that's all. Goodbye."),
    ), Outcome(transfer="Dr Stella Moreno", closed=True), voice="rms"),

    Dialogue("transfer-unsure-confirmed", "a first name wrong: the bot checks who is meant, the caller says yes", (
        say("Could I speak to Doctor Stephanie Moreno?", "asks if Dr Stella Moreno is meant", "moreno|stella",
            CONFIRMS),
        say("Yes, that's her.", "puts the caller through to Dr Stella Moreno", "moreno|stella",
            transfers_to="Dr Stella Moreno"),
        goodbye("No, that's fine. Goodbye."),
    ), Outcome(transfer="Dr Stella Moreno", closed=True), codec="PCMA"),

    Dialogue("message-human-voice", "a message for a dentist, its words said by a human voice", (
        starts("Could I leave a message for one of the dentists?", "leave a message",
               "starts the message: asks for whom", r"who|whom", offered=r"\bmessage"),
        say("For Doctor Okafor.", "asks what the message is", ASKS),
        recording("vctk_p225_002.wav", "Ask her to bring these things with her from the store.",
                  "asks the phone number", PHONE),
        say("Five five five, zero one two, eight eight one zero.", "reads the number back", number("5550128810")),
        review("Yes.", "reads the message back for a yes", r"okafor|bring|store", fixes=(
            Fix(FOR_WHOM, "okafor|james", "No, it's for Doctor Okafor."),
            Fix("message", "bring|store", "No, the message is: bring these things from the store."))),
        say("Yes, that's it.", "confirms the message will be passed on", DONE),
        goodbye("Bye."),
    ), Outcome(message_for="okafor|james", form=FormCheck("message", {"message": "bring|store",
                                                                        "number": "digits:5550128810"}),
               closed=True)),

    Dialogue("robot-and-whitening", "are you a robot, say that again, and a treatment it knows nothing of", (
        say("Am I speaking to a machine?", "says honestly it is an automated assistant", ROBOT,
            avoid=(r"\bi am (a )?(real|human)|\bi'm (a )?(real|human)",)),
        repeat("Can you repeat that?"),
        dont_know("Do you do teeth whitening?", avoid=(r"\byes\b", r"we (do|offer)")),
        decline("No, that's okay."),
        goodbye("Alright, thank you, goodbye."),
    ), Outcome(answered=True, closed=True, no_form=True), voice="rms"),

    Dialogue("emergency-and-unknowns", "emergency slots by meaning, then things the clinic's facts do not say", (
        say("Do you keep any time free for people in pain?", "mentions the emergency morning slots",
            r"emergenc|morning|pain"),
        dont_know("Which dentist is working this afternoon?",
                  avoid=(r"(okafor|moreno|stella|james) (is|will be) (working|in|on)",)),
        decline("No thanks."),
        dont_know("How much does a root canal cost?", avoid=(r"dollars", r"\$ ?\d")),
        goodbye("Okay, thanks anyway, bye."),
    ), Outcome(answered=True, closed=True, no_form=True), codec="PCMA"),

    Dialogue("cancel-appointment", "an appointment cancelled through its own form", (
        starts("I'm afraid I need to cancel my appointment.", "cancel an appointment",
               "starts the cancellation: asks the name", NAME),
        say("Daniel Reyes.", "asks which appointment", WHEN),
        say("It was Thursday at two in the afternoon.", "asks the phone number", PHONE),
        say("Five five five, zero one four, six six two zero.", "reads the number back", number("5550146620")),
        review("Yes.", "reads the cancellation back for a yes", r"daniel|reyes|thursday", fixes=(
            Fix(NAMED, "daniel|reyes", "No, my name is Daniel Reyes."),
            Fix("time", "thursday", "No, the appointment time is Thursday at two in the afternoon."))),
        say("Yes, that's right.", "confirms it is passed on", DONE),
        goodbye("Thanks, bye."),
    ), Outcome(form=FormCheck("cancel", {"name": "daniel|reyes", "time": "thursday",
                                         "number": "digits:5550146620"}), closed=True), voice="rms"),

    Dialogue("refused-then-transfer", "someone not in the directory is refused, then the hygienist is asked for", (
        say("Can you put me through to Doctor Hamilton?", "says who it can put callers through to",
            r"stella|moreno|okafor|reception|billing|hygien|can only|who would you like"),
        say("Oh, then the hygienist please.", "puts the caller through to the Hygienist", "hygien",
            transfers_to="Hygienist"),
        goodbye("No, that's fine. Goodbye."),
    ), Outcome(transfer="Hygienist", closed=True)),

    Dialogue("payment-and-insurance", "payment and insurance questions answered from the facts", (
        say("Can I pay by card when I come in?", "says card is accepted", r"card"),
        say("Will my insurance cover it?", "says most insurance plans are accepted", r"insurance"),
        say("Do you treat children as well?", "says children from three", r"three|\b3\b|children"),
        goodbye("Lovely, thanks, bye."),
    ), Outcome(answered=True, closed=True), voice="rms", codec="PCMA"),
)

QUICK = ("prices-and-place", "booking-keyed-number")
