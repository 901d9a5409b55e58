"""The table bench/gpu/check.sh prints: cap's step times against PyTorch eager's and against the
targets (issue 13), and the projected wall time of the paper's BERT-base recipes from them.

  python3 bench/gpu/summarise.py OUT_DIR CONFIGS_DIR

OUT_DIR holds cap-<precision>.json (cap_bench_cap --benchmark_format=json) and
eager-<precision>.json (eager_steps.py) for float32 and bfloat16.
"""
import json
import math
import pathlib
import sys

try:
    import tomllib  # Python 3.11+
except ImportError:  # older Pythons: the same parser from PyPI, if it is there
    try:
        import tomli as tomllib
    except ImportError:
        tomllib = None

# Training examples per task (GLUE train splits; SQuAD v1.1: windows of 384 tokens, stride 128).
TRAIN_EXAMPLES = {"sst2": 67349, "mnli": 392702, "qqp": 363846, "squad": 88600}
PRECISIONS = ["float32", "bfloat16"]


def load(out, name):
    path = out / name
    return json.loads(path.read_text()) if path.exists() else None


def cap_figures(doc):
    """{benchmark family: its counters} from Google Benchmark's JSON."""
    figures = {}
    for b in doc["benchmarks"]:
        family = b["name"].split("/")[0]
        figures[family] = b
    return figures


def verdict(value, target, at_least):
    if value is None:
        return "n/a"
    return "ok" if (value >= target if at_least else value <= target) else "MISSED"


def fmt(x, digits=3):
    return "n/a" if x is None else f"{x:.{digits}g}"


def table(out):
    rows = []
    measured = {}
    for p in PRECISIONS:
        cap_doc, eager = load(out, f"cap-{p}.json"), load(out, f"eager-{p}.json")
        if cap_doc is None:
            continue
        c = cap_figures(cap_doc)
        step = c.get("cap_step_vs_ce", {})
        move = c.get("movement_step_vs_ce", {})
        comp = c.get("compacted_vs_dense", {})
        imp = c.get("importance_pass", {})
        ce = step.get("ce_step_s")
        eager_ce = eager.get("ce_step_s") if eager else None
        measured[p] = {"ce": ce, "capf": step.get("cap_step_s"), "movement": move.get("movement_step_s"),
                       "importance": imp.get("pass_s")}
        rows += [
            (p, "CE step (s)", fmt(ce), fmt(eager_ce), fmt(eager_ce / ce if ce and eager_ce else None),
             "eager/cap >= 1.0", verdict(eager_ce / ce if ce and eager_ce else None, 1.0, True)),
            (p, "CAP-f step / CE step", fmt(step.get("cap/ce")), "", "", "<= 1.1",
             verdict(step.get("cap/ce"), 1.1, False)),
            (p, "movement step / CE step", fmt(move.get("movement/ce")), "", "", "<= 1.25",
             verdict(move.get("movement/ce"), 1.25, False)),
            (p, "dense / compacted inference (50% heads+FFN)", fmt(comp.get("dense/compact")),
             fmt(eager.get("dense/compact") if eager else None), "", ">= 1.8",
             verdict(comp.get("dense/compact"), 1.8, True)),
            (p, "importance pass (examples/s)", fmt(imp.get("examples_per_s"), 4), "", "", "", ""),
        ]
    print("| precision | measure | cap | PyTorch eager | ratio | target | |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return measured


def merge(base, top):
    """Tables merge key by key; any other value of `top` replaces the base's."""
    out = dict(base)
    for key, value in top.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_recipe(path):
    """A recipe with its includes merged in order, then its `unset` keys removed (docs/recipes.md)."""
    top = tomllib.loads(path.read_text())
    includes = top.pop("include", [])
    unset = top.pop("unset", [])
    recipe = {}
    for inc in [includes] if isinstance(includes, str) else includes:
        recipe = merge(recipe, load_recipe((path.parent / inc).resolve()))
    recipe = merge(recipe, top)
    for key in unset:
        *tables, last = key.split(".")
        node = recipe
        for t in tables:
            node = node.get(t, {})
        node.pop(last, None)
    return recipe


def recipe_hours(recipe, t):
    """Projected hours of one recipe from step times `t` (seconds at sequence length 128)."""
    task = recipe.get("task", {}).get("name")
    n = TRAIN_EXAMPLES.get(task)
    if n is None or not all(t.get(k) for k in ("ce", "capf", "movement")):
        return None
    scale = recipe["task"].get("max_seq_length", 128) / 128  # linear in tokens, roughly
    seconds = 0.0
    if "teacher" not in recipe.get("model", {}):
        ft = recipe.get("finetune", {})
        seconds += ft.get("epochs", 3) * math.ceil(n / ft.get("batch_size", 32)) * t["ce"]
    prune = recipe.get("prune", {})
    steps_per_epoch = math.ceil(n / prune.get("batch_size", 32))
    schedule = recipe.get("schedule", {})
    contrastive = bool(recipe.get("contrastive")) or "distill" in recipe
    if schedule.get("plugin") == "iterative":  # CAP-f and first-order: importance pass + retraining per stage
        stages = len(schedule.get("percents", []))
        step = t["capf"] if contrastive else t["ce"]
        seconds += stages * (schedule.get("retrain_epochs", 2.0) * steps_per_epoch * step
                             + steps_per_epoch * (t["importance"] or t["ce"]))
    else:  # CAP-m, CAP-soft, movement baselines: a threshold at every step
        step = t["movement"] * (t["capf"] / t["ce"] if contrastive else 1.0)
        seconds += prune.get("epochs", 10) * steps_per_epoch * step
    return seconds * scale / 3600


def projections(configs, measured, shape):
    recipes = sorted(p for d in ["cap-f", "cap-m", "cap-soft", "baselines"]
                     for p in (configs / d).glob("*.toml") if "bert-tiny" not in p.name)
    if not recipes or not measured:
        return
    if tomllib is None:
        print("\n(no projections: reading recipes needs Python 3.11's tomllib or the tomli package)")
        return
    print()
    print("Projected wall time on this device (hours), from the step times above: fine-tuning the")
    print("teacher where a recipe names none, then pruning; CAP-f adds one importance pass over the")
    print("training set per stage; contrastive/distilling recipes cost CAP-f step / CE step more per")
    print("step; sequence lengths other than 128 scale linearly. Data loading and evaluation excluded.")
    if shape != "base":
        print(f"Measured at the {shape} shape (no GPU): these hours are not BERT-base's; they exercise the arithmetic.")
    print()
    print("| recipe | task | " + " | ".join(measured) + " |")
    print("|---|---|" + "---|" * len(measured))
    totals = {p: 0.0 for p in measured}
    for path in recipes:
        recipe = load_recipe(path)
        hours = {p: recipe_hours(recipe, t) for p, t in measured.items()}
        for p, h in hours.items():
            totals[p] += h or 0.0
        cells = " | ".join(fmt(h, 3) for h in hours.values())
        print(f"| {path.relative_to(configs.parent)} | {recipe.get('task', {}).get('name')} | {cells} |")
    print(f"| all of the above | | " + " | ".join(fmt(v, 4) for v in totals.values()) + " |")


def main():
    out, configs = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    measured = table(out)
    eager = load(out, "eager-float32.json") or {}
    projections(configs, measured, eager.get("shape", "base"))


if __name__ == "__main__":
    main()
