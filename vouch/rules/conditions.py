"""Rule conditions and action criteria: CEL expressions, compiled once and checked
against the variables a rule may read.

CEL reports a syntax error at compile time with line and column, but an unknown
variable only when the expression runs; so a condition is refused when it is saved
if it names anything outside `VARIABLES` (names bound by macros such as the `s` in
`friend.segments.exists(s, s == "vip")` excepted). At run time every failure is
caught and becomes "not met" with the error recorded, never a crash.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

import cel

VARIABLES = {
    "advocate": "the advocate: email, first_name, last_name, fields, segments, created_at, blacklisted",
    "friend": "the friend: the advocate's fields plus order_count, is_new_customer, already_referred",
    "event": "the event: type, id, name, subtotal, currency, fields, items, occurred_at",
    "referral": "the referral: id, status, campaign, created_at, subtotal (less refunds), refunded, "
    "order_number, offer_expired, attributed_by, clicked",
    "counts": "referrals_total, referrals_approved, referrals_this_year, rewards_given_total, "
    "rewards_given_this_year, rewards_given_30_days, rule_firings, first_time",
    "now": "the current time (a timestamp)",
}

_MACRO_BINDING = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")
_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*?)(?:\n|$)")


class ConditionError(ValueError):
    """A condition that cannot be saved, with where and why."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(f"{where}{message}")
        self.line, self.column = line, column


@lru_cache(maxsize=4096)
def compile_condition(source: str) -> cel.Program:
    """The compiled program for a CEL source; refused with position and message if it is
    not valid CEL or reads a variable a rule does not have."""
    try:
        program = cel.compile(source)
    except ValueError as error:
        found = _POSITION.search(str(error))
        if found:
            raise ConditionError(
                found.group(3).strip(), line=int(found.group(1)), column=int(found.group(2))
            ) from None
        raise ConditionError(str(error).splitlines()[0]) from None
    bound = set(_MACRO_BINDING.findall(source))
    unknown = sorted(set(program.variables()) - set(VARIABLES) - bound)
    if unknown:
        known = ", ".join(VARIABLES)
        raise ConditionError(f"unknown variable '{unknown[0]}'; a condition can read {known}.")
    return program


_COUNTS = re.compile(r"\bcounts\b")
_COUNTS_FIELD = re.compile(r"\bcounts\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")


def counts_read(source: str) -> frozenset[str] | None:
    """The fields of `counts` a condition names (`counts.rule_firings`…), so only the
    queries behind them run; None when it uses `counts` any other way (whole, by index,
    in a string…), and then every count is gathered."""
    fields = _COUNTS_FIELD.findall(source)
    if len(fields) != len(_COUNTS.findall(source)):
        return None
    return frozenset(fields)


def reads(source: str) -> frozenset[str]:
    """The top-level variables a condition reads, so only those facts are gathered."""
    return frozenset(compile_condition(source).variables()) & frozenset(VARIABLES)


@dataclass(frozen=True)
class Outcome:
    met: bool
    error: str = ""


# Outcome is frozen, so the two answers without an error are shared: building one costs
# about 460 ns, two thirds of executing a 3-clause condition (bench/rules.py).
MET = Outcome(True)
NOT_MET = Outcome(False)


def raised(error: Exception) -> Outcome:
    return Outcome(False, f"{type(error).__name__}: {error}"[:500])


def not_boolean(result: object) -> Outcome:
    return Outcome(False, f"The condition gave {result!r}, not true or false.")


def execute(program: cel.Program, context: cel.Context) -> Outcome:
    """Run a compiled condition; a runtime error or a result that is not a boolean is not met."""
    try:
        result = program.execute(context)
    except Exception as error:  # noqa: BLE001 - a rule's bug is recorded on the decision, never raised
        return raised(error)
    if result is True:
        return MET
    if result is False:
        return NOT_MET
    return not_boolean(result)


def evaluate(source: str, context: cel.Context) -> Outcome:
    """Run a condition from its source (compiled once, cached); as `execute`."""
    try:
        program = compile_condition(source)
    except ConditionError as error:
        return Outcome(False, str(error))
    return execute(program, context)


# Talkable's incentive criteria, each a CEL condition with the label shown beside a blocked reward.
BUILT_IN_CRITERIA = {
    "minimum_purchase": (
        "Friend didn't meet minimum purchase requirement",
        "referral.subtotal != null && referral.subtotal >= {amount}",
    ),
    "offer_not_expired": ("Friend's offer was expired", "!referral.offer_expired"),
    "new_customer": ("Friend is not a new customer", "friend.is_new_customer"),
    "not_already_referred": ("Friend has already been referred", "!friend.already_referred"),
    "not_blacklisted": ("Person is blacklisted", "!{target}.blacklisted"),
}
