"""Benchmark of program rules: CEL condition evaluation, and purchase throughput with five rules.

    .venv/bin/python bench/rules.py [--evaluations N] [--events N] [--repeats R] [--runs P] [--seed S]

Part 1 times one 3-clause condition in the same process, the loops interleaved in
slices: the bare library (`program.execute(context)`), the engine's `condition_holds`
(the compiled rule's program, error capture, boolean check), `conditions.evaluate` from
source, and the engine's per-rule path, which also gets the `cel.Context` for the
rule's facts (`vouch.rules.services._context` + `condition_holds`). Part 2 runs
bench/ingest.py's purchase mix, each run in a child process with a fresh SQLite
database: the campaign as it is, and the campaign plus five program rules, in
interleaved pairs (`--runs`). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import ingest  # noqa: E402 - bench/ is on sys.path when this file runs as a script

CONDITION = 'event.subtotal >= 100.0 && friend.is_new_customer && "vip" in advocate.segments'
TARGET_RATIO = 0.8  # the engine's condition_holds against the bare library
TARGET_COST = 20.0  # % of purchase throughput that five rules may cost

# Five rules of the kinds a program has; the first three run on purchases, the last two do not.
RULES = [
    {
        "id": "friend-credit-big-basket",
        "name": "Friend credit on a purchase of 50 or more",
        "trigger": {"type": "purchase"},
        "condition": "event.subtotal >= 50.0",
        "actions": [
            {
                "type": "reward",
                "target": "friend",
                "reward": {
                    "kind": "credit",
                    "value": "5.00",
                    "currency": "USD",
                    "criteria": [{"check": "minimum_purchase", "amount": "75.00"}],
                },
            }
        ],
    },
    {
        "id": "approved-tiered-bonus",
        "name": "Points per approved referral, more from the fifth on",
        "trigger": {"type": "status", "status": "approved"},
        "condition": "counts.rewards_given_this_year < 20",
        "actions": [
            {
                "type": "tiered_reward",
                "target": "advocate",
                "reward": {"kind": "points", "value": "100"},
                "tiers": [{"from_count": 1, "value": "100"}, {"from_count": 5, "value": "250"}],
            }
        ],
    },
    {
        "id": "every-third-new-customer",
        "name": "Credit for every third new customer",
        "trigger": {"type": "status", "status": "approved"},
        "condition": "friend.is_new_customer && !friend.already_referred",
        "actions": [
            {
                "type": "every_n_reward",
                "target": "advocate",
                "every": 3,
                "reward": {"kind": "credit", "value": "15.00", "currency": "USD"},
            }
        ],
    },
    {
        "id": "demo-completed-email",
        "name": "Tell the advocate their friend completed a demo",
        "trigger": {"type": "custom", "action": "demo_completed"},
        "actions": [{"type": "email", "target": "advocate", "template": "advocate_referral_made"}],
    },
    {
        "id": "friend-became-vip",
        "name": "Points when the friend joins the vip segment",
        "trigger": {"type": "person_changed", "segment": "vip"},
        "condition": '"vip" in friend.segments',
        "actions": [{"type": "reward", "target": "friend", "reward": {"kind": "points", "value": "500"}}],
    },
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--evaluations", type=int, default=200_000, help="condition evaluations per repetition (200000)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of part 1; the median is shown")
    parser.add_argument("--events", type=int, default=1000, help="purchase events per run in part 2 (1000)")
    parser.add_argument(
        "--runs", type=int, default=1, help="pairs of part-2 runs, interleaved; the median is shown (1)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--child", type=int, choices=(0, len(RULES)), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.events < 10:
        parser.error("--events must be at least 10")
    if args.evaluations < 1000 or args.repeats < 1 or args.runs < 1:
        parser.error("--evaluations must be at least 1000, --repeats and --runs at least 1")
    return args


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


# --- part 1: condition evaluation rate --------------------------------------------------------------


def _person(segments: list[str]) -> dict:
    return {
        "email": "levi@example.com",
        "first_name": "Levi",
        "last_name": "Ackerman",
        "fields": {"plan": "pro", "country": "DE"},
        "segments": segments,
        "created_at": datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        "blacklisted": False,
    }


def facts_like():
    """A real `Facts` whose gathered variables are already in place (what its cached
    properties hold after the first rule read them), shaped as vouch.rules.facts builds them."""
    from vouch.rules.facts import Facts

    facts = Facts(referral=None)
    facts.__dict__.update(
        advocate_facts=_person(["vip", "newsletter"]),
        friend_facts={
            **_person([]),
            "email": "friend@example.org",
            "order_count": 1,
            "is_new_customer": True,
            "already_referred": False,
        },
        event_facts={
            "type": "purchase",
            "id": "ORDER-0000042",
            "name": "",
            "subtotal": 129.9,
            "currency": "USD",
            "fields": {},
            "items": [{"sku": "A-1", "price": 129.9, "quantity": 1}],
            "occurred_at": datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        },
    )
    return facts


def compiled_rule():
    """The engine's compiled form of a purchase rule with the benchmark's condition."""
    from vouch.campaigns.definition import CampaignDefinition
    from vouch.rules.engine import compile_rules

    rule = {
        "id": "three-clauses",
        "trigger": {"type": "purchase"},
        "condition": CONDITION,
        "actions": [{"type": "email", "template": "advocate_referral_made"}],
    }
    definition = CampaignDefinition.model_validate({"slug": "cel", "name": "CEL", "rules": [rule]})
    (found,) = compile_rules(definition)
    return found


def rate(loop, n: int) -> float:
    started = time.perf_counter()
    loop(n)
    return n / (time.perf_counter() - started)


def interleaved(loops: dict, n: int, slices: int = 20) -> dict[str, float]:
    """Each loop's rate over n calls, run in slices taken in turn, so that a change of
    load on a shared machine falls on every loop alike rather than on one of them."""
    seconds = dict.fromkeys(loops, 0.0)
    for _ in range(slices):
        for name, loop in loops.items():
            seconds[name] += n / slices / rate(loop, n // slices)
    return {name: n / spent for name, spent in seconds.items()}


def part1(args: argparse.Namespace) -> dict:
    """Median rates of the bare library, `condition_holds`, `evaluate` and the per-rule path,
    and the median of the repetitions' (b)/(a) ratios."""
    import cel

    from vouch.rules.conditions import evaluate
    from vouch.rules.engine import condition_holds
    from vouch.rules.services import _context

    facts, rule = facts_like(), compiled_rule()
    assert rule.reads == {"event", "friend", "advocate"}, rule.reads
    context = cel.Context(facts.variables(rule.reads))
    program = cel.compile(CONDITION)
    if program.execute(context) is not True or not evaluate(CONDITION, context).met:
        raise RuntimeError("the benchmark's condition does not hold on its own variables")

    def bare(n):
        execute = program.execute
        for _ in range(n):
            execute(context)

    def engine(n):
        for _ in range(n):
            evaluate(CONDITION, context)

    def per_rule(n):
        for _ in range(n):
            built, _ = _context(rule, facts)
            condition_holds(rule, built)

    def engine_kept(n):
        for _ in range(n):
            condition_holds(rule, context)

    n = args.evaluations
    n_rule = max(1000, n // 50)  # the per-rule path is far slower; the rate is what counts
    loops = {"bare": bare, "evaluate": engine, "condition_holds": engine_kept}
    runs = {name: [] for name in [*loops, "per_rule"]}
    for loop in loops.values():
        loop(1000)  # warm-up
    per_rule(100)
    ratios = []
    for _ in range(args.repeats):
        rates = interleaved(loops, n)
        for name, value in rates.items():
            runs[name].append(value)
        ratios.append(rates["condition_holds"] / rates["bare"])
        runs["per_rule"].append(rate(per_rule, n_rule))
    result = {name: statistics.median(rates) for name, rates in runs.items()}
    result["spread"] = {name: (min(rates), max(rates)) for name, rates in runs.items()}
    result["ratio"] = statistics.median(ratios)
    result["ratios"] = ratios
    result["n_rule"] = n_rule
    result["parts"] = breakdown(program, context, facts, rule, n)
    return result


def breakdown(program, context, facts, rule, n: int) -> dict[str, float]:
    """Nanoseconds per call of each piece `evaluate` and `_context` add to the bare execute."""
    import cel

    from vouch.rules.conditions import Outcome, compile_condition

    variables = facts.variables(rule.reads)

    def each(loop, count):
        started = time.perf_counter()
        loop(count)
        return (time.perf_counter() - started) / count * 1e9

    def empty(count):
        for _ in range(count):
            pass

    def lookup(count):
        for _ in range(count):
            compile_condition(CONDITION)

    def outcome(count):
        for _ in range(count):
            Outcome(True)

    def fresh_context(count):
        for _ in range(count):
            cel.Context(variables)

    def first_execute(count):
        for _ in range(count):
            program.execute(cel.Context(variables))

    loop_ns = each(empty, n)
    small = max(1000, n // 50)
    return {
        "cache lookup compile_condition(source)": each(lookup, n) - loop_ns,
        "Outcome(True) (frozen dataclass)": each(outcome, n) - loop_ns,
        "cel.Context(variables) (converts the variables)": each(fresh_context, small) - loop_ns,
        "execute on a fresh cel.Context (the two together)": each(first_execute, small) - loop_ns,
    }


def report1(r: dict, args: argparse.Namespace) -> bool:
    bare, engine, per_rule = r["bare"], r["condition_holds"], r["per_rule"]
    ok = r["ratio"] >= TARGET_RATIO
    print(f"Part 1: condition evaluation, {args.repeats} repetitions, median (min–max)")
    print(f"  condition: {CONDITION}")
    print(f"  {'path':<58} {'evaluations':>11}  {'evaluations/s':>13}  {'range':>19}")
    rows = [
        ("(a) bare library: program.execute(context)", "bare", args.evaluations),
        ("(b) engine: condition_holds(rule, context)", "condition_holds", args.evaluations),
        ("(b') conditions.evaluate(source, context), from source", "evaluate", args.evaluations),
        ("(c) per rule: services._context + condition_holds", "per_rule", r["n_rule"]),
    ]
    for label, key, n in rows:
        low, high = r["spread"][key]
        print(f"  {label:<58} {n:>11}  {r[key]:>13,.0f}  {low:>9,.0f}–{high:<9,.0f}")
    print(
        f"  (b)/(a) = {r['ratio']:.2f}, the median of the repetitions' ratios "
        f"({', '.join(f'{x:.2f}' for x in sorted(r['ratios']))})  "
        f"{'PASS' if ok else 'FAIL'} (target ≥ {TARGET_RATIO})"
    )
    print(f"  (c)/(a) = {per_rule / bare:.3f}  (informative: building the context dominates)")
    parts = r["parts"]
    print(f"  per call: bare execute {1e9 / bare:.0f} ns, evaluate {1e9 / engine:.0f} ns; the pieces:")
    for label, ns in parts.items():
        print(f"    {label:<58} {ns:>9,.0f} ns")
    return ok


# --- part 2: purchase throughput with and without rules ---------------------------------------------


class RulesClock:
    """Time spent in the rules engine during the run, split into evaluation (facts, conditions,
    criteria bookkeeping, decision rows: `services._run` less its actions) and actions
    (`services._act`: rewards, emails and what giving them writes). Both are module globals
    of vouch.rules.services, looked up at each call, so wrapping them there is enough."""

    def __init__(self):
        self.run_seconds = self.act_seconds = 0.0
        self._depth = 0

    def install(self) -> None:
        from vouch.rules import services

        services._run = self._timed(services._run, "run_seconds")
        services._act = self._timed(services._act, "act_seconds")

    def _timed(self, function, total: str):
        def timed(*args, **kwargs):
            self._depth += 1
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0 or total == "act_seconds":
                    setattr(self, total, getattr(self, total) + time.perf_counter() - started)

        return timed


def child(args: argparse.Namespace) -> int:
    """One purchase run in a fresh SQLite database; prints its figures as one JSON line."""
    import random

    tmp = ingest.django_setup(argparse.Namespace(database_url=None))
    try:
        from vouch.rewards.models import Reward
        from vouch.rules.models import Decision

        rules = RULES if args.child else None
        prepared = ingest.setup(args.events, random.Random(args.seed), rules=rules)
        clock = RulesClock()
        clock.install()
        cpu_started = time.process_time()
        engine = ingest.run_engine(prepared.site, prepared.events, None)
        cpu_seconds = time.process_time() - cpu_started
        tally, wrong = ingest.outcomes(prepared.events)
        decisions = Counter(Decision.objects.values_list("rule_id", flat=True))
        rewards = Counter(Reward.objects.values_list("source", flat=True))
        probes = ingest.probe_queries(prepared.site, prepared.probes, show=False)
        n = len(engine.latencies)
        result = {
            "rules": args.child,
            "events": n,
            "rate": engine.rate,
            "cpu_ms": cpu_seconds * 1000 / len(engine.latencies),
            "p50": engine.percentile(50),
            "p99": engine.percentile(99),
            "mean": statistics.fmean(engine.latencies) * 1000,
            "setup_s": prepared.seconds,
            "db_ms": (engine.db.seconds + engine.db.commit_seconds) * 1000 / n,
            "evaluation_ms": (clock.run_seconds - clock.act_seconds) * 1000 / n,
            "actions_ms": clock.act_seconds * 1000 / n,
            "statements": {s: c / n for s, (c, _) in engine.db.by_statement.items()},
            "queries": {kind: count for kind, (count, _) in probes.items()},
            "outcomes": dict(tally),
            "wrong": wrong[:3],
            "decisions": dict(decisions),
            "rewards": dict(Counter(s.split("/")[0] for s in rewards.elements())),
            "load": load(),
        }
        print("RESULT " + json.dumps(result))
        return 0 if not wrong else 1
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(tmp, ignore_errors=True)


def run_child(args: argparse.Namespace, rules: int) -> dict:
    command = [sys.executable, __file__, "--child", str(rules), "--events", str(args.events)]
    command += ["--seed", str(args.seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        sys.stderr.write(done.stdout + done.stderr)
        raise RuntimeError(f"the run with {rules} rules failed (exit {done.returncode})")
    for line in done.stdout.splitlines():
        if line.startswith("  warning"):
            print(line)
    return json.loads(lines[-1][len("RESULT ") :])


def report2(base: dict, ruled: dict) -> bool:
    cost = (1 - ruled["rate"] / base["rate"]) * 100
    ok = cost <= TARGET_COST
    print(
        f"Part 2: {base['events']} purchase events per run (bench/ingest.py's mix), "
        "SQLite, a fresh database each"
    )
    print(
        f"  {'campaign':<28} {'events/s':>8}  {'p50 ms':>6}  {'p99 ms':>6}  {'mean ms':>7}  "
        f"{'db ms':>6}  {'q/attributed':>12}  {'load':>16}"
    )
    for label, r in (("as it is (incentive only)", base), (f"+ {len(RULES)} program rules", ruled)):
        print(
            f"  {label:<28} {r['rate']:>8.1f}  {r['p50']:>6.2f}  {r['p99']:>6.2f}  {r['mean']:>7.2f}  "
            f"{r['db_ms']:>6.2f}  {r['queries']['coupon']:>12}  {r['load']:>16}"
        )
    print(
        f"  cost of the rules: {cost:.1f} % of throughput  {'PASS' if ok else 'FAIL'} "
        f"(target ≤ {TARGET_COST:.0f} %)"
    )
    cpu_cost = (1 - base["cpu_ms"] / ruled["cpu_ms"]) * 100
    print(
        f"  CPU time of the process per event: {base['cpu_ms']:.2f} ms → {ruled['cpu_ms']:.2f} ms, "
        f"{cpu_cost:.1f} % of throughput by CPU time (less sensitive to other load on a shared machine)"
    )
    for r in (base, ruled):
        if r["wrong"]:
            print(f"  NOT as planned with {r['rules']} rules, e.g. {r['wrong']}")
    for r in (base, ruled):
        print(
            f"  in the rules engine per event, {r['rules']} added rules: "
            f"evaluation {r['evaluation_ms']:.2f} ms "
            f"(facts, conditions, decision rows), actions {r['actions_ms']:.2f} ms (rewards, emails)"
        )
    same = (
        "same in both runs" if base["outcomes"] == ruled["outcomes"] else f"without rules {base['outcomes']}"
    )
    print(f"  outcomes ({same}): " + ", ".join(f"{k} {v}" for k, v in sorted(ruled["outcomes"].items())))
    labels = ingest.LABELS
    print(
        "  queries per purchase (CaptureQueriesContext on one of each kind, BEGIN/COMMIT included): "
        + ", ".join(f"{labels[k]} {base['queries'][k]}→{ruled['queries'][k]}" for k in base["queries"])
    )
    print(
        "  decisions per event with rules: "
        + ", ".join(
            f"{rule} {count / ruled['events']:.2f}" for rule, count in sorted(ruled["decisions"].items())
        )
    )
    print(
        "  rewards per event with rules: "
        + ", ".join(
            f"{source} {count / ruled['events']:.2f}" for source, count in sorted(ruled["rewards"].items())
        )
    )
    added = {
        s: ruled["statements"].get(s, 0) - base["statements"].get(s, 0)
        for s in set(ruled["statements"]) | set(base["statements"])
    }
    top = sorted(((d, s) for s, d in added.items() if abs(d) >= 0.05), reverse=True)[:12]
    print(
        f"  statements per event: {sum(base['statements'].values()):.1f} → "
        f"{sum(ruled['statements'].values()):.1f}; "
        "added by the rules: " + ", ".join(f"{s} {d:+.2f}" for d, s in top)
    )
    return ok


def _median_run(runs: list[dict]) -> dict:
    """The run with the median rate (the upper of the two middle ones for an even count)."""
    return sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child is not None:
        return child(args)
    os.environ["DJANGO_SETTINGS_MODULE"] = "vouch.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import cel
    import django

    django.setup()  # part 1 touches no database
    print("Vouch program-rules benchmark")
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load()}; "
        f"Python {sys.version.split()[0]}, cel {_version(cel)}"
    )
    report1(part1(args), args)
    print(f"  load average after part 1: {load()}")
    bases, ruleds = [], []
    for _ in range(args.runs):  # interleaved, so a change of load hits both campaigns alike
        bases.append(run_child(args, 0))
        ruleds.append(run_child(args, len(RULES)))
    base, ruled = _median_run(bases), _median_run(ruleds)
    print()
    report2(base, ruled)
    if args.runs > 1:
        costs = sorted((1 - r["rate"] / b["rate"]) * 100 for b, r in zip(bases, ruleds, strict=True))
        print(
            f"  {args.runs} interleaved pairs: events/s as it is "
            + ", ".join(f"{b['rate']:.1f}" for b in bases)
            + "; with rules "
            + ", ".join(f"{r['rate']:.1f}" for r in ruleds)
            + "; cost per pair "
            + ", ".join(f"{c:.1f} %" for c in costs)
        )
    # PASS/FAIL against the targets is printed; the exit status only says the runs went as planned.
    return 0 if not any(r["wrong"] for r in (*bases, *ruleds)) else 1


def _version(module) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("common-expression-language")
    except PackageNotFoundError:
        return getattr(module, "__version__", "?")


if __name__ == "__main__":
    sys.exit(main())
