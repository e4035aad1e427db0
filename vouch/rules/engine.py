"""Rule evaluation as pure functions: which rules a trigger runs, whether their
conditions and criteria hold, which tier or every-N step applies. No database here;
`vouch.rules.services` gathers the facts and writes the outcome."""

from dataclasses import dataclass

import cel

from vouch.campaigns.definition import CampaignDefinition, Rule, Tier, Trigger
from vouch.rules.conditions import (
    MET,
    NOT_MET,
    Outcome,
    compile_condition,
    counts_read,
    execute,
    not_boolean,
    raised,
    reads,
)

REWARD_ACTIONS = ("reward", "tiered_reward", "every_n_reward")


@dataclass(frozen=True)
class CompiledAction:
    index: int
    action: object
    criteria: tuple[tuple[str, str], ...]
    programs: tuple[cel.Program, ...] = ()


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    actions: tuple[CompiledAction, ...]
    reads: frozenset[str]
    counts_position: bool
    program: cel.Program | None = None
    counts_fields: frozenset[str] | None = None  # the `counts` it names; None: all of them

    @property
    def id(self) -> str:
        return self.rule.id


def _compile_rule(rule: Rule) -> CompiledRule:
    actions = []
    for index, action in enumerate(rule.actions):
        criteria = list(getattr(action, "criteria", []))
        if action.type in REWARD_ACTIONS:
            criteria = list(action.reward.criteria) + criteria
        target = getattr(action, "target", "advocate")
        pairs = tuple(c.compiled(target=target) for c in criteria)
        programs = tuple(compile_condition(source) for _, source in pairs)
        actions.append(CompiledAction(index, action, pairs, programs))
    sources = [rule.condition] if rule.condition else []
    sources += [source for a in actions for _, source in a.criteria]
    read = frozenset().union(*(reads(s) for s in sources)) if sources else frozenset()
    positional = any(a.action.type in ("tiered_reward", "every_n_reward") for a in actions)
    program = compile_condition(rule.condition) if rule.condition else None
    named = [counts_read(s) for s in sources]
    return CompiledRule(
        rule=rule,
        actions=tuple(actions),
        reads=read,
        counts_position=positional,
        program=program,
        counts_fields=None if None in named else frozenset().union(*named),
    )


def compile_rules(definition: CampaignDefinition) -> tuple[CompiledRule, ...]:
    """The campaign's active rules, compiled once per definition (a definition is one version)."""
    compiled = definition._compiled_rules
    if compiled is None:
        compiled = tuple(_compile_rule(rule) for rule in definition.all_rules())
        definition._compiled_rules = compiled
    return compiled


@dataclass(frozen=True)
class Happening:
    """What happened, as the triggers see it."""

    kind: str
    name: str = ""
    status: str = ""
    changed_fields: frozenset[str] = frozenset()
    changed_segments: frozenset[str] = frozenset()
    advocate_referrals: int = 0


def trigger_matches(trigger: Trigger, happening: Happening) -> bool:
    if trigger.type != happening.kind:
        return False
    if trigger.type == "custom":
        return trigger.action == happening.name
    if trigger.type == "status":
        return trigger.status == happening.status
    if trigger.type == "advocate_referrals":
        return trigger.count == happening.advocate_referrals
    if trigger.type == "person_changed":
        if trigger.field is None and trigger.segment is None:
            return bool(happening.changed_fields or happening.changed_segments)
        return (trigger.field in happening.changed_fields) or (trigger.segment in happening.changed_segments)
    return True


def rules_have_trigger(definition: CampaignDefinition, kind: str) -> bool:
    return any(r.rule.trigger.type == kind for r in compile_rules(definition))


def rules_triggered(rules: tuple[CompiledRule, ...], happening: Happening) -> list[CompiledRule]:
    return [r for r in rules if trigger_matches(r.rule.trigger, happening)]


def condition_holds(rule: CompiledRule, context: cel.Context) -> Outcome:
    """`conditions.execute` on the rule's program (no condition: met), written out rather
    than called because it runs for every triggered rule: the call saved is about a tenth
    of a bare CEL evaluation, and this path is held to 0.8 of the library's rate
    (bench/rules.py, part 1)."""
    program = rule.program
    if program is None:
        return MET
    try:
        result = program.execute(context)
    except Exception as error:  # noqa: BLE001 - a rule's bug is recorded on the decision, never raised
        return raised(error)
    if result is True:
        return MET
    if result is False:
        return NOT_MET
    return not_boolean(result)


@dataclass(frozen=True)
class CriterionResult:
    label: str
    held: bool
    error: str = ""


def criteria_results(action: CompiledAction, context: cel.Context) -> list[CriterionResult]:
    """Every criterion of the action, in order: the first that failed is the reward's reason."""
    results = []
    for (label, _), program in zip(action.criteria, action.programs, strict=True):
        outcome = execute(program, context)
        results.append(CriterionResult(label, outcome.met, outcome.error))
    return results


def first_failed(results: list[CriterionResult]) -> CriterionResult | None:
    return next((r for r in results if not r.held), None)


def tier_value(tiers: list[Tier], position: int) -> str | None:
    """The value of the highest tier whose `from_count` the position has reached, if any."""
    reached = sorted((t for t in tiers if t.from_count <= position), key=lambda t: t.from_count)
    return reached[-1].value if reached else None


def every_n_due(every: int, position: int) -> bool:
    return position % every == 0
