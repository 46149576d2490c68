"""NLU evaluation: the project's pipeline against Rasa's stock pipeline, on the held-out set.

Run from bot/ with the Rasa environment (`make eval`, after `make train`). Scores the project's
model (bot/models/current.tar.gz) and the stock pipeline's model (trained on the same data and
kept for `make bench`, evaluation/models.py) on tests/nlu/heldout_*.yml and prints intent accuracy
and macro-F1 per language and per style, side by side; writes the figures to
build/eval/report.json.

Two test sets: the held-out set (tests/nlu/heldout_*.yml), written blind to the training data
and never used to change it, gives the figures that count; the development set
(tests/nlu/dev_*.yml, `--set dev`), an earlier held-out set that has since informed the
training data, is where a data or pipeline change is tried first.

A pipeline's figures are cached in build/eval/<name>.json under a hash of everything they
depend on (its config, the NLU training data and the domain's FAQ answers, the held-out set,
the custom components if it uses them), so rerunning after a change scores again only what the
change touched. `--fresh` ignores the cache and trains the stock model again.

`--ablation` also trains variants of the project's pipeline, each changing one of its choices,
and prints their accuracy next to it: a choice stays only if its variant scores lower.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The custom components are imported as `components.*`, as Rasa does from bot/; the models
# (the project's, the stock pipeline's) are evaluation/models.py's, which the benchmark shares.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bot"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
logging.disable(logging.WARNING)

import yaml  # noqa: E402
from rasa.core.agent import Agent  # noqa: E402
from rasa.model_training import train_nlu  # noqa: E402
from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402
from rasa.utils.log_utils import configure_structlog  # noqa: E402
from scipy.stats import binomtest  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402

from common.languages import LANGUAGES  # noqa: E402
from evaluation import models  # noqa: E402

# Rasa's structured log is unconfigured outside its CLI: it would print each parse at debug level.
configure_structlog(logging.WARNING)

ROOT = Path(__file__).resolve().parent.parent
SETS = {name: sorted((ROOT / "tests" / "nlu").glob(f"{name}_*.yml")) for name in ("heldout", "dev")}
OUT = ROOT / "build" / "eval"
PIPELINES = {"project": ROOT / "bot" / "config.yml", "stock": ROOT / "tests" / "nlu" / "stock_config.yml"}
ENTITIES = ("pesel", "email", "username")
TOKENIZER = "components.tokenizer.MultilingualTokenizer"
INTENT_CLASSIFIER = "components.linear_classifier.LinearIntentClassifier"
RESPONSE_SELECTOR = "components.linear_classifier.LinearResponseSelector"


def _replace_tokenizer(pipeline: list[dict]) -> list[dict]:
    return [{"name": "WhitespaceTokenizer"} if c["name"] == TOKENIZER else c for c in pipeline]


def _with_lemmas(pipeline: list[dict]) -> list[dict]:
    return [{**c, "lemmas": True} if c["name"] == TOKENIZER else c for c in pipeline]


def _without_diacritic_folding(pipeline: list[dict]) -> list[dict]:
    return [{**c, "fold_diacritics": False} if c["name"] == TOKENIZER else c for c in pipeline]


def _diet(pipeline: list[dict]) -> list[dict]:
    """The pipeline before the linear classifiers: DIET and Rasa's ResponseSelector in their place."""
    diet = [
        {"name": "LexicalSyntacticFeaturizer"},
        {"name": "CountVectorsFeaturizer"},
        {
            "name": "CountVectorsFeaturizer",
            "analyzer": "char_wb",
            "min_ngram": 2,
            "max_ngram": 4,
            "min_df": 2,
        },
        {
            "name": "DIETClassifier",
            "epochs": 40,
            "number_of_transformer_layers": 1,
            "transformer_size": 128,
            "batch_size": [128, 512],
            "constrain_similarities": True,
            "random_seed": 42,
        },
    ]
    selector = {
        "name": "ResponseSelector",
        "retrieval_intent": "faq",
        "dense_dimension": {"text": 128, "label": 128},
        "concat_dimension": {"text": 128, "label": 128},
        "epochs": 40,
        "batch_size": [128, 512],
        "constrain_similarities": True,
        "random_seed": 42,
    }
    changed = []
    for component in pipeline:
        if component["name"] == INTENT_CLASSIFIER:
            changed += diet
        elif component["name"] == RESPONSE_SELECTOR:
            changed.append(selector)
        elif component["name"] != "CRFEntityExtractor":  # DIET extracts the entities itself
            changed.append(component)
    return changed


# Each variant changes one choice of the project's pipeline.
ABLATIONS: dict[str, Callable[[list[dict]], list[dict]]] = {
    "whitespace-tokenizer": _replace_tokenizer,
    "with-lemmas": _with_lemmas,
    "no-diacritic-folding": _without_diacritic_folding,
    "diet": _diet,
}


def examples_of(test_set: str) -> list[dict]:
    examples = []
    for path in SETS[test_set]:
        for message in load_data(str(path)).intent_examples:
            metadata = (message.get("metadata") or {}).get("example", {})
            examples.append(
                {
                    "text": message.get("text"),
                    "intent": message.get_full_intent(),
                    "entities": {
                        (e["entity"], str(e["value"]))
                        for e in message.get("entities") or []
                        if e["entity"] in ENTITIES
                    },
                    "lang": metadata.get("lang"),
                    "style": metadata.get("style"),
                }
            )
    return examples


def predicted_intent(parse: dict) -> str:
    """The classifier's best intent (ignoring the fallback threshold), with its FAQ key."""
    ranking = [r for r in parse.get("intent_ranking") or [] if r["name"] != "nlu_fallback"]
    intent = ranking[0]["name"] if ranking else parse["intent"]["name"]
    if intent == "faq":
        # A selector trained for one retrieval intent answers under its name; the stock one,
        # trained for all of them, under "default".
        selectors = parse.get("response_selector") or {}
        selected = selectors.get("faq") or selectors.get("default") or {}
        return selected.get("response", {}).get("intent_response_key") or intent
    return intent


async def predict(model_path: str, examples: list[dict]) -> list[dict]:
    agent = Agent.load(model_path)
    results = []
    for example in examples:
        parse = await agent.parse_message(example["text"])
        results.append(
            {
                "intent": predicted_intent(parse),
                "fallback": parse["intent"]["name"] == "nlu_fallback",
                "entities": {
                    (e["entity"], str(e["value"]))
                    for e in parse.get("entities") or []
                    if e["entity"] in ENTITIES
                },
                "language": parse.get("language"),
            }
        )
    return results


def groups_of(examples: list[dict]) -> dict[str, list[int]]:
    """The examples' indexes by group: all, each language, each style, each language/style."""
    groups: dict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        for group in ("all", example["lang"], example["style"], f"{example['lang']}/{example['style']}"):
            groups[group].append(index)
    return groups


def scores(examples: list[dict], results: list[dict]) -> dict[str, dict[str, float]]:
    table = {}
    for group, indexes in groups_of(examples).items():
        truth = [examples[i]["intent"] for i in indexes]
        guess = [results[i]["intent"] for i in indexes]
        table[group] = {
            "n": len(indexes),
            "accuracy": sum(t == g for t, g in zip(truth, guess, strict=True)) / len(indexes),
            "macro_f1": f1_score(truth, guess, average="macro", labels=sorted(set(truth)), zero_division=0),
            "fallback_rate": sum(results[i]["fallback"] for i in indexes) / len(indexes),
        }
    return table


def entity_scores(examples: list[dict], results: list[dict]) -> dict[str, dict[str, float]]:
    counts = {name: Counter() for name in ENTITIES}
    for example, result in zip(examples, results, strict=True):
        for name in ENTITIES:
            truth = {e for e in example["entities"] if e[0] == name}
            guess = {e for e in result["entities"] if e[0] == name}
            counts[name].update(tp=len(truth & guess), fp=len(guess - truth), fn=len(truth - guess))
    return {
        name: {
            "precision": c["tp"] / ((c["tp"] + c["fp"]) or 1),
            "recall": c["tp"] / ((c["tp"] + c["fn"]) or 1),
            "support": c["tp"] + c["fn"],
        }
        for name, c in counts.items()
    }


def fallback_scores(examples: list[dict], results: list[dict]) -> dict[str, float]:
    """How often the bot would ask "did you mean…?" (FallbackClassifier), and how often that
    question hid a right guess."""
    asked = [r["fallback"] for r in results]
    hid_right = [r["fallback"] and r["intent"] == e["intent"] for e, r in zip(examples, results, strict=True)]
    return {"asked": sum(asked) / len(asked), "right_guess_held_back": sum(hid_right) / len(asked)}


def language_scores(examples: list[dict], results: list[dict]) -> dict[str, float]:
    """How the detector did: reliable and right, reliable and wrong, or abstained."""
    right = wrong = abstained = 0
    for example, result in zip(examples, results, strict=True):
        detected = result["language"] or {}
        if not detected.get("reliable"):
            abstained += 1
        elif detected["code"] == example["lang"]:
            right += 1
        else:
            wrong += 1
    total = len(examples)
    return {"right": right / total, "wrong": wrong / total, "abstained": abstained / total}


def confusions(examples: list[dict], results: list[dict], top: int = 10) -> list[tuple[str, str, int]]:
    pairs = Counter(
        (e["intent"], r["intent"])
        for e, r in zip(examples, results, strict=True)
        if e["intent"] != r["intent"]
    )
    return [(t, g, n) for (t, g), n in pairs.most_common(top)]


def print_table(report: dict) -> None:
    """Accuracy and macro-F1 per group for each pipeline scored (and the gap, when both were)."""
    names = [name for name in PIPELINES if name in report]
    groups = ["all", *LANGUAGES, "clean", "messy"] + [f"{lang}/messy" for lang in LANGUAGES]
    both = len(names) == 2
    header = "".join(f" | {name + ' acc':>11} {'F1':>6}" for name in names)
    print(f"\n{'group':<10}{'n':>5}{header}" + (f" | {'Δacc':>6}" if both else ""))
    print("-" * (16 + 21 * len(names) + (9 if both else 0)))
    for group in groups:
        rows = [report[name]["intents"][group] for name in names]
        cells = "".join(f" | {row['accuracy']:>11.3f} {row['macro_f1']:>6.3f}" for row in rows)
        gap = f" | {rows[0]['accuracy'] - rows[1]['accuracy']:>+6.3f}" if both else ""
        print(f"{group:<10}{rows[0]['n']:>5}{cells}{gap}")
    print("\nentities (precision / recall):")
    for entity in ENTITIES:
        cells = "   ".join(
            f"{name} {report[name]['entities'][entity]['precision']:.3f} / "
            f"{report[name]['entities'][entity]['recall']:.3f}"
            for name in names
        )
        print(f"  {entity:<9} {cells}   (n={report[names[0]]['entities'][entity]['support']})")
    lang = report["project"]["language_detection"]
    print(
        f"\nlanguage detection (project): right {lang['right']:.3f}, wrong {lang['wrong']:.3f}, "
        f"abstained (kept the conversation's language) {lang['abstained']:.3f}"
    )
    print('\n"did you mean…?" asked instead of answering (right guess held back):')
    for name in names:
        rates = report[name]["fallback"]
        print(f"  {name:<8} {rates['asked']:.3f} ({rates['right_guess_held_back']:.3f})")
    print("\ncostliest confusions (project): expected -> predicted")
    for truth, guess, n in report["project"]["confusions"]:
        print(f"  {n:>3}  {truth} -> {guess}")


def inputs_hash(config: Path, test_set: str) -> str:
    """A digest of every file that a pipeline's figures on `test_set` depend on."""
    files = [config, *SETS[test_set], ROOT / "bot" / "data" / "entities.yml"]
    # The domain holds the FAQ answers the response selector learns.
    folders = ["bot/data/nlu", "bot/domain"]
    if "components." in config.read_text(encoding="utf-8"):
        folders.append("bot/components")  # only a pipeline that uses the custom components
    for folder in folders:
        files += sorted(p for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def figures_path(name: str, test_set: str) -> Path:
    return OUT / (f"{name}.json" if test_set == "heldout" else f"{test_set}-{name}.json")


def cached(path: Path, digest: str) -> dict | None:
    if not path.exists():
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    fresh = saved.get("inputs") == digest and "fallback" in saved["figures"]
    return saved["figures"] if fresh else None


def paired(examples: list[dict], project: list[str], stock: list[str]) -> dict[str, dict]:
    """McNemar's exact test per group, on the messages only one of the two pipelines got right:
    with p well above 0.05 the difference in accuracy is within what chance gives."""
    table = {}
    for group, indexes in groups_of(examples).items():
        truth = [examples[i]["intent"] for i in indexes]
        only_project = sum(project[i] == t != stock[i] for i, t in zip(indexes, truth, strict=True))
        only_stock = sum(stock[i] == t != project[i] for i, t in zip(indexes, truth, strict=True))
        discordant = only_project + only_stock
        p_value = binomtest(only_project, discordant, 0.5).pvalue if discordant else 1.0
        table[group] = {"only_project": only_project, "only_stock": only_stock, "p": p_value}
    return table


def print_paired(table: dict[str, dict]) -> None:
    print("\nproject vs stock, paired (McNemar exact): right only for project / only for stock, p")
    for group in ("all", *LANGUAGES, "clean", "messy"):
        row = table[group]
        print(f"  {group:<6} {row['only_project']:>3} / {row['only_stock']:<3} p={row['p']:.2f}")


def model_for(name: str, config: Path, fresh: bool) -> tuple[str, float | None]:
    """The model to score and the seconds its training took (None: trained before this run)."""
    if name == "project":
        if not models.PROJECT_MODEL.exists():
            sys.exit(f"{models.PROJECT_MODEL} is missing: run `make train` first (make eval does)")
        return str(models.PROJECT_MODEL), None
    if name == "stock":
        model = models.stock_model(fresh)
        return str(model), models.stock_training_seconds(model)
    print(f"training the {name} pipeline…", flush=True)
    started = time.monotonic()
    model = train_nlu(
        config=str(config),
        nlu_data=str(ROOT / "bot" / "data"),
        output=str(OUT / "models"),
        fixed_model_name=name,
        domain=str(ROOT / "bot" / "domain"),
    )
    return model, time.monotonic() - started


def evaluate(model: str, train_seconds: float | None, examples: list[dict]) -> dict:
    results = asyncio.run(predict(model, examples))
    return {
        "intents": scores(examples, results),
        "entities": entity_scores(examples, results),
        "language_detection": language_scores(examples, results),
        "fallback": fallback_scores(examples, results),
        "confusions": confusions(examples, results),
        "train_seconds": train_seconds,
        "predictions": [r["intent"] for r in results],
    }


def ablation_configs() -> dict[str, Path]:
    project = yaml.safe_load(PIPELINES["project"].read_text(encoding="utf-8"))
    folder = OUT / "variants"
    folder.mkdir(parents=True, exist_ok=True)
    configs = {}
    for name, change in ABLATIONS.items():
        variant = {**project, "pipeline": change(project["pipeline"])}
        path = folder / f"{name}.yml"
        path.write_text(yaml.safe_dump(variant, sort_keys=False), encoding="utf-8")
        configs[name] = path
    return configs


def print_ablation(report: dict, variants: list[str]) -> None:
    groups = ["all", *LANGUAGES, "messy"]
    print(f"\nablation: intent accuracy\n{'pipeline':<24}" + "".join(f"{g:>8}" for g in groups))
    for name in ["project", *variants]:
        row = report[name]["intents"]
        print(f"{name:<24}" + "".join(f"{row[g]['accuracy']:>8.3f}" for g in groups))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="score again, the stock model retrained")
    parser.add_argument("--ablation", action="store_true", help="also score the project's variants")
    parser.add_argument(
        "--variant", action="append", choices=list(ABLATIONS), help="only this variant (repeatable)"
    )
    parser.add_argument("--set", choices=list(SETS), default="heldout", help="the test set")
    parser.add_argument(
        "--only", choices=list(PIPELINES), help="score this pipeline alone (no stock model to train)"
    )
    args = parser.parse_args()
    examples = examples_of(args.set)
    OUT.mkdir(parents=True, exist_ok=True)
    pipelines = {args.only: PIPELINES[args.only]} if args.only else dict(PIPELINES)
    variants = args.variant or (list(ABLATIONS) if args.ablation else [])
    pipelines |= {name: path for name, path in ablation_configs().items() if name in variants}
    report = {}
    for name, config in pipelines.items():
        digest = inputs_hash(config, args.set)
        path = figures_path(name, args.set)
        figures = None if args.fresh else cached(path, digest)
        if figures is None:
            model, train_seconds = model_for(name, config, args.fresh)
            print(f"scoring {name} ({model})…", flush=True)
            figures = evaluate(model, train_seconds, examples)
            payload = {"inputs": digest, "figures": figures}
            path.write_text(json.dumps(payload, indent=2, default=list), encoding="utf-8")
        else:
            print(f"{name}: inputs unchanged, figures from {path}")
        report[name] = figures
    print_table(report)
    if not args.only:
        report["paired"] = paired(examples, report["project"]["predictions"], report["stock"]["predictions"])
        print_paired(report["paired"])
    if variants:
        print_ablation(report, variants)
    path = figures_path("report", args.set)
    path.write_text(json.dumps(report, indent=2, default=list), encoding="utf-8")
    print(f"\n{args.set} set: {len(examples)} messages; report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
