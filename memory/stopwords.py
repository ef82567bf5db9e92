"""Words too common to search by."""

STOP_WORDS = frozenset(
    "the and are you your yours what when where which who why how can could would should will this that these those "
    "with from for about have has had was were been being does did not but just please there their them they "
    "then than into onto our ours out over some any all its it's i'm you're what's let me my mine".split())
